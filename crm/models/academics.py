"""Teaching: students, lessons (course records) and each student's record of a lesson."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.storage import get_private_storage, random_upload_name

from .leads import Customer
from .org import ClassGrade


def homework_upload_to(instance, filename):
    return random_upload_name("homework", filename)


class Student(models.Model):
    customer = models.OneToOneField(Customer, models.PROTECT, related_name="student", verbose_name=_("customer"))
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="student", verbose_name=_("portal login")
    )
    classes = models.ManyToManyField(ClassGrade, blank=True, related_name="students", verbose_name=_("classes"))

    class Meta:
        verbose_name = _("student")
        verbose_name_plural = pgettext_lazy("model", "students")  # the menu's 学员, not a column's count (学员数)
        ordering = ["customer__name"]

    def __str__(self):
        return str(self.customer)


class CourseRecordManager(models.Manager):
    def get_queryset(self):
        # A lesson is named by its class (course, campus) everywhere it is shown: filters, dropdowns, lists.
        return super().get_queryset().select_related("class_grade__course", "class_grade__branch")


class CourseRecord(models.Model):
    class_grade = models.ForeignKey(ClassGrade, models.PROTECT, related_name="lessons", verbose_name=_("class"))
    day_num = models.PositiveSmallIntegerField(_("day"), help_text=_("Which lesson of the class this is: 1, 2, 3…"))
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="lessons_taught", verbose_name=_("teacher")
    )
    title = models.CharField(_("title"), max_length=128)
    outline = models.TextField(_("outline"), blank=True)
    has_homework = models.BooleanField(_("has homework"), default=False)
    homework_title = models.CharField(_("homework title"), max_length=128, blank=True)
    homework_brief = models.TextField(_("homework brief"), blank=True)
    homework_deadline = models.DateTimeField(_("homework deadline"), null=True, blank=True)
    date = models.DateField(_("date"))

    objects = CourseRecordManager()

    class Meta:
        verbose_name = _("lesson")
        verbose_name_plural = pgettext_lazy("model", "lessons")  # the menu's 课节, not a course's count (课节数)
        ordering = ["class_grade", "day_num"]
        constraints = [
            models.UniqueConstraint(fields=["class_grade", "day_num"], name="lesson_unique_day_per_class"),
            models.CheckConstraint(condition=Q(day_num__gt=0), name="lesson_day_positive"),
            models.CheckConstraint(
                condition=Q(has_homework=False) | ~Q(homework_title=""),
                name="lesson_homework_has_title",
                violation_error_message=_("A lesson with homework needs a homework title."),
            ),
        ]

    def __str__(self):
        return _("%(class)s, day %(day)s") % {"class": self.class_grade, "day": self.day_num}


class StudyRecord(models.Model):
    class Attendance(models.TextChoices):
        PRESENT = "present", _("present")
        LATE = "late", _("late")
        ABSENT = "absent", _("absent")
        LEFT_EARLY = "left_early", _("left early")

    class Score(models.TextChoices):
        A_PLUS = "A+", "A+"
        A = "A", "A"
        B_PLUS = "B+", "B+"
        B = "B", "B"
        B_MINUS = "B-", "B-"
        C_PLUS = "C+", "C+"
        C = "C", "C"
        D = "D", "D"

    student = models.ForeignKey(Student, models.CASCADE, related_name="study_records", verbose_name=_("student"))
    course_record = models.ForeignKey(
        CourseRecord, models.CASCADE, related_name="study_records", verbose_name=_("lesson")
    )
    attendance = models.CharField(
        _("attendance"), max_length=16, choices=Attendance.choices, default=Attendance.PRESENT
    )
    score = models.CharField(
        _("score"), max_length=2, choices=Score.choices, blank=True, help_text=_("Empty: not graded.")
    )
    homework_file = models.FileField(
        _("homework file"), storage=get_private_storage, upload_to=homework_upload_to, blank=True
    )
    homework_original_name = models.CharField(_("homework file name"), max_length=255, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    memo = models.TextField(_("teacher's note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("study record")
        verbose_name_plural = _("study records")
        ordering = ["course_record", "student"]
        constraints = [
            models.UniqueConstraint(fields=["student", "course_record"], name="study_record_unique_per_lesson"),
        ]

    def __str__(self):
        return _("%(student)s, %(lesson)s") % {"student": self.student, "lesson": self.course_record}


def new_feed_token() -> str:
    return secrets.token_urlsafe(32)


class CalendarFeed(models.Model):
    """A person's lesson calendar as an .ics feed at a secret address: whoever holds the token reads it, nothing more.

    Deleting the row revokes the address; a new token replaces it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="calendar_feed", verbose_name=_("user")
    )
    token = models.CharField(_("token"), max_length=64, unique=True, default=new_feed_token, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self):
        return str(self.user)
