"""Lead import at scale: a generated CSV (10% duplicates within the file, 20% phones of existing customers)
against 100,000 existing customers.

Ours: crm.services.lead_import, preview + confirm, as the admin runs them.
(a) django-import-export's default row-by-row import of the same file (a ModelResource keyed by phone).
(b) a raw executemany INSERT of the same rows into the same table (no validation, conflicts ignored).
Each path runs in a transaction that is rolled back, so all three start from the same database; ours and (b)
are medians of three runs.
Memory: Python's peak allocations (tracemalloc) of our import, for the file and for a file twice as long
(without the debug query log).
On PostgreSQL also (c), the database's own floor for a 50,000-row file: COPY of the CSV into a scratch table
and one INSERT … SELECT DISTINCT ON (phone) … ON CONFLICT DO NOTHING, the phone reduced to its digits in SQL
so that repeats and existing customers are skipped as ours skips them; no other validation, no history.
Ours and (c) are medians of three runs, each from a vacuumed database.
"""

import csv
import random
import statistics
import time
import tracemalloc
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings
from import_export import resources
from tablib import Dataset

from bench.measure import table
from crm import roles
from crm.models import Course, Customer, LeadImport
from crm.services import lead_import

ROOT = Path(__file__).resolve().parent.parent
SPELLINGS = ["{d}", "+86 {d}", "{a} {b} {c}", "{a}-{b}-{c}", "86{d}"]


class Rollback(Exception):
    pass


def write_leads_csv(path: Path, rows: int, existing: int, seed: int = 7) -> None:
    """70% new phones, 20% phones of existing customers, 10% repeats of earlier rows, in varied spellings."""
    rng = random.Random(seed)
    courses = list(Course.objects.values_list("name", flat=True)) or [""]
    written = []
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["姓名", "电话", "邮箱", "来源", "咨询课程", "备注"])
        for n in range(rows):
            roll = rng.random()
            if roll < 0.1 and written:
                digits = rng.choice(written)
            elif roll < 0.3:
                digits = f"135{rng.randrange(existing):08d}"
            else:
                digits = f"136{n:08d}"
                written.append(digits)
            phone = rng.choice(SPELLINGS).format(d=digits, a=digits[:3], b=digits[3:7], c=digits[7:])
            out.writerow([f"Lead {n}", phone, f"lead{n}@example.com", "网站", rng.choice(courses), "fair 2026"])


def run_ours(path: Path, manager) -> float:
    start = time.perf_counter()
    with path.open("rb") as upload:
        preview = lead_import.lead_import_preview(
            upload=upload, by=manager, owner_mode=LeadImport.OwnerMode.ROUND_ROBIN, name=path.name
        )
    lead_import.lead_import_confirm(lead_import=preview, by=manager)
    return time.perf_counter() - start


class DefaultResource(resources.ModelResource):
    """import-export as its docs set it up: match on phone, save row by row."""

    class Meta:
        model = Customer
        import_id_fields = ["phone"]
        fields = ["name", "phone", "email", "source", "content"]

    owner_id = None

    def before_save_instance(self, instance, row, **kwargs):
        if not instance.consultant_id:
            instance.consultant_id = self.owner_id  # the one column our model requires that the file lacks


def run_import_export(path: Path, owner) -> float:
    start = time.perf_counter()
    with path.open(encoding="utf-8") as f:
        dataset = Dataset().load(f.read(), format="csv")
    dataset.headers = ["name", "phone", "email", "source", "courses", "content"]
    resource = DefaultResource()
    resource.owner_id = owner.pk
    result = resource.import_data(dataset, dry_run=False, raise_errors=False)
    elapsed = time.perf_counter() - start
    assert result.totals, "import-export imported nothing"
    return elapsed


