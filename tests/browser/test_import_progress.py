"""A big import in Chromium: the page waits for the worker with a progress bar and turns into the preview by itself
when the worker is done, then waits again while the worker imports. The worker's tasks are held by the test and
run when it says, so the page is seen in each state."""

import pytest

from crm.models import Customer, LeadImport
from crm.services import lead_import_jobs as jobs
from tests.browser.conftest import login

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def held_tasks(monkeypatch, settings):
    settings.CRM_IMPORT_BACKGROUND_ROWS = 10
    held = []
    for task in (jobs.read_lead_import, jobs.confirm_lead_import):
        monkeypatch.setattr(task, "delay", lambda *args, task=task: held.append((task, args)))
    return held


def test_the_import_page_follows_the_worker_without_a_reload(page, sales, held_tasks, tmp_path, screenshot):
    leads = tmp_path / "leads.csv"
    leads.write_text("姓名,电话\n" + "".join(f"学生{i},1392222{i:04d}\n" for i in range(40)), encoding="utf-8")
    login(page, sales.username, "pass-for-tests-1")
    page.goto("/admin/crm/customer/import/")
    page.set_input_files("input[name=file]", str(leads))
    page.click("#import-form button[type=submit]")

    page.wait_for_selector("#import-progress")
    assert page.inner_text("#import-state") == "waiting for the worker"
    assert page.is_visible("#import-bar")
    screenshot(page, "import-waiting-for-the-worker")
    address = page.url

    ((task, args),) = held_tasks
    held_tasks.clear()
    task(*args)  # the worker reads the file; the page polls, then shows the preview by itself
    page.wait_for_selector("#confirm-import", timeout=20_000)
    assert page.url == address and page.inner_text("[data-count=new]") == "40"
    screenshot(page, "import-preview-ready")

    page.click("#confirm-import")
    page.wait_for_selector("#import-progress")
    assert page.inner_text("#import-state") == "importing" and not Customer.objects.exists()
    ((task, args),) = held_tasks
    task(*args)
    page.wait_for_selector("text=This import is imported.", timeout=20_000)
    assert LeadImport.objects.get().status == LeadImport.Status.IMPORTED
    assert Customer.objects.filter(consultant=sales).count() == 40
