"""Money beyond the payment: the plan of installments, refunds, and the finance list of who owes what."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .enrollment import Enrollment, Payment


class Installment(models.Model):
    """One due date of an enrollment's plan; settled by the payment that covered it (payments settle oldest first)."""

    enrollment = models.ForeignKey(
        Enrollment, models.PROTECT, related_name="installments", verbose_name=_("enrollment")
    )
    due_date = models.DateField(_("due date"))
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    payment = models.ForeignKey(
        Payment,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="installments",
        verbose_name=_("settled by"),
    )
    # A plan is never deleted: a new plan, or the end of the student's place, cancels what is still open.
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = HistoricalRecords(verbose_name=_("historical installment"))

    class Meta:
        verbose_name = _("installment")
        verbose_name_plural = _("installments")
        ordering = ["due_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="installment_amount_positive",
                violation_error_message=_("The amount must be greater than zero."),
            ),
        ]
        indexes = [models.Index(fields=["due_date"], name="installment_open_due", condition=Q(payment=None))]

    def __str__(self):
        return _("%(amount)s due %(date)s") % {"amount": self.amount, "date": self.due_date}


class Refund(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", _("requested")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    enrollment = models.ForeignKey(Enrollment, models.PROTECT, related_name="refunds", verbose_name=_("enrollment"))
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.REQUESTED)
    ends_place = models.BooleanField(
        _("end the student's place"),
        default=False,
        help_text=_("On approval the student leaves the class, and their portal login closes if no class is left."),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="refunds_requested", verbose_name=_("requested by")
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="refunds_decided",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)

    history = HistoricalRecords(verbose_name=_("historical refund"))

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-requested_at", "-id"]
        permissions = [("decide_refund", _("Can approve or reject refunds"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="refund_amount_positive",
                violation_error_message=_("The amount must be greater than zero."),
            ),
        ]

    def __str__(self):
        return _("Refund of %(amount)s to %(enrollment)s") % {"amount": self.amount, "enrollment": self.enrollment}


class BalanceDue(Enrollment):
    """The finance list "who owes what": approved enrollments whose price is not yet paid."""

    class Meta:
        proxy = True
        verbose_name = _("balance due")
        verbose_name_plural = _("who owes what")
        permissions = [("export_balancedue", _("Can export who owes what"))]
