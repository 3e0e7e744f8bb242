from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from crm.roles import sync_roles


class Command(BaseCommand):
    help = "Create the role groups and set their permissions exactly as crm/roles.py defines them."

    def handle(self, *args, **options):
        for role, count in sync_roles().items():
            self.stdout.write(_("%(role)s: %(count)d permissions") % {"role": role, "count": count})
