from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext
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
        _label_roles_and_permissions()


def _label_roles_and_permissions():
    """Groups and permissions read in the reader's language wherever they are shown (lists, filters, pickers,
    history). Their rows keep the fixed English names (roles are `sales_manager`…; Django stores permission names
    in English), which code and the outside checks rely on."""
    from django.contrib.auth.models import Group, Permission

    from crm.roles import role_label

    Group.__str__ = lambda group: str(role_label(group.name))
    Permission.__str__ = _permission_label


# Django names the default permissions "Can add <model>"...: the same sentence in the reader's language.
_DEFAULT_PERMISSIONS = {
    "add": _("Can add %(model)s"),
    "change": _("Can change %(model)s"),
    "delete": _("Can delete %(model)s"),
    "view": _("Can view %(model)s"),
}


def _permission_label(permission) -> str:
    content_type = permission.content_type
    model = content_type.model_class()
    # Some third-party models give plain-string names that our catalogue translates (gettext is a no-op otherwise).
    model_name = gettext(str(model._meta.verbose_name)) if model else content_type.model
    app = gettext(str(model._meta.app_config.verbose_name)) if model else content_type.app_label
    action, _sep, codename_model = permission.codename.partition("_")
    if action in _DEFAULT_PERMISSIONS and model and codename_model == model._meta.model_name:
        name = str(_DEFAULT_PERMISSIONS[action]) % {"model": model_name}
    else:
        name = gettext(permission.name)  # the CRM's own are in its catalogue
    return f"{app} | {model_name} | {name}"


def _sync_roles(sender, using="default", **kwargs):
    from django.db import connections

    from crm.models import install_tallies
    from crm.roles import sync_roles

    sync_roles()
    # The one place the tallies' triggers are installed and counted: after every migrate (the migrations leave it
    # here, so it runs once, on the whole schema, with the rules as they are now) and every flush (which empties
    # the tables in any order, on SQLite through the triggers); SQLite also drops a table's triggers when a
    # migration rebuilds it.
    install_tallies(connections[using])


class CRMAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the CRM's site (its front page is the dashboard) as `admin.site`."""

    default = False
    default_site = "crm.admin_site.CRMAdminSite"
