from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from crm.services.digest import digest_send_all


class Command(BaseCommand):
    help = "Email each salesperson their follow-ups due today and overdue, and the web leads new for them."

    def handle(self, *args, **options):
        sent = digest_send_all()
        self.stdout.write(_("Follow-up digests sent: %(count)d") % {"count": sent})
