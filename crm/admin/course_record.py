from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from crm import access
from crm.models import ClassGrade, CourseRecord
from crm.services import academics

from .base import CRMAdmin
from .lesson_calendar import LessonCalendarMixin


@admin.register(CourseRecord)
class CourseRecordAdmin(LessonCalendarMixin, CRMAdmin):
    list_display = [
        "class_grade",
        "day_num",
        "title",
        "date",
        "teacher",
        "has_homework",
        "homework_deadline",
        "records_link",
    ]
    list_filter = [("class_grade", admin.RelatedOnlyFieldListFilter), "has_homework", "date"]
    list_select_related = ["class_grade__course", "class_grade__branch", "teacher"]
    search_fields = ["title", "outline", "class_grade__course__name"]
    autocomplete_fields = ["class_grade"]
    readonly_fields = ["teacher"]
    fieldsets = [
        (None, {"fields": ["class_grade", "day_num", "date", "title", "outline", "teacher"]}),
        (_("Homework"), {"fields": ["has_homework", "homework_title", "homework_brief", "homework_deadline"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # A lesson's study records belong to its class's students: the class is fixed once the lesson exists.
        return [*self.readonly_fields, "class_grade"] if obj else self.readonly_fields

    def get_changeform_initial_data(self, request):
        """ "Add next lesson" of a class: the class chosen, its next day number proposed, today's date."""
        initial = super().get_changeform_initial_data(request)  # an id of the wrong shape is dropped there
        class_id = initial.get("class_grade")
        class_grade = access.visible(request.user, ClassGrade).filter(pk=class_id).first() if class_id else None
        if class_grade is not None:
            initial["day_num"] = academics.next_day_num(class_grade)
        initial.setdefault("date", timezone.localdate())
        return initial

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
        else:
            academics.lesson_create(lesson=obj, by=request.user)

    @admin.display(description=_("attendance and grades"))
    def records_link(self, lesson):
        url = reverse("admin:crm_studyrecord_changelist") + f"?course_record__id__exact={lesson.pk}"
        return format_html('<a href="{}">{}</a>', url, _("open"))
