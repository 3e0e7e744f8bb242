"""List pages run the same number of queries whether they show 5 rows or 100."""

import pytest
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


def queries_for(client, django_assert_max_num_queries, url, limit):
    with django_assert_max_num_queries(limit) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("who", ["sales", "manager"])
@pytest.mark.parametrize("model", ["customer", "followup", "enrollment", "payment"])
def test_changelist_queries_do_not_grow_with_rows(client, django_assert_max_num_queries, sales, manager, who, model):
    client.force_login({"sales": sales, "manager": manager}[who])
    url = reverse(f"admin:crm_{model}_changelist") + "?all="  # every row on one page

    def add_rows(n):
        for _ in range(n):
            customer = factories.CustomerFactory(consultant=sales)
            factories.FollowUpFactory(customer=customer)
            factories.EnrollmentFactory(customer=customer)
            factories.PaymentFactory(customer=customer)

    add_rows(5)
    small = queries_for(client, django_assert_max_num_queries, url, 40)
    add_rows(95)
    large = queries_for(client, django_assert_max_num_queries, url, small)
    assert large == small
