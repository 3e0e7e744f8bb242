"""What keeps the big lists' cost flat: a bounded count, a whole phone looked up by its index alone, follow-ups
reached through their customer column, and the follow-up summary following follow-ups that move."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm import access
from crm.admin.base import BoundedCountPaginator
from crm.models import Customer, FollowUp
from crm.services import leads
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_list_is_counted_exactly_up_to_the_bound_and_then_said_to_be_more(client, manager, monkeypatch):
    monkeypatch.setattr(BoundedCountPaginator, "EXACT_UP_TO", 3)
    for _ in range(3):
        factories.CustomerFactory()
    client.force_login(manager)
    url = reverse("admin:crm_customer_changelist")
    exact = client.get(url)
    assert exact.context["cl"].result_count == 3 and not exact.context["cl"].paginator.estimated
    factories.CustomerFactory()
    more = client.get(url)
    assert more.context["cl"].paginator.estimated
    paginator = more.context["cl"].paginator
    # "more than 3"; on PostgreSQL "about N" when its planner expects more than that
    assert paginator.count_text() in more.content.decode()
    assert paginator.count_text().startswith("about " if paginator.count > 4 else "more than 3")


def test_a_whole_phone_is_searched_by_its_index_alone_and_finds_a_qq_that_looks_like_one(client, sales):
    phone_owner = factories.CustomerFactory(phone="+8613800138000", consultant=sales, name="Han Meimei")
    qq_owner = factories.CustomerFactory(consultant=sales, qq="13800138000", name="Qq Person")
    factories.CustomerFactory(consultant=sales, name="13800138000 is not a name to match")
    client.force_login(sales)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:crm_customer_changelist"), {"q": "138 0013 8000"})
    assert {c.pk for c in response.context["cl"].result_list} == {phone_owner.pk, qq_owner.pk}
    assert not [q for q in queries.captured_queries if "crm_customer" in q["sql"] and "LIKE" in q["sql"].upper()]


def test_follow_ups_are_scoped_by_their_own_customer_column(sales, other_sales):
    mine = factories.FollowUpFactory(customer=factories.CustomerFactory(consultant=sales))
    shared_lead = factories.CustomerFactory(consultant=other_sales)
    shared = factories.FollowUpFactory(customer=shared_lead)
    factories.FollowUpFactory(customer=factories.CustomerFactory(consultant=other_sales))
    pooled = factories.CustomerFactory(consultant=None)
    factories.FollowUpFactory(customer=pooled, consultant=sales)
    leads.customer_share(
        customers=[shared_lead, pooled], with_user=sales, by=factories.UserFactory(role="sales_manager")
    )
    visible = access.visible(sales, FollowUp)
    assert set(visible.values_list("pk", flat=True)) == {mine.pk, shared.pk}  # a shared lead in the pool stays out
    sql = str(visible.query)
    assert "JOIN" not in sql  # one table's column: the follow-up's customer, in the person's customers


def test_a_follow_up_moved_to_another_customer_changes_both_summaries(sales):
    today = timezone.localdate()
    first, second = factories.CustomerFactory(consultant=sales), factories.CustomerFactory(consultant=sales)
    older = factories.FollowUpFactory(customer=first, next_follow_up=today.replace(day=1))
    moved = factories.FollowUpFactory(customer=first, next_follow_up=today)
    moved.customer = second
    leads.follow_up_save(follow_up=moved, by=sales)
    summaries = dict(Customer.objects.filter(pk__in=[first.pk, second.pk]).values_list("pk", "latest_follow_up"))
    assert summaries == {first.pk: older.pk, second.pk: moved.pk}
    older.delete()
    assert Customer.objects.get(pk=first.pk).next_follow_up is None
