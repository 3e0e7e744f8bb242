"""The jobs as the embedded setup runs them (inline, no broker), their schedules, and who may edit those."""

import importlib
import smtplib

import pytest
from django.core import mail
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from config.celery import app
from crm import emails, tasks
from tests import factories

SERVICES = {
    "crm.tasks.return_to_pool": ("crm.services.pool", "pool_return_idle"),
    "crm.tasks.send_follow_up_digest": ("crm.services.digest", "digest_send_all"),
}


def test_without_a_broker_tasks_run_inline():
    assert app.conf.task_always_eager and app.main == "crm"
    assert {"crm.tasks.return_to_pool", "crm.tasks.send_follow_up_digest", "crm.emails.deliver"} <= set(app.tasks)


@pytest.mark.parametrize("task_name", sorted(SERVICES))
def test_each_scheduled_task_calls_its_service(task_name, monkeypatch):
    module_name, function = SERVICES[task_name]
    assert getattr(tasks, function) is getattr(importlib.import_module(module_name), function)
    calls = []
    monkeypatch.setattr(tasks, function, lambda *args, **kwargs: calls.append((args, kwargs)))
    app.tasks[task_name].delay()
    assert calls == [((), {})]


@pytest.mark.django_db
def test_the_schedules_exist_in_the_school_time_zone(settings):
    PeriodicTask.objects.all().delete()  # what the migration's function makes, from nothing
    factories.job_schedules()
    by_task = {task.task: task for task in PeriodicTask.objects.select_related("crontab")}
    pool, digest = by_task["crm.tasks.return_to_pool"], by_task["crm.tasks.send_follow_up_digest"]
    assert pool.enabled and digest.enabled
    assert str(pool.crontab.timezone) == str(digest.crontab.timezone) == settings.TIME_ZONE
    assert int(pool.crontab.hour) < 6 and 6 <= int(digest.crontab.hour) <= 9  # at night; in the morning


def test_schedules_are_for_school_admins_only(client_for, school_admin, manager, sales):
    changelist = reverse("admin:django_celery_beat_periodictask_changelist")
    assert client_for(school_admin).get(changelist).status_code == 200
    for user in (manager, sales):
        assert client_for(user).get(changelist).status_code == 403


def test_an_email_is_sent_after_the_commit_only(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as pending:
        emails.enqueue(subject="Hello\nthere", text="body", html="<p>body</p>", to="a@example.com")
    assert not mail.outbox and len(pending) == 1
    pending[0]()
    (message,) = mail.outbox
    assert message.subject == "Hello there" and message.alternatives[0][0] == "<p>body</p>"


def test_a_refused_email_is_tried_again_then_logged(settings, caplog, monkeypatch):
    attempts = []

    def refuse(self):
        attempts.append(1)
        raise smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"no")})

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    result = tasks.deliver.delay(subject="s", text="t", html=None, to="a@example.com")
    assert result.failed() and len(attempts) == settings.EMAIL_MAX_RETRIES + 1
    assert any("a@example.com" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)
