"""The roles: which model permissions each Group has, and which menu it sees.

Applied by the data migration `0002_roles`, after every `migrate` (post_migrate) and by `manage.py sync_roles`,
so every database, fresh or flushed, has them exactly as written here.
"""

from django.utils.translation import gettext_lazy as _

SALES = "sales"
SALES_MANAGER = "sales_manager"
TEACHER = "teacher"
STUDENT = "student"
SCHOOL_ADMIN = "school_admin"
FINANCE = "finance"

ROLE_LABELS = {
    SALES: _("Salesperson"),
    SALES_MANAGER: _("Sales manager"),
    TEACHER: _("Teacher"),
    STUDENT: _("Student"),
    SCHOOL_ADMIN: _("School administrator"),
    FINANCE: _("Finance"),
}


def role_label(name: str):
    """A role's name as people read it (a Group that is not a role keeps its own name)."""
    return ROLE_LABELS.get(name, name)


def _crud(model: str, *verbs: str) -> list[str]:
    return [f"crm.{verb}_{model}" for verb in verbs]


# Reference data every salesperson looks up in forms and filters.
_SALES_LOOKUPS = (
    _crud("course", "view")
    + _crud("classgrade", "view")
    + ["crm.view_all_classes"]
    + _crud("tag", "view")
    + _crud("branch", "view")
)

_SALES = (
    _crud("customer", "view", "add", "change", "import", "export")
    + _crud("followup", "view", "add", "change")
    + _crud("enrollment", "view", "add", "change")
    + _crud("enrollmentdocument", "view")
    + _crud("payment", "view", "add")
    + _crud("installment", "view", "add")
    + _crud("refund", "view", "add")
    + _crud("balancedue", "view")
    + _crud("leadimport", "view")
    + _crud("poolcustomer", "view")
    + ["crm.claim_customer"]
    + _SALES_LOOKUPS
)

# Deciding about money: refunds, reversals, discounts above the limit, the money reports.
_MONEY_DECISIONS = ["crm.decide_refund", "crm.reverse_payment", "crm.view_finance_report"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    SALES: _SALES,
    SALES_MANAGER: _SALES
    + ["crm.view_all_customers", "crm.reassign_customer", "crm.merge_customer", "crm.archive_customer"]
    + ["crm.view_id_numbers", "crm.approve_discount", "crm.export_balancedue"]
    + _MONEY_DECISIONS
    + _crud("followup", "delete")
    + _crud("payment", "change")
    + _crud("tag", "add", "change"),
    TEACHER: _crud("classgrade", "view")
    + _crud("courserecord", "view", "add", "change")
    + _crud("studyrecord", "view", "change")
    + _crud("student", "view")
    + _crud("course", "view")
    + _crud("branch", "view"),
    STUDENT: [],
    # Every payment, installment and refund; customers and enrollments read-only.
    FINANCE: _crud("customer", "view")
    + ["crm.view_all_customers"]
    + _crud("enrollment", "view")
    + _crud("payment", "view")
    + _crud("installment", "view")
    + _crud("refund", "view")
    + _crud("balancedue", "view", "export")
    + _MONEY_DECISIONS
    + _SALES_LOOKUPS,
    # The school admin gets every permission of these apps (see `permissions_for`).
    SCHOOL_ADMIN: ["crm.*", "auth.*", "django_celery_beat.*"],  # the jobs' schedules too
}

# The admin menu each role sees (model names); a model shows only if the user also has a permission on it.
# Lookups a role needs (courses for a salesperson's payment form) stay out of its menu.
ROLE_MENUS: dict[str, set[str] | None] = {
    SALES: {
        "crm.customer",
        "crm.poolcustomer",
        "crm.followup",
        "crm.enrollment",
        "crm.payment",
        "crm.refund",
        "crm.balancedue",
    },
    SALES_MANAGER: {
        "crm.customer",
        "crm.poolcustomer",
        "crm.followup",
        "crm.enrollment",
        "crm.payment",
        "crm.installment",
        "crm.refund",
        "crm.balancedue",
        "crm.tag",
        "crm.leadimport",
    },
    FINANCE: {"crm.payment", "crm.installment", "crm.refund", "crm.balancedue", "crm.customer", "crm.enrollment"},
    TEACHER: {"crm.classgrade", "crm.courserecord", "crm.studyrecord"},
    STUDENT: set(),
    SCHOOL_ADMIN: None,  # everything
}


def role_names(user) -> frozenset[str]:
    """The user's role names, read once per user object (the menu asks for every model)."""
    if not hasattr(user, "_crm_roles"):
        user._crm_roles = frozenset(user.groups.values_list("name", flat=True))
    return user._crm_roles


def shows_in_menu(user, model) -> bool:
    """Whether `model` belongs in the admin menu of `user`, by the roles they hold."""
    if user.is_superuser:
        return True
    label = f"{model._meta.app_label}.{model._meta.model_name}"
    return any(
        ROLE_MENUS.get(name) is None or label in ROLE_MENUS[name] for name in role_names(user) if name in ROLE_MENUS
    )


def permissions_for(role: str, permission_model, strict: bool = True):
    """The Permission rows of `role`; raises LookupError on a name that does not exist (a typo in this file).

    Not strict in the data migration: models added by later migrations have no permissions yet there, and the
    post_migrate sync that follows every migrate grants them.
    """
    wanted = ROLE_PERMISSIONS[role]
    found = []
    for name in wanted:
        app_label, codename = name.split(".", 1)
        if codename == "*":
            found.extend(permission_model.objects.filter(content_type__app_label=app_label))
            continue
        perm = permission_model.objects.filter(content_type__app_label=app_label, codename=codename).first()
        if perm is None and not strict:
            continue
        if perm is None:
            raise LookupError(f"Role {role!r} names unknown permission {name!r}")
        found.append(perm)
    return found


def sync_roles(group_model=None, permission_model=None, strict: bool = True) -> dict[str, int]:
    """Create the role Groups and set their permissions to exactly those above; returns role -> count."""
    if group_model is None:
        from django.contrib.auth.models import Group as group_model
        from django.contrib.auth.models import Permission as permission_model
    result = {}
    for role in ROLE_PERMISSIONS:
        group, _created = group_model.objects.get_or_create(name=role)
        perms = permissions_for(role, permission_model, strict)
        group.permissions.set(perms)
        result[role] = len(perms)
    return result
