"""The admin's top bar: the signed-in person's calls to make today, linking to exactly those follow-ups."""

import datetime
import re
from html import unescape

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from crm.models import Customer
from crm.services import leads
from tests import factories

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)


def calls(client) -> tuple[int, str]:
    page = client.get(reverse("admin:index")).content.decode()
    link = re.search(r'<a class="nav-link" href="([^"]+)" id="calls-to-make"', page)
    count = re.search(r'id="calls-to-make-count">(\d+)<', page)
    return int(count.group(1)), unescape(link.group(1))


def due(owner, name, when, **fields):
    customer = factories.CustomerFactory(consultant=owner, name=name, **fields)
    factories.FollowUpFactory(customer=customer, next_follow_up=when)
    return customer


def test_the_count_is_my_calls_due_today_and_overdue_and_links_to_them(client, sales, other_sales, manager):
    due(sales, "Today Tina", TODAY)
    due(sales, "Late Lou", TODAY - 2 * DAY)
    due(sales, "Later Larry", TODAY + DAY)
    due(sales, "Lost Lily", TODAY - DAY, status=Customer.Status.LOST)
    due(sales, "Enrolled Emma", TODAY - DAY, status=Customer.Status.ENROLLED)
    theirs = due(other_sales, "Theirs Theo", TODAY)
    leads.customer_share(customers=[theirs], with_user=sales, by=manager)  # shared with me: still theirs to call

    client.force_login(sales)
    count, url = calls(client)

    assert count == 2
    listed = client.get(url).content.decode()
    assert "Today Tina" in listed and "Late Lou" in listed
    for name in ("Later Larry", "Lost Lily", "Enrolled Emma", "Theirs Theo"):
        assert name not in listed


def test_a_manager_counts_their_own_leads_only(client, sales, manager):
    due(sales, "Today Tina", TODAY)
    due(manager, "Managers Max", TODAY)
    client.force_login(manager)
    count, url = calls(client)
    assert count == 1
    listed = client.get(url).content.decode()
    assert "Managers Max" in listed and "Today Tina" not in listed


def test_the_count_is_kept_briefly(client, sales):
    due(sales, "Today Tina", TODAY)
    client.force_login(sales)
    assert calls(client)[0] == 1
    due(sales, "Late Lou", TODAY - DAY)
    assert calls(client)[0] == 1  # a minute's grace: every admin page shows it
    cache.clear()
    assert calls(client)[0] == 2


def test_people_without_follow_ups_see_no_count(client, teacher):
    client.force_login(teacher)
    page = client.get(reverse("admin:index")).content.decode()
    assert 'id="calls-to-make"' not in page


def test_the_due_filter_offers_today_or_overdue(client, sales):
    due(sales, "Today Tina", TODAY)
    due(sales, "Late Lou", TODAY - DAY)
    due(sales, "Later Larry", TODAY + DAY)
    client.force_login(sales)
    page = client.get(reverse("admin:crm_followup_changelist"), {"due": "now"}).content.decode()
    assert "Due today or overdue" in page
    assert "Today Tina" in page and "Late Lou" in page and "Later Larry" not in page
