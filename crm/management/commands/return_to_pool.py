from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from crm.services.pool import pool_return_idle


class Command(BaseCommand):
    help = (
        "Return to the lead pool every lead without a follow-up or a change by its consultant for "
        "CRM_POOL_IDLE_DAYS days (students and leads with an enrollment under way stay). Run nightly."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="idle days (default: settings.POOL_IDLE_DAYS)")

    def handle(self, *args, days, **options):
        days = settings.POOL_IDLE_DAYS if days is None else days
        count = pool_return_idle(days=days)
        self.stdout.write(
            _("%(count)d leads returned to the pool (idle %(days)d days).") % {"count": count, "days": days}
        )
