"""Not inline: the enrollment link's email goes through Redis to a separate Celery worker process, which sends it."""

import os
import time

import pytest
import redis
from celery import Celery
from django.urls import reverse

from crm.emails import deliver
from crm.services import enrollment as enrollments
from tests import factories
from tests.jobs.worker import BROKER_URL, Worker


@pytest.fixture
def broker(monkeypatch):
    """crm.emails.deliver is sent to Redis (database 5, emptied first) by an app of the test's own, so the
    project's app (inline in tests) is left untouched; the worker runs the project's app."""
    try:
        redis.Redis.from_url(BROKER_URL).flushdb()
    except redis.ConnectionError:
        if os.environ.get("CI"):  # CI starts Redis (.ci/run): a missing one is a failure there
            raise
        pytest.skip(f"no Redis at {BROKER_URL}")
    sender = Celery("test-sender", broker=BROKER_URL, set_as_current=False)
    monkeypatch.setattr(deliver, "delay", lambda **kwargs: sender.send_task(deliver.name, kwargs=kwargs))
    yield
    sender.close()


@pytest.mark.django_db(transaction=True)  # the worker reads what the test committed
def test_a_worker_process_sends_the_queued_email(broker, tmp_path, make_user, client):
    outbox = tmp_path / "outbox"
    worker = Worker(tmp_path, DJANGO_EMAIL_URL=f"filemail:///{outbox}")
    try:
        sales = make_user("sales", "sales-w")
        customer = factories.CustomerFactory(consultant=sales, email="student@example.com", name="Worker Li")
        enrollment = enrollments.enrollment_start(
            customer=customer, class_grade=factories.ClassGradeFactory(), by=sales
        )
        client.force_login(sales)
        response = client.post(reverse("admin:crm_enrollment_send_link", args=[enrollment.pk]), follow=True)
        assert response.status_code == 200 and "queued" in response.content.decode()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (outbox.exists() and any(outbox.iterdir())):
            time.sleep(0.2)
        (sent,) = outbox.iterdir()
        text = sent.read_text()
        assert "To: student@example.com" in text and "Worker Li" in text
        assert "crm.emails.deliver" in worker.log.read_text() and "succeeded" in worker.log.read_text()
    finally:
        worker.stop()
