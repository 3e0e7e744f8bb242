"""Big imports through the worker, as the importer sees them: a progress page, the preview when it is ready, the
invalid rows as a CSV, confirming in the worker, and a failed run told in words and tried again.

The tasks run inline here, when the test releases them (the commit hooks); tests/jobs/ runs them in a real worker.
"""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Customer, LeadImport, LeadImportRow
from crm.phones import INVALID_PHONE
from crm.services import lead_import_jobs as jobs
from tests import factories

pytestmark = pytest.mark.django_db
IMPORT_URL = reverse("admin:crm_customer_import")
Status = LeadImport.Status


@pytest.fixture(autouse=True)
def small_threshold(settings):
    settings.CRM_IMPORT_BACKGROUND_ROWS = 3


def lead_file(rows: int, bad: int = 0) -> io.BytesIO:
    lines = ["姓名,电话,QQ"]
    lines += [f"学生{i},1390000{i:04d}," for i in range(rows)]
    lines += [f"坏行{i},12345,abc" for i in range(bad)]
    data = io.BytesIO(("\n".join(lines) + "\n").encode())
    data.name = "big.csv"
    return data


def start(client, file, django_capture_on_commit_callbacks):
    """Upload through the form; the worker's task is held back (returned) until the test runs it."""
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(IMPORT_URL, {"file": file})
    assert response.status_code == 302
    return response["Location"], queued


def run(queued):
    for task in queued:
        task()
    queued.clear()


def status(client, page: str) -> dict:
    response = client.get(page + "status/")
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    return json.loads(response.content)


def test_a_big_file_shows_progress_then_its_preview_then_imports_in_the_worker(
    client, sales, django_capture_on_commit_callbacks
):
    client.force_login(sales)
    page, queued = start(client, lead_file(6, bad=2), django_capture_on_commit_callbacks)

    waiting = client.get(page).content.decode()
    assert 'id="import-progress"' in waiting and "import_progress.js" in waiting
    assert "You may leave this page" in waiting and 'id="confirm-import"' not in waiting
    assert status(client, page) | {"percent": 0} == {
        "status": "queued",
        "label": "waiting for the worker",
        "running": True,
        "rows_read": 0,
        "expected_rows": 8,
        "percent": 0,
        "failure": "",
    }
    assert not LeadImportRow.objects.exists()  # nothing read in the request

    run(queued)  # the worker reads the file
    assert status(client, page)["status"] == "previewed" and not status(client, page)["running"]
    preview = client.get(page).content.decode()
    assert 'data-count="new">6<' in preview and 'data-count="invalid">2<' in preview
    assert 'id="confirm-import"' in preview and 'id="import-progress"' not in preview
    assert not Customer.objects.exists()

    with django_capture_on_commit_callbacks() as confirm_queued:
        response = client.post(page, {"confirm": "1"}, follow=True)
    assert "being imported" in response.content.decode() and 'id="import-progress"' in response.content.decode()
    assert status(client, page)["status"] == "confirming" and not Customer.objects.exists()
    with django_capture_on_commit_callbacks() as twice:
        again = client.post(page, {"confirm": "1"}, follow=True)
    assert "already been imported" in again.content.decode() and not twice  # a double click sends no second run

    run(confirm_queued)
    assert status(client, page)["status"] == "imported"
    assert Customer.objects.filter(consultant=sales).count() == 6
    listing = client.get(reverse("admin:crm_leadimport_changelist")).content.decode()
    assert "big.csv" in listing and "imported" in listing and page in listing  # the way back to it


def test_the_invalid_rows_download_as_a_csv_with_row_column_and_reason(
    client, sales, django_capture_on_commit_callbacks
):
    client.force_login(sales)
    page, queued = start(client, lead_file(4, bad=2), django_capture_on_commit_callbacks)
    run(queued)
    assert 'id="invalid-rows-csv"' in client.get(page).content.decode()
    response = client.get(page + "invalid-rows.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")  # Excel on Chinese Windows reads it as UTF-8
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["Row", "Column", "Problem"]
    assert rows[1:] == [
        ["6", "phone", str(INVALID_PHONE)],
        ["6", "QQ", "A QQ number is 5 to 12 digits."],
        ["7", "phone", str(INVALID_PHONE)],
        ["7", "QQ", "A QQ number is 5 to 12 digits."],
    ]


