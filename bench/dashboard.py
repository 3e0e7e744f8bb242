"""The dashboard at 1,000 and at 200,000 leads (2.5 follow-ups each: 500,000 at the large size).

The whole front page, as a sales manager (every lead) and as a salesperson (2% of them), through the test
client: server time and query count at both sizes. The query count must not grow with the data.
"""

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client, override_settings

from bench.data import bench_manager, grow
from bench.measure import table, timed


def run(quick: bool = False):
    sizes = [1_000, 20_000] if quick else [1_000, 200_000]
    users = {}
    results = {}
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        for size in sizes:
            grow(size)
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
