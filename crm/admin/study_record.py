from django.contrib import admin, messages
from django.http import Http404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm import ledger
from crm.models import StudyRecord
from crm.services import academics
from crm.uploads import file_response

from .base import CRMAdmin


class GradedFilter(admin.SimpleListFilter):
    """Homework handed in and waiting for a score, or already graded."""

    title = _("grading")
    parameter_name = "graded"

    def lookups(self, request, model_admin):
        return [("no", _("handed in, not graded")), ("yes", _("graded"))]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.exclude(homework_file="").filter(score="")
        if self.value() == "yes":
            return queryset.exclude(score="")
        return queryset


@admin.register(StudyRecord)
class StudyRecordAdmin(CRMAdmin):
    """The study records of a lesson as one editable list: attendance and score per row, saved together."""

    list_display = ["student", "course_record", "attendance", "score", "homework", "submitted_at", "lessons_left"]
    list_editable = ["attendance", "score"]
    list_filter = [
        ("course_record__class_grade", admin.RelatedOnlyFieldListFilter),
        ("course_record", admin.RelatedOnlyFieldListFilter),
        GradedFilter,
        "attendance",
        "score",
    ]
    list_select_related = [
        "student__customer",
        "course_record__class_grade__course",
        "course_record__class_grade__branch",
    ]
    ordering = ["course_record__class_grade", "course_record__day_num", "student__customer__name"]
    search_fields = ["student__customer__name", "course_record__title"]
    autocomplete_fields = ["student", "course_record"]
    readonly_fields = ["homework", "submitted_at", "created_at"]
    fields = ["student", "course_record", "attendance", "score", "memo", "homework", "submitted_at", "created_at"]
    actions = ["mark_present"]

    def get_queryset(self, request):
        left = ledger.lessons_left_expression("student_id", "course_record__class_grade_id")
        return super().get_queryset(request).annotate(lessons_left_value=left)

    def has_add_permission(self, request):
        return False  # records come with their lesson (crm.services.academics.lesson_create)

    def get_readonly_fields(self, request, obj=None):
        # A record belongs to its student and lesson; the teacher records what happened, not who was there.
        return [*self.readonly_fields, "student", "course_record"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        academics.study_record_save(record=obj, by=request.user)

    @admin.display(description=_("lessons left"), ordering="lessons_left_value")
    def lessons_left(self, record):
        """Of the lessons the student bought for the class's course (课消)."""
        return record.lessons_left_value

    @admin.display(description=_("homework"))
    def homework(self, record):
        if not record.homework_file:
            return "—"
        url = reverse("admin:crm_studyrecord_homework", args=[record.pk])
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, record.homework_original_name)

    @admin.action(description=_("Mark the selected students present"), permissions=["change"])
    def mark_present(self, request, queryset):
        count = academics.attendance_mark_present(records=queryset, by=request.user)
        self.message_user(
            request,
            ngettext("%(count)d student marked present.", "%(count)d students marked present.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    def get_urls(self):
        homework = path(
            "<path:object_id>/homework/",
            self.admin_site.admin_view(self.homework_view),
            name="crm_studyrecord_homework",
        )
        return [homework, *super().get_urls()]

    def homework_view(self, request, object_id):
        """The handed-in file, to those who reach the record; always a download, never shown inline."""
        record = self.reachable_object(request, object_id)
        if not record.homework_file:
            raise Http404(_("No homework was handed in for this lesson."))
        return file_response(record.homework_file, record.homework_original_name)
