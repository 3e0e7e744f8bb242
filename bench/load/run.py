"""`make load`: data on PostgreSQL, the `make prod` stack (gunicorn, Celery worker and beat), then locust, headless,
at each number of users for LOAD_SECONDS, printing requests/s, p50/p95/p99 and errors per endpoint.

Variables: LOAD_CUSTOMERS (default 200000; follow-ups 2.5 each), LOAD_USERS (default "10 50"), LOAD_SECONDS (60),
LOAD_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/crm_load), PORT (8089 by default).
Every request comes from 127.0.0.1, so the public pages' per-address limit is lifted for the run.
"""

import csv
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
LOCUST = os.environ.get("LOCUST", str(Path(sys.executable).with_name("locust")))  # `make load` gives its own venv's
SALESPEOPLE = 50


def manage(env, *args):
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


PREPARE = """
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import NoReverseMatch, reverse
from crm import roles
from crm.models import ClassGrade, Customer, Enrollment
from crm.services import enrollment as enrollments
User = get_user_model()
manager, _ = User.objects.get_or_create(username="bench-manager", defaults={"is_staff": True})
manager.groups.add(Group.objects.get(name=roles.SALES_MANAGER))
for user in [manager, *User.objects.filter(username__startswith="bench-sales-")]:
    user.set_password("load-test-2026"); user.save()
sales = User.objects.get(username="bench-sales-000")
paths = []
for customer, class_grade in zip(Customer.objects.filter(consultant=sales, enrollments__isnull=True)[:5],
                                 ClassGrade.objects.all()[:5]):
    paths.append(enrollments.enrollment_start(customer=customer, class_grade=class_grade, by=sales).get_public_url())
print("ENROLL", " ".join(paths))
for name in ("catalogue", "inquiry"):
    try:
        print(name.upper(), reverse(name))
    except NoReverseMatch:
        print(name.upper(), "")
"""


def main():
    customers = int(os.environ.get("LOAD_CUSTOMERS", "200000"))
    users = [int(n) for n in os.environ.get("LOAD_USERS", "10 50").split()]
    seconds = int(os.environ.get("LOAD_SECONDS", "60"))
    port = os.environ.get("PORT", "8089")
    env = {
        **os.environ,
        "DATABASE_URL": os.environ.get("LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm_load"),
    }
    env.update(PORT=port, CRM_PUBLIC_RATE_LIMIT_PER_MINUTE="1000000", DJANGO_LOG_LEVEL="ERROR")
    sys.path.insert(0, str(ROOT))
    from config import prod

    env.setdefault("DJANGO_SECRET_KEY", prod.secret_key())  # the enrollment links are signed with the server's key

    prod.ensure_database(env["DATABASE_URL"])
    manage(env, "migrate", "--no-input", "-v", "0")
    manage(env, "seed_demo")
    print(
        manage(
            env,
            "generate_customers",
            "--total",
            str(customers),
            "--salespeople",
            str(SALESPEOPLE),
            "--follow-ups-per-customer",
            "2.5",
        ).strip(),
        "(the size of this run)",
        flush=True,
    )
    found = dict(
        line.split(" ", 1)
        for line in manage(env, "shell", "-c", PREPARE).splitlines()
        if line.split(" ", 1)[0] in ("ENROLL", "CATALOGUE", "INQUIRY")
    )
    env.update(
        LOAD_ENROLLMENT_PATHS=found.get("ENROLL", ""),
        LOAD_CATALOGUE_PATH=found.get("CATALOGUE", "").strip(),
        LOAD_INQUIRY_PATH=found.get("INQUIRY", "").strip(),
        LOAD_SALESPEOPLE="10",
    )
    for page in ("catalogue", "inquiry"):
        if not env[f"LOAD_{page.upper()}_PATH"]:
            print(f"Note: no URL named {page!r} in this version: its visitors are left out.")
    server = subprocess.Popen(
        [PYTHON, "-m", "config.prod"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        wait_until_up(port, server)
        for count in users:
            run_locust(env, port, count, seconds)
    finally:
        server.terminate()
        server.wait(timeout=60)


def wait_until_up(port, server, seconds=300):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("make prod stopped before it served")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise SystemExit("make prod did not answer /health/")


def run_locust(env, port, users, seconds):
    with tempfile.TemporaryDirectory() as folder:
        prefix = Path(folder) / "load"
        subprocess.run(
            [
                LOCUST,
                "-f",
                str(ROOT / "bench" / "load" / "locustfile.py"),
                "--headless",
                "--only-summary",
                "-u",
                str(users),
                "-r",
                str(max(1, users // 5)),
                "-t",
                f"{seconds}s",
                "--host",
                f"http://127.0.0.1:{port}",
                "--csv",
                str(prefix),
                "--loglevel",
                "ERROR",
            ],
            cwd=ROOT,
            env=env,
            check=False,
            stdout=subprocess.DEVNULL,
        )
        rows = list(csv.DictReader((prefix.parent / "load_stats.csv").open()))
    print(f"\n{users} users, {seconds} s")
    print("| method | endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['Type']} | {row['Name']} | {row['Request Count']} | {float(row['Requests/s']):.2f} | "
            f"{row['50%']} | {row['95%']} | {row['99%']} | {row['Failure Count']} |"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
