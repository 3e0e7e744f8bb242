"""What every admin page carries around its content: the top bar's search only where it opens, a footer without
the software's version, our own stylesheet (the sidebar's name legible), and history pages with a heading."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.urls import reverse

from crm import roles
from tests import factories

pytestmark = pytest.mark.django_db
TOP_BAR_SEARCH = re.compile(r'<form action="([^"]+)" method="GET" class="d-flex ms-2">')
STAFF_ROLES = [name for name in roles.ROLE_PERMISSIONS if name != roles.STUDENT]


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_the_top_bar_offers_the_one_search_to_every_member_of_staff(client, make_user, role):
    client.force_login(make_user(role))
    searches = TOP_BAR_SEARCH.findall(client.get(reverse("admin:index")).content.decode())
    assert searches == [reverse("admin:search")]
    assert client.get(searches[0], {"q": "138"}).status_code == 200


def test_a_teacher_is_offered_no_customer_search(client, teacher):
    client.force_login(teacher)
    page = client.get(reverse("admin:index")).content.decode()
    assert "Search Customers" not in page and "customers" not in page.lower().split('name="q"')[1][:200]


def test_the_footer_names_the_school_not_the_software_version(client, sales, settings):
    client.force_login(sales)
    page = client.get(reverse("admin:index")).content.decode()
    footer = page[page.index('<footer class="app-footer') :]
    assert "Jazzmin" not in footer and "version" not in footer.lower()
    assert str(settings.JAZZMIN_SETTINGS["copyright"]) in footer


def test_the_admin_loads_our_stylesheet_from_our_static_files(client, sales):
    client.force_login(sales)
    page = client.get(reverse("admin:index")).content.decode()
    assert f'href="{static("crm/admin.css")}"' in page
    assert "#jazzy-sidebar .user-panel .info a" in open(finders.find("crm/admin.css")).read()


def test_history_pages_have_a_heading(client, manager):
    customer = factories.CustomerFactory(name="Wang Fang")
    campus = factories.BranchFactory(name="Haidian")
    client.force_login(manager)
    page = client.get(reverse("admin:crm_customer_history", args=[customer.pk])).content.decode()
    assert '<h3 class="mb-0">History: Wang Fang</h3>' in page  # simple-history's page
    client.force_login(factories.UserFactory(username="root", is_superuser=True))
    page = client.get(reverse("admin:crm_branch_history", args=[campus.pk])).content.decode()
    assert '<h3 class="mb-0">History: Haidian</h3>' in page  # Django's own


@pytest.mark.parametrize(
    "role, links, not_links",
    [
        (roles.TEACHER, ["admin:crm_courserecord_calendar"], ["admin:crm_finance_report"]),
        (roles.FINANCE, ["admin:crm_finance_report"], ["admin:crm_courserecord_calendar"]),
        (roles.SALES, [], ["admin:crm_courserecord_calendar", "admin:crm_finance_report"]),
    ],
)
def test_the_sidebar_links_to_the_calendar_and_the_finance_report_for_who_may_open_them(
    client, make_user, role, links, not_links
):
    client.force_login(make_user(role))
    page = client.get(reverse("admin:index")).content.decode()
    for name in links:
        assert f'href="{reverse(name)}"' in page
        assert client.get(reverse(name)).status_code == 200
    for name in not_links:
        assert f'href="{reverse(name)}"' not in page
