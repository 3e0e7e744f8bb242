"""The dashboard at 1,000 and at 200,000 leads (2.5 follow-ups each: 500,000 at the large size).

The whole front page, as a sales manager (every lead) and as a salesperson (2% of them), through the test
client: server time and query count at both sizes. The query count must not grow with the data.
"""

import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings

from bench.measure import table, timed
from crm import roles
from crm.models import Course, Customer, Payment

FOLLOW_UPS_PER_LEAD = 2.5


def bench_manager():
    user, created = get_user_model().objects.get_or_create(username="bench-manager", defaults={"is_staff": True})
    if created:
        user.groups.add(Group.objects.get(name=roles.SALES_MANAGER))
    return user


def add_payments():
    """A payment for every fifth enrolled lead that has none, ten days after the lead came in."""
    course, _ = Course.objects.get_or_create(name="Bench course", defaults={"price": Decimal("9800"), "period": 12})
    paid = Payment.objects.values("customer_id")
    enrolled = (
        Customer.objects.filter(status=Customer.Status.ENROLLED)
        .exclude(pk__in=paid)
        .values_list("pk", "consultant_id", "created_at")
    )
    Payment.objects.bulk_create(
        [
            Payment(
                customer_id=pk,
                course=course,
                amount=Decimal("9800.00"),
                consultant_id=consultant_id,
                paid_at=created_at + datetime.timedelta(days=10),
            )
            for pk, consultant_id, created_at in enrolled.iterator()
            if pk % 5 == 0
        ],
        batch_size=5000,
    )


def run(quick: bool = False):
    sizes = [1_000, 20_000] if quick else [1_000, 200_000]
    users = {}
    results = {}
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        for size in sizes:
            call_command(
                "generate_customers",
                total=size,
                follow_ups_per_customer=FOLLOW_UPS_PER_LEAD,
                shares=0,
                stdout=open("/dev/null", "w"),
            )
            add_payments()
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            users = {"sales manager (all leads)": bench_manager()}
            users["salesperson (2% of leads)"] = get_user_model().objects.get(username="bench-sales-000")
            for label, user in users.items():
                client = Client()
                client.force_login(user)

                def load(client=client):
                    response = client.get("/admin/")
                    assert response.status_code == 200, response.status_code

                results[(label, size)] = timed(load, repeat=5, warmup=1)
            follow_ups = connection.cursor()
            follow_ups.execute("SELECT COUNT(*) FROM crm_followup")
            results[("follow-ups", size)] = follow_ups.fetchone()[0]
    rows = []
    for label in users:
        (small_t, small_q), (large_t, large_q) = results[(label, sizes[0])], results[(label, sizes[1])]
        rows.append(
            [label, f"{small_t * 1000:.1f}", f"{large_t * 1000:.1f}", f"{large_t / small_t:.1f}", small_q, large_q]
        )
    table(
        f"Dashboard (whole front page) at {sizes[0]:,} leads / {results[('follow-ups', sizes[0])]:,} follow-ups and "
        f"{sizes[1]:,} leads / {results[('follow-ups', sizes[1])]:,} follow-ups (goal: same queries at both sizes)",
        ["viewer", f"ms@{sizes[0]:,}", f"ms@{sizes[1]:,}", "ratio", "queries", "queries"],
        rows,
    )
