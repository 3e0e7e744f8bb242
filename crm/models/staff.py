"""What the CRM keeps about a member of staff beyond Django's user: web leads and the language of their emails."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .org import Branch


class StaffProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="staff_profile", verbose_name=_("user")
    )
    takes_web_leads = models.BooleanField(
        _("takes web leads"),
        default=False,
        help_text=_("Inquiries from the public course pages go in turn to the salespeople who take them."),
    )
    branch = models.ForeignKey(
        Branch,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="staff_profiles",
        verbose_name=_("campus"),
        help_text=_("Inquiries about this campus go to its salespeople first."),
    )
    language = models.CharField(
        _("language of emails"),
        max_length=16,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("The morning digest is written in this language; empty: the school's default."),
    )
    # The rotation: the next web lead goes to the taker who got one longest ago (never: first).
    last_web_lead_at = models.DateTimeField(_("last web lead at"), null=True, blank=True, editable=False)
    digest_sent_at = models.DateTimeField(_("last digest sent at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self):
        return str(self.user)

    @property
    def email_language(self) -> str:
        return self.language or settings.LANGUAGE_CODE
