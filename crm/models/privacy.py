"""Personal data (PIPL): a record of every look at ID documents and every export of people's data."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PersonalDataAccess(models.Model):
    """Who saw or took out whose personal data, when, and how many rows: read by school administrators."""

    class Action(models.TextChoices):
        DOCUMENT = "document", _("opened an ID document")
        EXPORT = "export", _("exported customers")
        PERSON_EXPORT = "person_export", _("exported a person's data")
        ERASURE = "erasure", _("erased a person's data")

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+", verbose_name=_("who")
    )
    username = models.CharField(_("username"), max_length=150)  # kept if the account is ever removed
    action = models.CharField(_("what"), max_length=16, choices=Action.choices)
    customer = models.ForeignKey(
        "crm.Customer", models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("customer")
    )
    # What was reached, without personal data of its own: a document's id, an export's filters.
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    rows = models.PositiveIntegerField(_("rows"), default=1)

    class Meta:
        verbose_name = _("personal data access")
        verbose_name_plural = _("personal data accesses")
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.username} {self.get_action_display()} {timezone.localtime(self.at):%Y-%m-%d %H:%M}"
