"""Dates people read are the school's calendar dates (settings.TIME_ZONE), never UTC's."""

import datetime

import pytest

from crm.models import FollowUp, PersonalDataAccess
from tests import factories

pytestmark = pytest.mark.django_db
UTC = datetime.UTC
SMALL_HOURS = datetime.datetime(2026, 11, 25, 18, 44, tzinfo=UTC)  # 02:44 on the 26th in Shanghai


@pytest.mark.parametrize("zone, day", [("Asia/Shanghai", "2026-11-26"), ("Europe/London", "2026-11-25")])
def test_a_follow_up_is_titled_with_the_day_the_school_made_it(settings, zone, day):
    settings.TIME_ZONE = zone
    follow_up = factories.FollowUpFactory(customer__name="Wang Fang")
    FollowUp.objects.filter(pk=follow_up.pk).update(created_at=SMALL_HOURS)
    follow_up.refresh_from_db()
    assert str(follow_up) == f"Follow-up of Wang Fang on {day}"


def test_a_personal_data_access_is_titled_with_the_schools_clock(settings, sales):
    settings.TIME_ZONE = "Asia/Shanghai"
    record = PersonalDataAccess.objects.create(user=sales, username="sales-a", action="export")
    PersonalDataAccess.objects.filter(pk=record.pk).update(at=SMALL_HOURS)
    record.refresh_from_db()
    assert str(record).endswith("2026-11-26 02:44")
