from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from crm.models import CourseRecord

from .base import CRMAdmin


@admin.register(CourseRecord)
class CourseRecordAdmin(CRMAdmin):
    list_display = ["class_grade", "day_num", "title", "date", "teacher", "has_homework", "homework_deadline"]
    list_filter = [("class_grade", admin.RelatedOnlyFieldListFilter), "has_homework", "date"]
    list_select_related = ["class_grade__course", "class_grade__branch", "teacher"]
    search_fields = ["title", "outline", "class_grade__course__name"]
    autocomplete_fields = ["class_grade"]
    readonly_fields = ["teacher"]
    fieldsets = [
        (None, {"fields": ["class_grade", "day_num", "date", "title", "outline", "teacher"]}),
        (_("Homework"), {"fields": ["has_homework", "homework_title", "homework_brief", "homework_deadline"]}),
    ]

    def save_model(self, request, obj, form, change):
        if obj.teacher_id is None:
            obj.teacher = request.user
        super().save_model(request, obj, form, change)
