"""The jobs' schedules as the school admin keeps them: in Chinese in a Chinese admin, and pausable."""

import pytest
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from tests import factories
from tests.html_forms import browser_post

pytestmark = pytest.mark.django_db

DIGEST = "crm.tasks.send_follow_up_digest"


@pytest.fixture
def in_chinese(client_for, school_admin):
    """The school admin's browser, Chinese chosen in the language menu (the cookie Django's set_language sets)."""
    client = client_for(school_admin)
    client.cookies["django_language"] = "zh-hans"
    return client


@pytest.fixture
def digest():
    factories.job_schedules()  # as migration 0014 makes them, named in English
    return PeriodicTask.objects.get(task=DIGEST)


def test_the_school_admin_reads_the_schedules_in_chinese(in_chinese, digest):
    client = in_chinese
    page = client.get(reverse("admin:django_celery_beat_periodictask_changelist")).content.decode()
    assert "跟进摘要（每天早上）" in page and "闲置线索退回公海（每晚）" in page
    assert "给每位销售发送今天到期的跟进摘要" in page  # the job by what it does
    assert "在 07:30（Asia/Shanghai 时间）" in page and "运行中" in page
    for english in ("Follow-up digest", "crm.tasks", "At 07:30", "Task Name", "Scheduler"):
        assert english not in page

    page = client.get(reverse("admin:django_celery_beat_periodictask_change", args=[digest.pk]))
    html = page.content.decode()
    assert 'value="跟进摘要（每天早上）"' in html  # the name to edit, as the list shows it
    assert "取消勾选即暂停该计划" in html  # the enabled box's help
    assert ">在 07:30（Asia/Shanghai 时间）</option>" in html  # the crontab to pick, in words
    for english in ("proj.tasks", "AMQP", "Crontab", "Follow-up digest"):
        assert english not in html


def test_a_schedule_reads_in_english_in_the_english_admin(client_for, school_admin, digest):
    page = client_for(school_admin).get(reverse("admin:django_celery_beat_periodictask_changelist"))
    html = page.content.decode()
    assert "Follow-up digest (each morning)" in html and "At 07:30 (Asia/Shanghai time)" in html
    assert "Email each salesperson their follow-ups due today" in html


def test_the_school_admin_pauses_a_schedule_from_its_page(in_chinese, digest):
    client = in_chinese
    url = reverse("admin:django_celery_beat_periodictask_change", args=[digest.pk])
    response = browser_post(client, url, client.get(url), "periodictask_form", {"enabled": None})
    assert response.status_code == 302
    digest.refresh_from_db()
    assert not digest.enabled
    assert digest.name == "Follow-up digest (each morning)"  # the Chinese shown is the same name: kept as stored
    listing = client.get(reverse("admin:django_celery_beat_periodictask_changelist")).content.decode()
    assert "已暂停" in listing


def test_the_school_admin_pauses_and_resumes_schedules_from_the_list(in_chinese, digest):
    client = in_chinese
    url = reverse("admin:django_celery_beat_periodictask_changelist")
    response = client.post(url, {"action": "pause", "_selected_action": [digest.pk]}, follow=True)
    assert "已暂停 1 个计划。" in response.content.decode()
    assert not PeriodicTask.objects.get(pk=digest.pk).enabled
    client.post(url, {"action": "resume", "_selected_action": [digest.pk]})
    assert PeriodicTask.objects.get(pk=digest.pk).enabled


def test_a_wrong_time_is_refused_in_chinese(in_chinese, digest):
    client = in_chinese
    url = reverse("admin:django_celery_beat_crontabschedule_change", args=[digest.crontab_id])
    response = browser_post(client, url, client.get(url), "crontabschedule_form", {"hour": "25"})
    assert response.status_code == 200
    assert "请填写范围内的数字" in response.content.decode()
    assert CrontabSchedule.objects.get(pk=digest.crontab_id).hour == "7"


def test_a_schedule_needs_one_kind_of_time(in_chinese, digest):
    client = in_chinese
    url = reverse("admin:django_celery_beat_periodictask_change", args=[digest.pk])
    response = browser_post(client, url, client.get(url), "periodictask_form", {"crontab": ""})
    assert response.status_code == 200
    html = response.content.decode()
    assert "请选择任务何时运行" in html and "must be set" not in html
