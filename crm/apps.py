from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    default = True
    name = "crm"
    verbose_name = _("CRM")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Every migrate (and every test database flush) leaves the roles exactly as crm/roles.py says.
        post_migrate.connect(_sync_roles, sender=self)
        from crm import signals

        signals.connect()


def _sync_roles(sender, using="default", **kwargs):
    from django.db import connections

    from crm.models import install_lead_tally
    from crm.roles import sync_roles

    sync_roles()
    # A flush empties the tables in any order (on SQLite through the triggers): count the tally again.
    install_lead_tally(connections[using])


class CRMAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the CRM's site (its front page is the dashboard) as `admin.site`."""

    default = False
    default_site = "crm.admin_site.CRMAdminSite"
