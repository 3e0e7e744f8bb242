"""Lead imports: the uploaded file, the preview's plan row by row, and what confirming it did."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.storage import get_private_storage, random_upload_name

from .leads import Customer


def import_upload_to(instance, filename):
    return random_upload_name("imports", filename)


class LeadImport(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("waiting for the worker")
        READING = "reading", _("reading the file")
        PREVIEWED = "previewed", _("previewed")
        CONFIRMING = "confirming", _("importing")
        IMPORTED = "imported", _("imported")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")

    # A worker is on these: its heartbeat must keep coming (see crm.services.lead_import_jobs).
    RUNNING = [Status.QUEUED, Status.READING, Status.CONFIRMING]

    class OwnerMode(models.TextChoices):
        IMPORTER = "importer", _("me")
        COLUMN = "column", _("the consultant column of each row")
        ROUND_ROBIN = "round_robin", _("round-robin over the active salespeople")
        CHOSEN = "chosen", _("the consultant chosen below")

    token = models.UUIDField(_("token"), default=uuid.uuid4, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="lead_imports", verbose_name=_("imported by")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    file = models.FileField(_("file"), storage=get_private_storage, upload_to=import_upload_to)
    original_name = models.CharField(_("file name"), max_length=255)
    file_format = models.CharField(_("format"), max_length=8)
    encoding = models.CharField(_("encoding"), max_length=16, blank=True)
    owner_mode = models.CharField(_("owner of new leads"), max_length=16, choices=OwnerMode.choices)
    chosen_consultant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("chosen consultant"),
    )
    unknown_columns = models.JSONField(_("unknown columns"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PREVIEWED)
    total = models.PositiveIntegerField(_("rows"), default=0)
    new = models.PositiveIntegerField(_("new"), default=0)
    updated = models.PositiveIntegerField(_("existing, updated"), default=0)
    unchanged = models.PositiveIntegerField(_("existing, unchanged"), default=0)
    duplicate = models.PositiveIntegerField(_("duplicate in file"), default=0)
    invalid = models.PositiveIntegerField(_("invalid"), default=0)
    imported_at = models.DateTimeField(_("imported at"), null=True, blank=True)
    # Big files are read and confirmed by the Celery worker, not in the request (CRM_IMPORT_BACKGROUND_ROWS).
    in_background = models.BooleanField(_("in the background"), default=False)
    expected_rows = models.PositiveIntegerField(_("rows expected"), default=0)  # counted on upload, for progress
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    # Each run the worker is sent on gets a new number; a task that finds another number (late, redelivered,
    # or overtaken by a retry) does nothing.
    attempt = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(_("last heard from the worker"), null=True, blank=True)
    failure = models.TextField(_("why it failed"), blank=True)

    class Meta:
        verbose_name = _("lead import")
        verbose_name_plural = _("lead imports")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return _("%(file)s by %(user)s") % {"file": self.original_name, "user": self.created_by}

    @property
    def is_running(self) -> bool:
        return self.status in self.RUNNING

    @property
    def percent_read(self) -> int:
        if self.status != self.Status.READING or not self.expected_rows:
            return 100 if self.status not in (self.Status.QUEUED, self.Status.READING) else 0
        return min(99, self.rows_read * 100 // self.expected_rows)


class LeadImportRow(models.Model):
    """One data row of an import file, as the preview judged it; confirming applies exactly these."""

    class Outcome(models.TextChoices):
        NEW = "new", _("new")
        UPDATED = "updated", _("existing, updated")
        UNCHANGED = "unchanged", _("existing, unchanged")
        DUPLICATE = "duplicate", _("duplicate in file")
        INVALID = "invalid", _("invalid")

    # No single-column indexes: the composite one below serves every query, and fewer indexes keep staging fast.
    lead_import = models.ForeignKey(LeadImport, models.CASCADE, related_name="rows", db_index=False)
    row_number = models.PositiveIntegerField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    # Plain text, not JSON columns: the preview writes these rows in bulk (COPY or executemany) as plain values.
    errors = models.TextField(blank=True)  # "column<TAB>reason" lines
    first_row_number = models.PositiveIntegerField(null=True, blank=True)  # for duplicates in the file
    # The existing customer the row updates or leaves; a new lead's customer is found by its phone.
    customer = models.ForeignKey(Customer, models.SET_NULL, null=True, blank=True, related_name="+", db_index=False)
    seen_updated_at = models.DateTimeField(null=True, blank=True)  # the customer as the preview saw it
    # The row's values, cleaned.
    phone = models.CharField(max_length=32, blank=True)
    name = models.CharField(max_length=64, blank=True)
    qq = models.CharField(max_length=16, blank=True)
    wechat = models.CharField(max_length=64, blank=True)
    email = models.CharField(max_length=254, blank=True)
    source = models.CharField(max_length=16, blank=True)
    content = models.TextField(blank=True)
    course_ids = models.CharField(max_length=255, blank=True)  # "3,5"
    tag_names = models.CharField(max_length=255, blank=True)  # "hot lead,student"
    consultant_id = models.BigIntegerField(null=True, blank=True)
    branch_id = models.BigIntegerField(null=True, blank=True)  # the lead's campus

    class Meta:
        ordering = ["lead_import", "row_number"]
        indexes = [
            # Row order within an outcome: batches of the plan and the lists of problems read it in file order.
            models.Index(fields=["lead_import", "outcome", "row_number"], name="importrow_outcome_row"),
        ]

    def __str__(self):
        return f"{self.lead_import_id}:{self.row_number}"