def run_raw(path: Path, owner) -> float:
    q = connection.ops.quote_name
    sql = (
        f"INSERT INTO {q(Customer._meta.db_table)} (name, phone, email, source, content, qq, wechat, status, "
        "consultant_id, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, '', '', 'new', %s, %s, %s) "
        "ON CONFLICT DO NOTHING"
    )
    start = time.perf_counter()
    now = time.strftime("%Y-%m-%d %H:%M:%S+00:00")
    with path.open(encoding="utf-8") as f:
        rows = csv.reader(f)
        next(rows)
        params = [
            (name, phone, email, source, content, owner.pk, now, now)
            for name, phone, email, source, _c, content in rows
        ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    return time.perf_counter() - start


def run_postgres_copy(path: Path, owner) -> float:
    """(c): COPY the CSV into a scratch table, then one INSERT … SELECT of one row per phone."""
    customer = connection.ops.quote_name(Customer._meta.db_table)
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_leads (name text, phone text, email text, source text, courses text, "
            "content text)"  # dropped with the transaction's rollback
        )
        with path.open("rb") as f, cursor.copy("COPY bench_leads FROM STDIN (FORMAT csv, HEADER true)") as copy:
            while data := f.read(1 << 16):
                copy.write(data)
        cursor.execute(
            f"INSERT INTO {customer} (name, phone, email, source, content, qq, wechat, status, consultant_id, "
            "created_at, updated_at) "
            "SELECT DISTINCT ON (phone) name, phone, email, source, content, '', '', 'new', %s, now(), now() "
            "FROM (SELECT name, '+86' || right(regexp_replace(phone, '[^0-9]', '', 'g'), 11) AS phone, email, "
            "source, content FROM bench_leads) leads ORDER BY phone ON CONFLICT DO NOTHING",
            [owner.pk],
        )
    return time.perf_counter() - start


def rolled_back(fn, *args):
    """Run `fn` inside a transaction that is then undone, so the next path meets the same data."""
    result = None
    try:
        with transaction.atomic():
            result = fn(*args)
            raise Rollback
    except Rollback:
        pass
    return result


def peak_memory(fn, *args) -> int:
    """Without Django's debug query log: with DEBUG on it keeps the text of the last 9,000 statements, and the
    import's batch statements are long, so the figure would be the log's size more than the import's."""
    tracemalloc.start()
    try:
        with override_settings(DEBUG=False):
            rolled_back(fn, *args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run(quick: bool = False):
    existing, rows = (10_000, 10_000) if quick else (100_000, 100_000)
    call_command("generate_customers", total=existing, stdout=open("/dev/null", "w"))
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # courses and a manager
    manager = get_user_model().objects.get(username="manager")
    owner = get_user_model().objects.filter(groups=Group.objects.get(name=roles.SALES)).first()
    folder = ROOT / "var" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    single, double = folder / f"leads-{rows}.csv", folder / f"leads-{2 * rows}.csv"
    write_leads_csv(single, rows, existing)
    write_leads_csv(double, 2 * rows, existing)

    ours = statistics.median(rolled_back(run_ours, single, manager) for _ in range(3))
    raw = statistics.median(rolled_back(run_raw, single, owner) for _ in range(3))
    default = rolled_back(run_import_export, single, owner)  # minutes at this size: once is enough
    rate = lambda seconds: f"{rows / seconds:,.0f}"  # noqa: E731
    table(
        f"Lead import of a {rows:,}-row CSV (10% duplicates in the file, 20% existing) into {existing:,} customers "
        "(goals: ours >= 10x (a), ours within 3x of (b))",
        ["path", "seconds", "rows/s", "ours is"],
        [
            ["ours: preview + confirm", f"{ours:.2f}", rate(ours), "1.0x"],
            ["(a) import-export default", f"{default:.2f}", rate(default), f"{default / ours:.1f}x faster"],
            ["(b) raw executemany insert", f"{raw:.2f}", rate(raw), f"{ours / raw:.1f}x slower"],
        ],
    )
    small, large = peak_memory(run_ours, single, manager), peak_memory(run_ours, double, manager)
    print(
        f"  peak Python memory of our import: {small / 2**20:.1f} MiB at {rows:,} rows, "
        f"{large / 2**20:.1f} MiB at {2 * rows:,} rows: x{large / small:.2f} when the file doubles (goal <= 1.5)"
    )
    if connection.vendor == "postgresql":
        compare_with_copy(folder, existing, manager, owner, 10_000 if quick else 50_000)


def compare_with_copy(folder: Path, existing: int, manager, owner, rows: int) -> None:
    path = folder / f"leads-{rows}.csv"
    write_leads_csv(path, rows, existing)
    ours = statistics.median(vacuumed(run_ours, path, manager) for _ in range(3))
    copy = statistics.median(vacuumed(run_postgres_copy, path, owner) for _ in range(3))
    slower = f"{ours / copy:.1f}x slower"
    print()
    table(
        f"Lead import of a {rows:,}-row CSV (10% duplicates in the file, 20% existing) into {existing:,} customers "
        "on PostgreSQL (goal: ours within 5x of (c))",
        ["path", "seconds", "rows/s", "ours is"],
        [
            ["ours: preview + confirm", f"{ours:.2f}", f"{rows / ours:,.0f}", "1.0x"],
            ["(c) COPY + INSERT … SELECT DISTINCT ON", f"{copy:.2f}", f"{rows / copy:,.0f}", slower],
        ],
    )


def vacuumed(fn, *args) -> float:
    """`fn` rolled back, starting from a vacuumed and analyzed database: each rolled-back run leaves dead rows that
    autovacuum would clear between real imports, and that would otherwise slow every later run."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return rolled_back(fn, *args)
