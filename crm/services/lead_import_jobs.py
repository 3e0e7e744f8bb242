"""Big lead files in the Celery worker: read (the preview) and confirmed away from the request.

A file of more than CRM_IMPORT_BACKGROUND_ROWS rows is judged whole in the request (encoding, columns, size), stored
and queued; the worker stages it in committed batches, saving its progress with each, then classifies it as the
request would (crm.services.lead_import). Confirming claims the import and sends the worker, which applies the plan
in one transaction: a worker that dies there leaves nothing written.

Each run is numbered (`LeadImport.attempt`) and every write of the worker is conditional on its number and the
import's state, so a task delivered twice, a late one, or one overtaken by a retry or a cancel does nothing. A
worker beats (`heartbeat_at`) while it runs; an import it has been silent on for CRM_IMPORT_STALE_SECONDS is marked
failed, with the reason in words, and can be tried again from its stored file.
"""

import logging
import threading
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from crm.lead_files import LeadFileError, estimate_rows, open_lead_file
from crm.models import LeadImport
from crm.services import lead_import as plan
from crm.services.lead_import import BATCH, ImportRefused, _batched

logger = logging.getLogger(__name__)
Status = LeadImport.Status

NOT_FAILED = _("Only a failed import can be tried again.")
NO_WORKER = _(
    "No worker took up the import within %(seconds)d seconds: the job workers may be stopped or busy. Nothing was "
    "imported; try again, or ask your administrator to check the workers."
)
WORKER_LOST = _(
    "The worker stopped answering while it was %(doing)s (it may have been restarted). Nothing was imported; try again."
)
DOING = {Status.READING: _("reading the file"), Status.CONFIRMING: _("importing the leads")}
UNEXPECTED = _("The import stopped on an unexpected error (%(error)s). Nothing was imported; try again.")


class Overtaken(Exception):
    """The import is no longer this run's: cancelled, marked failed, or retried by a newer run."""


# ------------------------------------------------------------------------------------------------------------
# In the request
# ------------------------------------------------------------------------------------------------------------


def lead_import_start(*, upload, by, owner_mode: str, consultant=None, name: str | None = None) -> LeadImport:
    """Preview `upload` now, or store and queue it for the worker when it has more rows than the setting allows
    in a request. Either way the file is judged whole first: an unreadable file is refused here, in words."""
    plan.check_may_import(by, owner_mode, consultant)
    expected = estimate_rows(upload)
    if expected <= settings.CRM_IMPORT_BACKGROUND_ROWS:
        return plan.lead_import_preview(upload=upload, by=by, owner_mode=owner_mode, consultant=consultant, name=name)
    lead_file = open_lead_file(upload)
    plan.RowCleaner(by, owner_mode, consultant)  # refuses now what the worker would (no salesperson to share with)
    name = plan.file_name(upload, name)
    with transaction.atomic():
        lead_import = LeadImport(
            **plan.described(lead_file, by=by, owner_mode=owner_mode, consultant=consultant, name=name),
            status=Status.QUEUED,
            in_background=True,
            expected_rows=expected,
            attempt=1,
            heartbeat_at=timezone.now(),
        )
        upload.seek(0)
        lead_import.file.save(name, File(upload), save=False)
        lead_import.save()
        _send(read_lead_import, lead_import)
    return lead_import


def lead_import_confirm_later(*, lead_import: LeadImport, by) -> LeadImport:
    """Claim a previewed import for the worker to confirm; a second confirm finds it taken."""
    if lead_import.created_by_id != by.pk:
        raise PermissionDenied(plan.NOT_YOUR_IMPORT)
    return _requeue(lead_import, Status.PREVIEWED, Status.CONFIRMING, confirm_lead_import, plan.ALREADY_IMPORTED)


def lead_import_retry(*, lead_import: LeadImport, by) -> LeadImport:
    """Read a failed import's stored file again, from the start."""
    if lead_import.created_by_id != by.pk:
        raise PermissionDenied(plan.NOT_YOUR_IMPORT)
    return _requeue(lead_import, Status.FAILED, Status.QUEUED, read_lead_import, NOT_FAILED)


def _requeue(lead_import, from_status, to_status, task, refusal) -> LeadImport:
    with transaction.atomic():
        claimed = LeadImport.objects.filter(pk=lead_import.pk, status=from_status).update(
            status=to_status, attempt=F("attempt") + 1, heartbeat_at=timezone.now(), failure="", rows_read=0
        )
        if not claimed:
            raise ImportRefused(refusal)
        lead_import.refresh_from_db()
        _send(task, lead_import)
    return lead_import


def _send(task, lead_import: LeadImport) -> None:
    """Queue `task` for this run once the claim is committed, in the language the importer reads."""
    args = (lead_import.pk, lead_import.attempt, translation.get_language() or settings.LANGUAGE_CODE)
    transaction.on_commit(lambda: task.delay(*args))


