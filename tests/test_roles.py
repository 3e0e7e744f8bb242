"""Which admin pages each role opens, and which menu it sees. Refusals are 403 or a redirect, never a 500."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from crm import roles
from tests import factories

pytestmark = pytest.mark.django_db

OPENS = 200
REFUSED = {302, 403}

# role -> (admin changelists it opens, changelists it is refused)
PAGES = {
    roles.SALES: (
        ["customer", "poolcustomer", "followup", "enrollment", "payment"],
        ["courserecord", "studyrecord", "student", "contracttemplate", "auth:user", "auth:group"],
    ),
    roles.SALES_MANAGER: (
        ["customer", "poolcustomer", "followup", "enrollment", "payment", "tag"],
        ["courserecord", "studyrecord", "contracttemplate", "auth:user", "auth:group"],
    ),
    roles.TEACHER: (
        ["classgrade", "courserecord", "studyrecord"],
        ["customer", "poolcustomer", "followup", "enrollment", "payment", "tag", "contracttemplate", "auth:user"],
    ),
    roles.SCHOOL_ADMIN: (
        ["customer", "poolcustomer", "followup", "enrollment", "payment", "classgrade", "courserecord"]
        + ["studyrecord", "student"]
        + ["branch", "course", "contracttemplate", "tag", "auth:user", "auth:group"],
        [],
    ),
}

MENUS = {
    roles.SALES: {"customers", "lead pool", "follow-ups", "enrollments", "payments"},
    roles.SALES_MANAGER: {"customers", "lead pool", "follow-ups", "enrollments", "payments", "tags", "lead imports"},
    roles.TEACHER: {"classes", "lessons", "study records"},
}


def changelist(name: str) -> str:
    app, model = name.split(":") if ":" in name else ("crm", name)
    return reverse(f"admin:{app}_{model}_changelist")


@pytest.mark.parametrize("role", PAGES)
def test_each_role_opens_its_pages_and_is_refused_the_others(client, make_user, role):
    client.force_login(make_user(role))
    opens, refused = PAGES[role]
    for name in opens:
        assert client.get(changelist(name)).status_code == OPENS, name
    for name in refused:
        assert client.get(changelist(name)).status_code in REFUSED, name


@pytest.mark.parametrize("role", MENUS)
def test_each_role_sees_exactly_its_menu(client, make_user, role):
    client.force_login(make_user(role))
    response = client.get(reverse("admin:index"))
    shown = {model["name"].lower() for app in response.context["app_list"] for model in app["models"]}
    assert shown == MENUS[role]


def test_school_admin_menu_has_everything(client, school_admin):
    client.force_login(school_admin)
    response = client.get(reverse("admin:index"))
    shown = {model["object_name"] for app in response.context["app_list"] for model in app["models"]}
    assert {"Customer", "ClassGrade", "Branch", "ContractTemplate", "User", "Group"} <= shown


def test_student_cannot_enter_the_admin(client, student_user):
    client.force_login(student_user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
    assert client.get(changelist("customer")).status_code == 302


def test_anonymous_is_sent_to_login(client):
    for name in ("customer", "followup", "classgrade"):
        response = client.get(changelist(name))
        assert response.status_code == 302 and reverse("admin:login") in response["Location"]


def test_salesperson_cannot_delete_customers(client, sales):
    customer = factories.CustomerFactory(consultant=sales)
    client.force_login(sales)
    assert client.get(reverse("admin:crm_customer_delete", args=[customer.pk])).status_code == 403
    assert client.post(reverse("admin:crm_customer_delete", args=[customer.pk]), {"post": "yes"}).status_code == 403
    assert customer.__class__.objects.filter(pk=customer.pk).exists()


def test_roles_exist_in_a_fresh_database_with_their_permissions():
    assert set(Group.objects.values_list("name", flat=True)) >= set(roles.ROLE_PERMISSIONS)
    sales = Group.objects.get(name=roles.SALES)
    assert sales.permissions.filter(codename="view_customer").exists()
    assert not sales.permissions.filter(codename="delete_customer").exists()


def test_sync_roles_restores_permissions_removed_by_hand():
    group = Group.objects.get(name=roles.TEACHER)
    group.permissions.clear()
    call_command("sync_roles", stdout=open("/dev/null", "w"))
    assert group.permissions.filter(codename="add_courserecord").exists()


def test_roles_name_only_permissions_that_exist():
    from django.contrib.auth.models import Permission

    for role in roles.ROLE_PERMISSIONS:
        roles.permissions_for(role, Permission)  # raises on a typo
