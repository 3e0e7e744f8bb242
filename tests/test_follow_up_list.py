"""The follow-up list, page by page, and its "next follow-up" choices (the calls to make), which reach the rows
the plain list reaches and no others: they are scoped on the customer's own columns
(crm.access.latest_follow_up_scope) in place of the list's follow-up scope, so each choice is tried here for every
role against customers the user must not reach."""

import datetime

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from crm.admin.base import SortedIdsPaginator
from crm.models import FollowUp
from crm.services.leads import customer_share
from tests import factories

pytestmark = pytest.mark.django_db
LIST = reverse("admin:crm_followup_changelist")
CHOICES = ["now", "today", "overdue", "week", "bogus", ""]


def lead(owner, name: str, due_in_days: int, **fields):
    customer = factories.CustomerFactory(consultant=owner, name=name, **fields)
    factories.FollowUpFactory(
        customer=customer,
        consultant=owner or customer.consultant,
        next_follow_up=timezone.localdate() + datetime.timedelta(days=due_in_days),
    )
    return customer


@pytest.fixture
def leads(sales, other_sales, manager):
    shared = lead(other_sales, "Shared Zhao", 0)
    customer_share(customers=[shared], with_user=sales, by=manager)
    pooled = lead(other_sales, "Pooled Sun", -2)
    pooled.consultant = None
    pooled.save()
    return {
        "mine today": lead(sales, "Mine Li", 0),
        "mine overdue": lead(sales, "Mine Wang", -3),
        "mine next week": lead(sales, "Mine Qian", 5),
        "shared today": shared,
        "theirs today": lead(other_sales, "Theirs Zhou", 0),
        "theirs overdue": lead(other_sales, "Theirs Wu", -1),
        "pooled overdue": pooled,
    }


def names(client, due: str) -> set[str]:
    response = client.get(LIST, {"due": due} if due else {})
    assert response.status_code == 200
    return {row.customer.name for row in response.context["cl"].result_list}


@pytest.mark.parametrize("due", CHOICES)
def test_a_salesperson_calls_only_their_own_and_shared_customers(client, sales, leads, due):
    client.force_login(sales)
    expected = {
        "now": {"Mine Li", "Mine Wang", "Shared Zhao"},
        "today": {"Mine Li", "Shared Zhao"},
        "overdue": {"Mine Wang"},
        "week": {"Mine Li", "Mine Qian", "Shared Zhao"},
    }.get(due, {"Mine Li", "Mine Wang", "Mine Qian", "Shared Zhao"})  # no choice, or one not offered: the list
    assert names(client, due) == expected


@pytest.mark.parametrize("due", CHOICES)
def test_a_manager_calls_everyones_customers(client, manager, leads, due):
    client.force_login(manager)
    everyone = {"Mine Li", "Mine Wang", "Mine Qian", "Shared Zhao", "Theirs Zhou", "Theirs Wu", "Pooled Sun"}
    expected = {
        "now": everyone - {"Mine Qian"},
        "today": {"Mine Li", "Shared Zhao", "Theirs Zhou"},
        "overdue": {"Mine Wang", "Theirs Wu", "Pooled Sun"},
        "week": {"Mine Li", "Mine Qian", "Shared Zhao", "Theirs Zhou"},
    }.get(due, everyone)
    assert names(client, due) == expected


def test_a_teacher_reaches_no_follow_up_whatever_the_choice(client, teacher, leads):
    client.force_login(teacher)
    for due in CHOICES:
        assert client.get(LIST, {"due": due}).status_code == 403


def test_the_pages_hold_the_reachable_follow_ups_newest_first_each_once(client, sales, other_sales):
    mine = factories.CustomerFactory(consultant=sales)
    theirs = factories.CustomerFactory(consultant=other_sales)
    start = timezone.now() - datetime.timedelta(days=200)
    for day in range(120):
        for customer in (mine, theirs):
            follow_up = factories.FollowUpFactory(customer=customer)
            FollowUp.objects.filter(pk=follow_up.pk).update(created_at=start + datetime.timedelta(days=day))
    expected = list(FollowUp.objects.filter(customer=mine).order_by("-created_at", "-id").values_list("pk", flat=True))
    client.force_login(sales)
    shown = []
    for page in (1, 2, 3):
        rows = client.get(LIST, {"p": page}).context["cl"].result_list
        assert all(row.customer_id == mine.pk for row in rows)
        shown += [row.pk for row in rows]
    assert shown == expected  # 50, 50 and 20, in the list's order


def test_a_list_read_by_sorted_ids_refuses_annotations_it_would_drop():
    """The paginator reads a page's rows by id alone: an annotated list would lose its extra columns silently."""
    with pytest.raises(ImproperlyConfigured):
        SortedIdsPaginator(FollowUp.objects.annotate(later=Max("next_follow_up")), 50)
