from django.contrib import admin

from crm.models import StudyRecord

from .base import CRMAdmin


@admin.register(StudyRecord)
class StudyRecordAdmin(CRMAdmin):
    list_display = ["student", "course_record", "attendance", "score", "submitted_at"]
    list_filter = [
        ("course_record__class_grade", admin.RelatedOnlyFieldListFilter),
        ("course_record", admin.RelatedOnlyFieldListFilter),
        "attendance",
        "score",
    ]
    list_select_related = [
        "student__customer",
        "course_record__class_grade__course",
        "course_record__class_grade__branch",
    ]
    search_fields = ["student__customer__name", "course_record__title"]
    autocomplete_fields = ["student", "course_record"]
    readonly_fields = ["submitted_at", "created_at"]
