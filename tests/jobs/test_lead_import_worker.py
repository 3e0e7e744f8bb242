"""Big imports in a real Celery worker process over Redis: read, previewed, confirmed; and a worker killed in the
middle of confirming, which must leave nothing written, the import failed in words, and a retry that works."""

import io
import json
import time

import psycopg
import pytest
from django.db import connection
from django.urls import reverse

from crm.models import Customer, LeadImport
from crm.services.lead_import_jobs import confirm_lead_import, read_lead_import
from tests import factories
from tests.jobs.worker import Worker

pytestmark = pytest.mark.django_db(transaction=True)  # the worker reads what the test committed
STALE_SECONDS = 5
COURSE_LINKS = Customer.consult_courses.through._meta.db_table


@pytest.fixture
def importing(broker, settings, client, sales):
    broker(read_lead_import)
    broker(confirm_lead_import)
    settings.CRM_IMPORT_BACKGROUND_ROWS = 10
    settings.CRM_IMPORT_STALE_SECONDS = STALE_SECONDS
    factories.CourseFactory(name="Python")
    client.force_login(sales)
    return client


def start_worker(tmp_path, name: str) -> Worker:
    folder = tmp_path / name
    folder.mkdir()
    return Worker(folder, CRM_IMPORT_STALE_SECONDS=str(STALE_SECONDS))


def upload(client, rows: int) -> str:
    text = "姓名,电话,咨询课程\n" + "".join(f"学生{i},1391111{i:04d},Python\n" for i in range(rows))
    file = io.BytesIO(text.encode())
    file.name = "leads.csv"
    response = client.post(reverse("admin:crm_customer_import"), {"file": file})
    assert response.status_code == 302
    return response["Location"]


def status(client, page: str) -> dict:
    return json.loads(client.get(page + "status/").content)


def wait_for(check, what: str, *workers: Worker, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.3)
    states = list(LeadImport.objects.values_list("status", "attempt", "rows_read", "failure"))
    logs = "\n".join(worker.log.read_text() for worker in workers)
    raise AssertionError(f"not within {seconds}s: {what}\nimports: {states}\nworker log:\n{logs}")


def test_a_worker_reads_and_imports_a_big_file(importing, tmp_path, sales):
    client = importing
    worker = start_worker(tmp_path, "worker")
    try:
        page = upload(client, 300)
        wait_for(lambda: status(client, page)["status"] == "previewed", "the preview", worker)
        assert 'data-count="new">300<' in client.get(page).content.decode()
        assert not Customer.objects.exists()
        client.post(page, {"confirm": "1"})
        wait_for(lambda: status(client, page)["status"] == "imported", "the import", worker)
    finally:
        worker.stop()
    assert Customer.objects.filter(consultant=sales).count() == 300
    assert Customer.consult_courses.through.objects.count() == 300
    assert "crm.tasks.confirm_lead_import" in worker.log.read_text()


def test_a_worker_killed_while_confirming_leaves_nothing_and_the_import_can_be_retried(importing, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("holding the worker mid-confirm takes a table lock of PostgreSQL's (CI runs this on it)")
    client = importing
    first = start_worker(tmp_path, "first")
    page = upload(client, 300)
    wait_for(lambda: status(client, page)["status"] == "previewed", "the preview", first)

    # The test holds the course links' table, so the worker's confirm stops there, its customers written but not
    # committed; then the worker is killed.
    settings = connection.settings_dict
    holder = psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"],
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
    )
    holder.execute(f"LOCK TABLE {COURSE_LINKS} IN ACCESS EXCLUSIVE MODE")
    try:
        client.post(page, {"confirm": "1"})
        waiting = (
            "SELECT pid FROM pg_stat_activity "
            f"WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO {COURSE_LINKS}%%'"
        )

        def blocked_pid():
            with connection.cursor() as cursor:
                cursor.execute(waiting)
                row = cursor.fetchone()
            return row and row[0]

        pid = wait_for(blocked_pid, "the worker held mid-confirm", first)
        first.process.kill()
        first.process.wait(timeout=30)
    finally:
        holder.rollback()
        holder.close()

    def gone():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
            return cursor.fetchone()[0] == 0

    wait_for(gone, "the killed worker's database session to end", first)
    assert not Customer.objects.exists()  # its transaction never committed

    time.sleep(STALE_SECONDS + 1)
    failed = status(client, page)
    assert failed["status"] == "failed"
    assert failed["failure"].startswith("The worker stopped answering while it was importing the leads")

    second = start_worker(tmp_path, "second")
    try:
        client.post(page, {"retry": "1"})
        wait_for(lambda: status(client, page)["status"] == "previewed", "the retry's preview", second)
        client.post(page, {"confirm": "1"})
        wait_for(lambda: status(client, page)["status"] == "imported", "the retry's import", second)
    finally:
        second.stop()
    assert Customer.objects.count() == 300 and Customer.consult_courses.through.objects.count() == 300
