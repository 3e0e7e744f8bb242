"""The school itself: campuses, courses, classes, contract templates, tags."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Branch(models.Model):
    name = models.CharField(_("name"), max_length=64, unique=True)
    address = models.CharField(_("address"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("campus")
        verbose_name_plural = _("campuses")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Course(models.Model):
    name = models.CharField(_("name"), max_length=128, unique=True)
    price = models.DecimalField(_("price"), max_digits=10, decimal_places=2)
    period = models.PositiveSmallIntegerField(_("period (weeks)"))
    lessons = models.PositiveSmallIntegerField(
        _("lessons"), default=24, help_text=_("How many lessons the price buys (lessons consumed count against it).")
    )
    outline = models.TextField(_("outline"), blank=True)

    class Meta:
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="course_price_not_negative"),
            models.CheckConstraint(condition=Q(period__gt=0), name="course_period_positive"),
            models.CheckConstraint(condition=Q(lessons__gt=0), name="course_lessons_positive"),
        ]

    def __str__(self):
        return self.name


class ContractTemplate(models.Model):
    name = models.CharField(_("name"), max_length=128, unique=True)
    content = models.TextField(
        _("content"),
        help_text=_("Shown to the student. Placeholders: {student_name}, {class_name}, {course_name}, {price}."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("contract template")
        verbose_name_plural = _("contract templates")
        ordering = ["name"]

    def __str__(self):
        return self.name


class ClassGradeManager(models.Manager):
    def get_queryset(self):
        # A class is named by its course and campus everywhere it is shown (lists, dropdowns, autocompletes).
        return super().get_queryset().select_related("course", "branch")


class ClassGrade(models.Model):
    class ClassType(models.TextChoices):
        FULL_TIME = "full_time", _("full-time")
        WEEKEND = "weekend", _("weekend")
        ONLINE = "online", _("online")

    branch = models.ForeignKey(Branch, models.PROTECT, related_name="classes", verbose_name=_("campus"))
    course = models.ForeignKey(Course, models.PROTECT, related_name="classes", verbose_name=_("course"))
    semester = models.PositiveSmallIntegerField(_("semester"))
    class_type = models.CharField(_("class type"), max_length=16, choices=ClassType.choices)
    teachers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="taught_classes", verbose_name=_("teachers"), blank=True
    )
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    capacity = models.PositiveSmallIntegerField(_("capacity"), default=30)
    contract_template = models.ForeignKey(
        ContractTemplate, models.PROTECT, null=True, blank=True, verbose_name=_("contract template")
    )

    objects = ClassGradeManager()

    class Meta:
        verbose_name = _("class")
        verbose_name_plural = _("classes")
        ordering = ["-start_date", "id"]
        permissions = [("view_all_classes", _("Can see every class, not only those taught"))]
        constraints = [
            models.UniqueConstraint(fields=["branch", "course", "semester"], name="class_unique_per_semester"),
            models.CheckConstraint(condition=Q(capacity__gt=0), name="class_capacity_positive"),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="class_ends_after_start",
                violation_error_message=_("The end date cannot be before the start date."),
            ),
        ]

    def __str__(self):
        return _("%(course)s, %(campus)s, semester %(semester)s") % {
            "course": self.course.name,
            "campus": self.branch.name,
            "semester": self.semester,
        }


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=32, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self):
        return self.name
