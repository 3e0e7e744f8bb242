"""The lead pool (公海): leads without a consultant, and the log of leads going in and out of it."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.phones import mask_phone

from .leads import Customer


def pool_label(customer: Customer) -> str:
    """How the pool names a lead: its name, else its masked phone (never a contact in full)."""
    return customer.name or mask_phone(customer.phone)


class PoolCustomer(Customer):
    """A lead as the pool shows it: named without its contacts (the phone masked), whoever looks."""

    class Meta:
        proxy = True
        verbose_name = _("pooled lead")
        verbose_name_plural = _("lead pool")
        ordering = ["-pooled_at", "-id"]

    def __str__(self):
        return pool_label(self)


class PoolMove(models.Model):
    """One lead entering or leaving the pool: the dashboard's and the daily claim limit's exact counts."""

    class Kind(models.TextChoices):
        RETURNED = "returned", _("returned (no follow-up)")
        RELEASED = "released", _("released by a manager")
        CLAIMED = "claimed", _("claimed")
        ASSIGNED = "assigned", _("assigned by a manager")

    customer = models.ForeignKey(Customer, models.CASCADE, related_name="pool_moves", verbose_name=_("customer"))
    kind = models.CharField(_("move"), max_length=16, choices=Kind.choices)
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+", verbose_name=_("from")
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+", verbose_name=_("to")
    )
    # None: the nightly return.
    by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+", verbose_name=_("by"))
    at = models.DateTimeField(_("when"))

    class Meta:
        verbose_name = _("pool move")
        verbose_name_plural = _("pool moves")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["to_user", "kind", "at"], name="poolmove_to_kind_at"),
            models.Index(fields=["kind", "at"], name="poolmove_kind_at"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"
