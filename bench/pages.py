"""Every busy page at two sizes: is its server time flat in the data's size?

One database grows from the small size to the large one (2.5 follow-ups per customer, 50 salespeople owning 2%
each); at each size every page is loaded as a salesperson (their leads, 20 shared with them) and as a sales
manager (everyone's), through the test client, 9 times. The ratio large ÷ small is what to read (goal ≤ 1.5), of
the medians and of the best runs (on a machine shared with other work the best run is the steadier figure).
`--scale` adds 1,000,000 customers for the manager's dashboard.
"""

import time

from django.contrib.auth import get_user_model
from django.test import Client, override_settings

from bench.data import FOLLOW_UPS_PER_CUSTOMER, bench_manager, grow
from bench.measure import table, timed
from crm.models import Customer

REPEAT = 9
SALESPERSON = "bench-sales-000"


def spoken(phone: str) -> str:
    """A stored +86 mobile as a person types it into the search box: "135 0000 1234"."""
    digits = phone.removeprefix("+86")
    return f"{digits[:3]} {digits[3:7]} {digits[7:]}"


def pages(user) -> dict[str, str]:
    """Each page's URL for `user` (the phone searched is of one of their own leads)."""
    own = Customer.objects.filter(consultant=user) if user.username == SALESPERSON else Customer.objects.all()
    phone = own.order_by("pk").values_list("phone", flat=True)[6]
    return {
        "customer list": "/admin/crm/customer/",
        "customer search by phone": f"/admin/crm/customer/?q={spoken(phone)}",
        "follow-up list": "/admin/crm/followup/",
        "calls to make (due or overdue)": "/admin/crm/followup/?due=now",
        "dashboard": "/admin/",
    }


def measure(size: int, users: dict, only: set | None = None) -> dict:
    results = {}
    for role, user in users.items():
        client = Client()
        client.force_login(user)
        for page, url in pages(user).items():
            if only and (page, role) not in only:
                continue

            def load(client=client, url=url):
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)

            results[(page, role)] = timed(load, repeat=REPEAT, warmup=1)
            results[(page, role, "best")] = best_of(load, REPEAT)
    return results


def best_of(load, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        load()
        times.append(time.perf_counter() - start)
    return min(times)


def run(quick: bool = False, scale: bool = False):
    sizes = [2_000, 20_000] if quick else [10_000, 200_000]
    figures = {}
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        for size in sizes:
            grow(size, shares=20)
            users = {"salesperson": get_user_model().objects.get(username=SALESPERSON), "manager": bench_manager()}
            figures[size] = measure(size, users)
        if scale:
            grow(1_000_000, shares=20)
            figures[1_000_000] = measure(1_000_000, {"manager": bench_manager()}, only={("dashboard", "manager")})
    small, large = sizes
    rows = []
    for key in [key for key in figures[small] if len(key) == 2]:
        page, role = key
        (small_t, small_q), (large_t, large_q) = figures[small][key], figures[large][key]
        small_b, large_b = figures[small][(page, role, "best")], figures[large][(page, role, "best")]
        rows.append(
            [
                page,
                role,
                f"{small_t * 1000:.0f}",
                f"{large_t * 1000:.0f}",
                f"{large_t / small_t:.2f}",
                f"{small_b * 1000:.0f}",
                f"{large_b * 1000:.0f}",
                f"{large_b / small_b:.2f}",
                small_q,
                large_q,
            ]
        )
    table(
        f"Pages at {small:,} and {large:,} customers ({FOLLOW_UPS_PER_CUSTOMER} follow-ups each), server time of "
        f"{REPEAT} runs: median and best (goal: ratio <= 1.5)",
        ["page", "as", f"med@{small:,}", f"med@{large:,}", "ratio", f"best@{small:,}", f"best@{large:,}", "ratio"]
        + ["queries", "queries"],
        rows,
    )
    if scale:
        base_t, base_b = figures[small][("dashboard", "manager")][0], figures[small][("dashboard", "manager", "best")]
        huge_t, huge_q = figures[1_000_000][("dashboard", "manager")]
        huge_b = figures[1_000_000][("dashboard", "manager", "best")]
        print(
            f"  manager's dashboard at 1,000,000 customers: median {huge_t * 1000:.0f} ms ({huge_t / base_t:.2f}x its "
            f"time at {small:,}), best {huge_b * 1000:.0f} ms ({huge_b / base_b:.2f}x) (goal: <= 2), {huge_q} queries"
        )
