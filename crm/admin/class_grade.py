from django.contrib import admin
from django.db.models import Count, Min, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from crm import selectors
from crm.models import ClassGrade

from .base import CRMAdmin


@admin.register(ClassGrade)
class ClassGradeAdmin(CRMAdmin):
    list_display = [
        "__str__",
        "class_type",
        "start_date",
        "end_date",
        "student_count",
        "capacity",
        "lesson_count",
        "next_lesson",
        "add_lesson",
    ]
    list_filter = ["branch", "course", "class_type", "start_date"]
    list_select_related = ["course", "branch"]
    ordering = ["-start_date", "id"]  # explicit: the annotated (grouped) query drops Meta.ordering
    search_fields = ["course__name", "branch__name"]
    autocomplete_fields = ["branch", "course", "teachers", "contract_template"]
    fieldsets = [
        (None, {"fields": ["branch", "course", "semester", "class_type"]}),
        (_("Schedule"), {"fields": ["start_date", "end_date", "capacity", "teachers"]}),
        (_("Enrollment"), {"fields": ["contract_template"]}),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                student_total=Count("students", distinct=True),
                lesson_total=Count("lessons", distinct=True),
                next_lesson_date=Min("lessons__date", filter=Q(lessons__date__gte=timezone.localdate())),
            )
        )

    def get_list_display(self, request):
        # A class's schedule is its lessons' calendar: shown to those who may open lessons.
        shown = super().get_list_display(request)
        return [*shown, "schedule"] if request.user.has_perm("crm.view_courserecord") else shown

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "teachers":
            kwargs["queryset"] = selectors.teachers()
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.display(description=_("students"), ordering="student_total")
    def student_count(self, class_grade):
        return class_grade.student_total

    @admin.display(description=_("lessons"), ordering="lesson_total")
    def lesson_count(self, class_grade):
        return class_grade.lesson_total

    @admin.display(description=_("next lesson"), ordering="next_lesson_date")
    def next_lesson(self, class_grade):
        return class_grade.next_lesson_date

    @admin.display(description=_("lessons"))
    def add_lesson(self, class_grade):
        url = reverse("admin:crm_courserecord_add") + f"?class_grade={class_grade.pk}"
        return format_html('<a href="{}" class="add-next-lesson">{}</a>', url, _("Add next lesson"))

    @admin.display(description=_("schedule"))
    def schedule(self, class_grade):
        url = reverse("admin:crm_courserecord_calendar") + f"?class_grade={class_grade.pk}"
        return format_html('<a href="{}" class="class-schedule">{}</a>', url, _("Calendar"))
