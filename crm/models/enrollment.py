"""Enrollment: the student's signed form, their ID documents, and payments."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from crm import links
from crm.money_format import format_money

# Migrations 0001 and 0003 name the storage as crm.models.enrollment.get_private_storage: keep it importable here.
from crm.storage import get_private_storage, random_upload_name

from .leads import Customer
from .org import ClassGrade, Course


def enrollment_upload_to(instance, filename):
    return random_upload_name("enrollment", filename)


class Enrollment(models.Model):
    class Status(models.TextChoices):
        LINK_SENT = "link_sent", _("link sent")
        SUBMITTED = "submitted", _("submitted")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    class IdType(models.TextChoices):
        MAINLAND_ID = "mainland_id", _("mainland China resident ID card")
        PASSPORT = "passport", _("passport")
        HK_MACAU_TAIWAN = "hmt_permit", _("Hong Kong / Macau / Taiwan permit")

    customer = models.ForeignKey(Customer, models.CASCADE, related_name="enrollments", verbose_name=_("customer"))
    # The public link names this random id, signed; the sequential id never leaves the admin.
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    class_grade = models.ForeignKey(ClassGrade, models.PROTECT, related_name="enrollments", verbose_name=_("class"))
    consultant = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="enrollments", verbose_name=_("consultant")
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.LINK_SENT)
    # The student's personal data, as submitted on the public form.
    id_type = models.CharField(_("ID type"), max_length=16, choices=IdType.choices, default=IdType.MAINLAND_ID)
    id_number = models.CharField(_("ID number"), max_length=32, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    emergency_contact = models.CharField(_("emergency contact"), max_length=64, blank=True)
    emergency_phone = models.CharField(_("emergency contact phone"), max_length=32, blank=True)
    # The contract exactly as the student saw it.
    contract_text = models.TextField(_("contract as shown"), blank=True)
    contract_agreed = models.BooleanField(_("contract agreed"), default=False)
    contract_agreed_at = models.DateTimeField(_("agreed at"), null=True, blank=True)
    contract_approved = models.BooleanField(_("contract approved"), default=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="approved_enrollments",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    reject_reason = models.TextField(_("reason for rejection"), blank=True)
    # Raising the version invalidates every link issued before.
    link_version = models.PositiveIntegerField(_("link version"), default=1, editable=False)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Money (crm.services.money): the agreed price, its discount, and the end of the student's place.
    price = models.DecimalField(
        _("price"), max_digits=10, decimal_places=2, blank=True, help_text=_("Empty: the course's price.")
    )
    discount_reason = models.TextField(_("reason for the discount"), blank=True)
    discount_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="approved_discounts",
        verbose_name=_("discount approved by"),
    )
    discount_approved_at = models.DateTimeField(_("discount approved at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("place ended at"), null=True, blank=True)

    history = HistoricalRecords(verbose_name=_("historical enrollment"))

    class Meta:
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("view_id_numbers", _("Can see ID numbers and export a person's data")),
            ("approve_discount", _("Can approve discounts above the limit")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["customer", "class_grade"], name="enrollment_unique_per_class"),
            models.CheckConstraint(condition=Q(price__gte=0), name="enrollment_price_not_negative"),
        ]

    def __str__(self):
        return _("%(customer)s in %(class)s") % {"customer": self.customer, "class": self.class_grade}

    def save(self, *args, **kwargs):
        self.set_default_price()
        super().save(*args, **kwargs)

    def clean(self):
        self.set_default_price()

    def set_default_price(self):
        """An enrollment costs its course's price unless another price was agreed."""
        if self.price is None and self.class_grade_id:
            self.price = self.class_grade.course.price

    def get_public_url(self) -> str:
        """The path of the student's enrollment link (signed, expiring; a fresh link voids older ones)."""
        return links.public_path(self)


class EnrollmentDocument(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    enrollment = models.ForeignKey(Enrollment, models.CASCADE, related_name="documents", verbose_name=_("enrollment"))
    file = models.FileField(_("file"), storage=get_private_storage, upload_to=enrollment_upload_to)
    original_name = models.CharField(_("original name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=64)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("enrollment document")
        verbose_name_plural = _("enrollment documents")
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return self.original_name


class Payment(models.Model):
    class Method(models.TextChoices):
        CASH = "cash", _("cash")
        BANK_TRANSFER = "bank_transfer", _("bank transfer")
        ALIPAY = "alipay", _("Alipay")
        WECHAT_PAY = "wechat_pay", _("WeChat Pay")
        CARD = "card", _("bank card")

    customer = models.ForeignKey(Customer, models.PROTECT, related_name="payments", verbose_name=_("customer"))
    enrollment = models.ForeignKey(
        Enrollment, models.PROTECT, null=True, blank=True, related_name="payments", verbose_name=_("enrollment")
    )
    course = models.ForeignKey(Course, models.PROTECT, related_name="payments", verbose_name=_("course"))
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    method = models.CharField(_("method"), max_length=16, choices=Method.choices, default=Method.BANK_TRANSFER)
    consultant = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="payments", verbose_name=_("consultant")
    )
    paid_at = models.DateTimeField(_("paid at"))
    note = models.TextField(_("note"), blank=True)
    # Money is never deleted: a mistake is undone by a reversal, a payment of the opposite amount.
    reverses = models.OneToOneField(
        "self", models.PROTECT, null=True, blank=True, related_name="reversal", verbose_name=_("reverses")
    )

    history = HistoricalRecords(verbose_name=_("historical payment"))

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-paid_at", "-id"]
        permissions = [
            ("reverse_payment", _("Can reverse payments")),
            ("view_finance_report", _("Can read the money and lessons-consumed reports")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0, reverses=None) | Q(amount__lt=0, reverses__isnull=False),
                name="payment_amount_positive",
                violation_error_message=_("The amount must be greater than zero."),
            ),
        ]
        indexes = [models.Index(fields=["consultant", "paid_at"], name="payment_owner_paid")]

    def __str__(self):
        return _("%(amount)s from %(customer)s") % {"amount": format_money(self.amount), "customer": self.customer}
