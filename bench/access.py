"""Row-level access at scale: one salesperson's customer changelist at 10,000 and 200,000 customers.

Ours: the indexed owner column OR'd with explicit shares (guardian direct-FK table), in crm/access.py.
Baseline: guardian's default path, get_objects_for_user over its generic tables, the admin queryset as klass,
with a generic grant for every customer's owner (as guardian's own owner-only admin would set up).
"""

from contextlib import contextmanager

from django.contrib.admin import ModelAdmin
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from guardian.shortcuts import get_objects_for_user

from bench.measure import table, timed
from crm.admin.customer import CustomerAdmin
from crm.models import CustomerUserObjectPermission


@contextmanager
def guardian_generic_path():
    """The customer admin filtered by guardian's generic tables instead of crm.access."""

    def get_queryset(self, request):
        queryset = ModelAdmin.get_queryset(self, request)
        return get_objects_for_user(request.user, "crm.change_customer", klass=queryset, accept_global_perms=False)

    original = CustomerAdmin.get_queryset
    CustomerAdmin.get_queryset = get_queryset
    CustomerUserObjectPermission.enabled = False  # guardian then falls back to its generic tables
    try:
        yield
    finally:
        CustomerAdmin.get_queryset = original
        del CustomerUserObjectPermission.enabled


def analyze():
    """Fresh planner statistics, as a production database keeps them (autovacuum) after bulk loads."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def measure_changelist(client, repeat=7, warmup=1):
    def load():
        response = client.get("/admin/crm/customer/")
        assert response.status_code == 200, response.status_code

    return timed(load, repeat=repeat, warmup=warmup)


def run(quick: bool = False):
    sizes = [2_000, 20_000] if quick else [10_000, 200_000]
    results = {"ours": [], "guardian": []}
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        for size in sizes:
            call_command("generate_customers", total=size, generic_grants=True, stdout=open("/dev/null", "w"))
            analyze()
            client = Client()
            client.force_login(get_user_model().objects.get(username="bench-sales-000"))
            results["ours"].append(measure_changelist(client))
            with guardian_generic_path():  # slow enough at scale that three runs tell the story
                results["guardian"].append(measure_changelist(client, repeat=3, warmup=0))
    rows = []
    for name, label in (("ours", "crm.access (owner column + direct-FK shares)"), ("guardian", "guardian generic")):
        (small_t, small_q), (large_t, large_q) = results[name]
        rows.append(
            [label, f"{small_t * 1000:.1f}", f"{large_t * 1000:.1f}", f"{large_t / small_t:.2f}", small_q, large_q]
        )
    table(
        f"Customer changelist of a salesperson owning 2% of the customers, at {sizes[0]:,} and {sizes[1]:,} "
        "customers (goal for ours: ratio <= 1.5, same queries)",
        ["path", f"ms@{sizes[0]:,}", f"ms@{sizes[1]:,}", "ratio", "queries", "queries"],
        rows,
    )
    ours, theirs = results["ours"][1][0], results["guardian"][1][0]
    print(f"  at {sizes[1]:,} customers guardian's generic path takes {theirs / ours:.1f}x the time of ours")
