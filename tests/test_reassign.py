"""Reassigning customers from the list: the picker names each consultant with the open leads they already have, and
the message counts the customers that moved, however the list was filtered."""

import datetime

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from crm.admin.actions import PickUserForm
from crm.models import Customer
from tests import factories

pytestmark = pytest.mark.django_db
LIST_URL = reverse("admin:crm_customer_changelist")
Status = Customer.Status


@pytest.fixture
def named(sales, other_sales):
    sales.first_name, sales.last_name = "Fang", "Wang"
    other_sales.first_name = ""  # no name: shown by username
    for user in (sales, other_sales):
        user.save()
    return sales, other_sales


def test_the_message_counts_the_customers_moved_out_of_a_list_filtered_by_their_old_owner(client, manager, named):
    sales, other_sales = named
    moved = [factories.CustomerFactory(consultant=other_sales) for _ in range(2)]
    client.force_login(manager)
    response = client.post(
        f"{LIST_URL}?consultant__id__exact={other_sales.pk}",
        {"action": "reassign", ACTION_CHECKBOX_NAME: [c.pk for c in moved], "apply": "1", "user": sales.pk},
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == ["2 customers now belong to Fang Wang."]
    assert set(Customer.objects.filter(consultant=sales)) == set(moved)


def test_the_picker_shows_names_and_open_leads(client, manager, named):
    sales, other_sales = named
    for status in [Status.NEW, Status.FOLLOWING, Status.FOLLOWING, Status.ENROLLED, Status.LOST]:
        factories.CustomerFactory(consultant=sales, status=status)
    factories.CustomerFactory(consultant=sales, status=Status.NEW, archived_at=timezone.now())
    chosen = factories.CustomerFactory(consultant=other_sales)
    client.force_login(manager)
    page = client.post(LIST_URL, {"action": "reassign", ACTION_CHECKBOX_NAME: [chosen.pk]})
    options = dict(page.context["form"].fields["user"].choices)
    labels = {str(label) for label in options.values()}
    assert "Fang Wang (3 open leads)" in labels
    assert "sales-b (1 open lead)" in labels
    assert f"{manager.get_full_name()} (0 open leads)" in labels


def test_the_picker_counts_every_consultants_leads_in_one_query(django_assert_num_queries, named, make_user):
    sales, _other = named
    both = make_user("sales", "both-groups", first_name="")
    both.groups.add(*make_user("sales_manager", "m2").groups.all())  # in two groups: joined twice
    for owner in (sales, both):
        for _ in range(3):
            factories.CustomerFactory(consultant=owner, status=Status.NEW)
    with django_assert_num_queries(1):
        labels = [str(label) for _value, label in PickUserForm().fields["user"].choices]
    assert "Fang Wang (3 open leads)" in labels and "both-groups (3 open leads)" in labels
    assert labels.count("both-groups (3 open leads)") == 1


def test_open_leads_are_counted_as_of_now(named):
    """Leads created long ago count as much as today's: open means still worked on, not recent."""
    sales, _other = named
    old = factories.CustomerFactory(consultant=sales, status=Status.FOLLOWING)
    Customer.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=400))
    labels = [str(label) for _value, label in PickUserForm().fields["user"].choices]
    assert "Fang Wang (1 open lead)" in labels