def lead_import_mark_stale() -> None:
    """Mark failed, with the reason, every running import whose worker has been silent too long. Called where
    imports are shown; a read alone when nothing is stale, as is usual."""
    seconds = settings.CRM_IMPORT_STALE_SECONDS
    stale = LeadImport.objects.filter(
        status__in=LeadImport.RUNNING, heartbeat_at__lt=timezone.now() - timedelta(seconds=seconds)
    )
    if not stale.exists():
        return
    reasons = {Status.QUEUED: NO_WORKER % {"seconds": seconds}}
    reasons.update({status: WORKER_LOST % {"doing": doing} for status, doing in DOING.items()})
    stale.update(
        status=Status.FAILED,
        failure=Case(*(When(status=status, then=Value(str(reason))) for status, reason in reasons.items())),
    )


# ------------------------------------------------------------------------------------------------------------
# In the worker
# ------------------------------------------------------------------------------------------------------------


@shared_task(name="crm.tasks.read_lead_import")
def read_lead_import(import_id: int, attempt: int, language: str) -> None:
    """Stage the stored file batch by batch (progress committed with each), then judge it: the preview."""
    with translation.override(language), Heartbeat(import_id, attempt):
        claimed = LeadImport.objects.filter(pk=import_id, attempt=attempt, status=Status.QUEUED).update(
            status=Status.READING, heartbeat_at=timezone.now()
        )
        if claimed:
            _run(import_id, attempt, _read)


@shared_task(name="crm.tasks.confirm_lead_import")
def confirm_lead_import(import_id: int, attempt: int, language: str) -> None:
    """Apply the preview's plan in one transaction, as confirming in the request does."""
    with translation.override(language), Heartbeat(import_id, attempt):
        if LeadImport.objects.filter(pk=import_id, attempt=attempt, status=Status.CONFIRMING).exists():
            _run(import_id, attempt, _confirm)


def _run(import_id: int, attempt: int, step) -> None:
    lead_import = LeadImport.objects.select_related("created_by", "chosen_consultant").get(pk=import_id)
    try:
        step(lead_import, attempt)
    except Overtaken:
        return
    except (LeadFileError, ImportRefused, PermissionDenied) as error:
        _fail(lead_import, attempt, str(error))
    except IntegrityError as error:
        _fail(lead_import, attempt, str(plan.CONFLICT % {"error": error}))
    except Exception as error:
        logger.exception("Lead import %s (run %s) failed", import_id, attempt)
        _fail(lead_import, attempt, str(UNEXPECTED % {"error": error.__class__.__name__}))
        raise


def _read(lead_import: LeadImport, attempt: int) -> None:
    by = lead_import.created_by
    plan.check_may_import(by, lead_import.owner_mode, lead_import.chosen_consultant)  # it may have changed since
    lead_import.rows.all().delete()  # what an earlier run staged: a retry starts from the start
    with lead_import.file.open("rb") as stream:
        lead_file = open_lead_file(stream)
        cleaner = plan.RowCleaner(by, lead_import.owner_mode, lead_import.chosen_consultant)
        for batch in _batched(lead_file.rows(), BATCH):
            with transaction.atomic():
                _hold(lead_import, attempt, Status.READING, rows_read=batch[-1][0] - 1)
                plan.stage(lead_import, cleaner, batch)
    with transaction.atomic():
        _hold(lead_import, attempt, Status.READING)
        plan.judge(lead_import, by)
        lead_import.refresh_from_db()
        lead_import.status = Status.PREVIEWED
        plan.count(lead_import)


def _confirm(lead_import: LeadImport, attempt: int) -> None:
    by = lead_import.created_by
    plan.check_may_import(by, lead_import.owner_mode, lead_import.chosen_consultant)
    with transaction.atomic():
        plan.apply_plan(lead_import, by)
        # Last, so the row is locked only for the commit (the heartbeat writes it meanwhile).
        _hold(lead_import, attempt, Status.CONFIRMING, status=Status.IMPORTED, imported_at=timezone.now())


def _hold(lead_import: LeadImport, attempt: int, current: str, **changes) -> None:
    """Check, in the caller's transaction, that the import is still this run's, and lock it to the commit:
    a cancel or a retry then waits for this batch rather than slipping in between."""
    still = LeadImport.objects.filter(pk=lead_import.pk, attempt=attempt, status=current).update(
        heartbeat_at=timezone.now(), **changes
    )
    if not still:
        raise Overtaken


def _fail(lead_import: LeadImport, attempt: int, reason: str) -> None:
    with transaction.atomic():
        failed = LeadImport.objects.filter(pk=lead_import.pk, attempt=attempt, status__in=LeadImport.RUNNING).update(
            status=Status.FAILED, failure=reason
        )
        if failed:
            lead_import.rows.all().delete()


class Heartbeat:
    """While a task runs, a thread of its own (with its own database connection) tells the web side the worker
    lives: the task's long transactions cannot. On SQLite a beat waits for the task's write lock or is skipped."""

    def __init__(self, import_id: int, attempt: int):
        self.rows = LeadImport.objects.filter(pk=import_id, attempt=attempt, status__in=LeadImport.RUNNING)
        self.interval = max(0.5, settings.CRM_IMPORT_STALE_SECONDS / 5)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"import-{import_id}-heartbeat", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join()

    def _beat(self) -> None:
        try:
            while not self.stopped.wait(self.interval):
                try:
                    self.rows.update(heartbeat_at=timezone.now())
                except DatabaseError:
                    pass  # the next beat tries again
        finally:
            connection.close()
