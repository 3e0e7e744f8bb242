"""The periodic jobs' schedules, in the school's time zone (settings.TIME_ZONE): editable afterwards in the admin
(Periodic tasks), where a school admin may move or pause them; this migration only creates what is missing."""

from django.conf import settings
from django.db import migrations

SCHEDULES = [
    # (name, task, hour, minute)
    ("Return idle leads to the pool (nightly)", "crm.tasks.return_to_pool", "2", "30"),
    ("Follow-up digest (each morning)", "crm.tasks.send_follow_up_digest", "7", "30"),
]


def create_schedules(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, hour, minute in SCHEDULES:
        if PeriodicTask.objects.filter(task=task).exists():
            continue
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*",
            timezone=settings.TIME_ZONE,
        )
        PeriodicTask.objects.create(name=name, task=task, crontab=crontab, enabled=True)


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(task__in=[task for _, task, _, _ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0013_calendar_feed"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