def test_a_silent_worker_fails_the_import_in_words_and_try_again_reads_the_file_anew(
    client, sales, settings, django_capture_on_commit_callbacks
):
    settings.CRM_IMPORT_STALE_SECONDS = 60
    client.force_login(sales)
    page, lost = start(client, lead_file(5), django_capture_on_commit_callbacks)
    lead_import = LeadImport.objects.get()
    LeadImport.objects.update(heartbeat_at=timezone.now() - timedelta(seconds=61))  # no worker took it up

    failed = status(client, page)
    assert failed["status"] == "failed" and not failed["running"]
    assert failed["failure"].startswith("No worker took up the import within 60 seconds")
    shown = client.get(page).content.decode()
    assert "No worker took up the import" in shown and 'id="retry-import"' in shown

    with django_capture_on_commit_callbacks() as queued:
        client.post(page, {"retry": "1"})
    assert status(client, page)["status"] == "queued"
    run(lost)  # the first run's task, delivered late: overtaken by the retry, it does nothing
    assert status(client, page)["status"] == "queued" and not LeadImportRow.objects.exists()
    run(queued)
    lead_import.refresh_from_db()
    assert (lead_import.status, lead_import.new, lead_import.attempt) == (Status.PREVIEWED, 5, 2)


def test_customers_changed_since_the_preview_fail_the_confirm_and_nothing_is_written(
    client, sales, django_capture_on_commit_callbacks
):
    client.force_login(sales)
    page, queued = start(client, lead_file(5), django_capture_on_commit_callbacks)
    run(queued)
    factories.CustomerFactory(phone="+8613900000003", consultant=sales)  # someone added one meanwhile
    with django_capture_on_commit_callbacks() as queued:
        client.post(page, {"confirm": "1"})
    run(queued)
    failed = status(client, page)
    assert failed["status"] == "failed"
    assert "changed since the preview" in failed["failure"] and "Nothing was imported" in failed["failure"]
    assert Customer.objects.count() == 1 and not LeadImportRow.objects.exists()

    with django_capture_on_commit_callbacks() as queued:
        client.post(page, {"retry": "1"})
    run(queued)
    lead_import = LeadImport.objects.get()
    assert (lead_import.status, lead_import.new, lead_import.unchanged) == (Status.PREVIEWED, 4, 1)


def test_a_file_broken_halfway_fails_in_words_and_stages_nothing(client, sales, django_capture_on_commit_callbacks):
    client.force_login(sales)
    lines = "name,phone\n" + "".join(f"Li {i},1390000{i:04d}\n" for i in range(5)) + 'Wang,"13900001111\n'
    file = io.BytesIO(lines.encode() + b"x" * 200_000)  # an unclosed quote swallows the rest: a cell over the limit
    file.name = "broken.csv"
    page, queued = start(client, file, django_capture_on_commit_callbacks)
    run(queued)
    failed = status(client, page)
    assert failed["status"] == "failed" and "row 7" in failed["failure"]
    assert not LeadImportRow.objects.exists() and not Customer.objects.exists()


def test_cancelling_while_queued_stops_the_worker_before_it_starts(client, sales, django_capture_on_commit_callbacks):
    client.force_login(sales)
    page, queued = start(client, lead_file(5), django_capture_on_commit_callbacks)
    response = client.post(page, {"cancel": "1"}, follow=True)
    assert "cancelled" in response.content.decode()
    run(queued)
    assert LeadImport.objects.get().status == Status.CANCELLED and not LeadImportRow.objects.exists()


def test_a_small_file_is_still_previewed_in_the_request(client, sales, settings):
    settings.CRM_IMPORT_BACKGROUND_ROWS = 5000
    client.force_login(sales)
    response = client.post(IMPORT_URL, {"file": lead_file(5)})
    lead_import = LeadImport.objects.get()
    assert (lead_import.status, lead_import.in_background, lead_import.new) == (Status.PREVIEWED, False, 5)
    assert 'id="confirm-import"' in client.get(response["Location"]).content.decode()


def test_another_user_reaches_no_page_of_an_import_and_changes_nothing(
    client, sales, other_sales, manager, django_capture_on_commit_callbacks
):
    client.force_login(sales)
    page, queued = start(client, lead_file(5, bad=1), django_capture_on_commit_callbacks)
    run(queued)
    for intruder in (other_sales, manager):
        client.force_login(intruder)
        for url in (page, page + "status/", page + "invalid-rows.csv"):
            assert client.get(url).status_code == 404
        for decision in ("confirm", "cancel", "retry"):
            with django_capture_on_commit_callbacks() as sent:
                assert client.post(page, {decision: "1"}).status_code == 404
            assert not sent
    lead_import = LeadImport.objects.get()
    assert (lead_import.status, lead_import.attempt) == (Status.PREVIEWED, 1)
    assert LeadImportRow.objects.count() == 6 and not Customer.objects.exists()


def test_a_task_for_an_import_that_is_gone_or_finished_does_nothing(sales):
    jobs.read_lead_import(123456, 1, "en")  # no such import: nothing to claim
    lead_import = LeadImport.objects.create(created_by=sales, original_name="x.csv", file_format="csv", attempt=1)
    jobs.confirm_lead_import(lead_import.pk, 1, "en")  # previewed in the request, never sent to the worker
    lead_import.refresh_from_db()
    assert lead_import.status == Status.PREVIEWED
