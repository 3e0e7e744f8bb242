"""Generate many customers for benchmarks: `generate_customers --total 200000`.

Rows are spread evenly over `--salespeople` consultants (50 by default, so each owns 2%). It only ever adds
rows up to the total, so one database can grow from 10,000 to 200,000 between measurements. Bench rows skip
history on purpose: it measures reads, and history would only slow the set-up.
"""

import datetime
import random

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from guardian.models import UserObjectPermission

from crm import roles
from crm.models import Customer, CustomerUserObjectPermission, FollowUp

BATCH = 5000


def bench_salespeople(count: int):
    User = get_user_model()
    group = Group.objects.get(name=roles.SALES)
    users = []
    for i in range(count):
        user, created = User.objects.get_or_create(username=f"bench-sales-{i:03d}", defaults={"is_staff": True})
        if created:
            user.groups.add(group)
        users.append(user)
    return users


class Command(BaseCommand):
    help = "Add generated customers (and optionally follow-ups and guardian grants) up to a total, for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--total", type=int, required=True)
        parser.add_argument("--salespeople", type=int, default=50)
        parser.add_argument("--follow-ups-per-customer", type=float, default=0.0)
        parser.add_argument("--shares", type=int, default=20, help="customers of others shared with salesperson 0")
        parser.add_argument(
            "--generic-grants",
            action="store_true",
            help="also give each owner a guardian generic-table permission on each customer (guardian's default way)",
        )
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, total, salespeople, follow_ups_per_customer, shares, generic_grants, seed, **options):
        rng = random.Random(seed + Customer.objects.count())
        users = bench_salespeople(salespeople)
        start = Customer.objects.count()
        now = timezone.now()
        # Creation dates spread over two years, as a school's real lead table has them: keep ours, not "now".
        # Follow-ups too: each some time after its lead came in.
        created_at = [Customer._meta.get_field("created_at"), FollowUp._meta.get_field("created_at")]
        for field in created_at:
            field.auto_now_add = False
        try:
            for first in range(start, total, BATCH):
                self.batch(first, min(first + BATCH, total), users, rng, now, follow_ups_per_customer, generic_grants)
        finally:
            for field in created_at:
                field.auto_now_add = True
        self.shares(users, shares)
        self.stdout.write(f"{Customer.objects.count()} customers, {FollowUp.objects.count()} follow-ups")

    def batch(self, first, last, users, rng, now, follow_ups_per_customer, generic_grants):
        sources = [value for value, _ in Customer.Source.choices]
        statuses = [value for value, _ in Customer.Status.choices]
        rows = [
            Customer(
                name=f"Lead {n}",
                phone=f"+86135{n:08d}",
                source=sources[n % len(sources)],
                status=statuses[rng.randrange(len(statuses))],
                consultant=users[n % len(users)],
                created_at=now - datetime.timedelta(minutes=rng.randrange(2 * 365 * 24 * 60)),
            )
            for n in range(first, last)
        ]
        with transaction.atomic():
            created = Customer.objects.bulk_create(rows)
            if follow_ups_per_customer:
                self.follow_ups(created, follow_ups_per_customer, rng, now)
            if generic_grants:
                self.generic_grants(created)

    def follow_ups(self, customers, per_customer, rng, now):
        rows = []
        for customer in customers:
            count = int(per_customer) + (rng.random() < per_customer % 1)
            for _ in range(count):
                rows.append(
                    FollowUp(
                        customer=customer,
                        consultant_id=customer.consultant_id,
                        content="Called.",
                        next_follow_up=timezone.localdate(now + datetime.timedelta(days=rng.randrange(-30, 30))),
                        created_at=customer.created_at + (now - customer.created_at) * rng.random(),
                    )
                )
        FollowUp.objects.bulk_create(rows, batch_size=BATCH)
        # bulk_create sends no signals: the customers' follow-up summary is set here, for the batch at once.
        Customer.objects.filter(pk__in=[customer.pk for customer in customers]).refresh_follow_up_summary()

    def generic_grants(self, customers):
        from django.contrib.contenttypes.models import ContentType

        content_type = ContentType.objects.get_for_model(Customer)
        permission = Permission.objects.get(content_type=content_type, codename="change_customer")
        UserObjectPermission.objects.bulk_create(
            [
                UserObjectPermission(
                    user_id=c.consultant_id, permission=permission, content_type=content_type, object_pk=str(c.pk)
                )
                for c in customers
            ],
            batch_size=BATCH,
        )

    def shares(self, users, count):
        """A few customers of others shared with salesperson 0, so the shared branch of the query is exercised."""
        focus = users[0]
        permission = Permission.objects.get(content_type__app_label="crm", codename="change_customer")
        already = CustomerUserObjectPermission.objects.filter(user=focus).count()
        others = Customer.objects.exclude(consultant=focus).order_by("pk")[already : already + max(0, count - already)]
        CustomerUserObjectPermission.objects.bulk_create(
            [CustomerUserObjectPermission(user=focus, permission=permission, content_object=c) for c in others],
            ignore_conflicts=True,
        )
