"""Issue 18, point 8: the portal's login by phone in any spelling, its error in the field's own words, progress
against the lessons the course plans, and the school's name on the public pages."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.forms import PortalLoginForm
from tests import factories

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-student-password"


@pytest.fixture
def stella(client):
    """A student whose login name is not her phone (like the demo's "student")."""
    student = factories.StudentFactory(user__username="stella", customer__phone="+8613800138000")
    student.user.set_password(PASSWORD)
    student.user.save()
    return student


@pytest.mark.parametrize("login", ["stella", "+8613800138000", "138 0013 8000", "138-0013-8000", "+86 138 0013 8000"])
def test_login_with_the_phone_in_any_spelling_or_the_username(client, stella, login):
    response = client.post(reverse("portal:login"), {"username": login, "password": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("portal:home")


def test_a_wrong_password_is_told_in_the_fields_words(client, stella):
    response = client.post(reverse("portal:login"), {"username": "138 0013 8000", "password": "wrong"})
    page = response.content.decode()
    assert response.status_code == 200
    assert str(PortalLoginForm.error_messages["invalid_login"]) in page
    assert "username and password" not in page.replace("phone or username and password", "")
    assert "Mobile phone or username" in page


def test_progress_counts_held_lessons_against_the_planned(client, stella, teacher):
    twenty_weeks = factories.ClassGradeFactory(course__name="Java", course__period=20, course__lessons=40)
    stella.classes.add(twenty_weeks)
    past = timezone.localdate() - datetime.timedelta(days=1)
    for day in range(1, 5):
        factories.CourseRecordFactory(class_grade=twenty_weeks, day_num=day, teacher=teacher, date=past)
    client.force_login(stella.user)
    page = client.get(reverse("portal:home")).content.decode()
    assert "4 / 40" in page and "width: 10%" in page


def test_public_pages_carry_the_schools_name(client, settings):
    settings.SCHOOL_NAME = "Bright Future IT"
    page = client.get(reverse("portal:login")).content.decode()
    assert page.count("Bright Future IT") >= 2 and "CRM" not in page.split("<main")[0]
