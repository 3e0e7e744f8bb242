"""The benches' data: one database grown to a size by `generate_customers`, with payments, analyzed."""

import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import DatabaseError, connection

from crm import roles
from crm.models import Course, Customer, Payment

FOLLOW_UPS_PER_CUSTOMER = 2.5


def grow(total: int, shares: int = 0):
    """Grow the database to `total` customers (2.5 follow-ups each, 50 salespeople owning 2% each), `shares` of
    them shared with the first salesperson; payments added; statistics fresh."""
    call_command(
        "generate_customers",
        total=total,
        follow_ups_per_customer=FOLLOW_UPS_PER_CUSTOMER,
        shares=shares,
        stdout=open("/dev/null", "w"),
    )
    add_payments()
    analyze()


def analyze():
    """Statistics and visibility as autovacuum keeps them in production after a bulk load; then the load's pages
    written out, so the database's background writes of them do not land in the timings that follow."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")
            try:
                cursor.execute("CHECKPOINT")
            except DatabaseError:  # a superuser's or pg_checkpoint's right: without it the timings are noisier
                pass
        else:
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


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
