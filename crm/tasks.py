"""The CRM's Celery tasks: each calls the same service as its management command (scheduled by
django-celery-beat, see migration 0014_job_schedules)."""

from celery import shared_task

from crm.emails import deliver  # noqa: F401  registered with the worker through this module
from crm.services.digest import digest_send_all
from crm.services.lead_import_jobs import confirm_lead_import, read_lead_import  # noqa: F401  registered here too
from crm.services.pool import pool_return_idle

__all__ = ["confirm_lead_import", "deliver", "read_lead_import", "return_to_pool", "send_follow_up_digest"]


@shared_task(name="crm.tasks.return_to_pool")
def return_to_pool() -> None:
    """Nightly: leads nobody worked on for POOL_IDLE_DAYS go back to the pool (`manage.py return_to_pool`)."""
    pool_return_idle()


@shared_task(name="crm.tasks.send_follow_up_digest")
def send_follow_up_digest() -> None:
    """Each morning: every salesperson's follow-ups due today and overdue (`manage.py send_follow_up_digest`)."""
    digest_send_all()
