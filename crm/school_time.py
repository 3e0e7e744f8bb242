"""Days and weeks as the school lives them: in its time zone (settings.TIME_ZONE), not in UTC."""

import datetime

from django.utils import timezone


def start_of(day: datetime.date) -> datetime.datetime:
    """Midnight at the start of `day` in the school's time zone."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def day_start(now: datetime.datetime) -> datetime.datetime:
    """Midnight of `now`'s day in the school's time zone."""
    return start_of(timezone.localdate(now))


def week_start(now: datetime.datetime) -> datetime.datetime:
    """Monday midnight of `now`'s week in the school's time zone."""
    return day_start(now) - datetime.timedelta(days=timezone.localdate(now).weekday())
