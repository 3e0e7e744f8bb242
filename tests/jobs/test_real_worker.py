"""Not inline: the enrollment link's email goes through Redis to a separate Celery worker process, which sends it."""

import time

import pytest
from django.urls import reverse

from crm.emails import deliver
from crm.services import enrollment as enrollments
from tests import factories
from tests.jobs.worker import Worker


@pytest.mark.django_db(transaction=True)  # the worker reads what the test committed
def test_a_worker_process_sends_the_queued_email(broker, tmp_path, make_user, client):
    broker(deliver)
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
