"""Issue 18, point 12: lesson calendars (a teacher's month and week, a class's schedule, the student's in the portal)
and the .ics feeds at a secret, revocable address: their contents, and never another's lessons."""

import datetime

import icalendar
import pytest
from django.urls import reverse
from django.utils import timezone

from crm import access
from crm.services import calendars as calendar_feeds
from tests import factories

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


@pytest.fixture
def school(teacher, other_teacher):
    mine = factories.ClassGradeFactory(course__name="Python Web")
    mine.teachers.add(teacher)
    theirs = factories.ClassGradeFactory(course__name="Rust Systems")
    theirs.teachers.add(other_teacher)
    my_lesson = factories.CourseRecordFactory(
        class_grade=mine, day_num=1, title="Django models", teacher=teacher, date=TODAY
    )
    homework = factories.CourseRecordFactory(
        class_grade=mine,
        day_num=2,
        title="Views",
        teacher=teacher,
        date=TODAY + datetime.timedelta(days=1),
        has_homework=True,
        homework_title="A blog",
    )
    their_lesson = factories.CourseRecordFactory(
        class_grade=theirs, day_num=1, title="Borrowing", teacher=other_teacher, date=TODAY
    )
    student = factories.StudentFactory()
    student.classes.add(mine)
    other_student = factories.StudentFactory()
    other_student.classes.add(theirs)
    return locals()


def feed_events(client, user) -> list:
    feed = calendar_feeds.calendar_feed_issue(user=user)
    response = client.get(reverse("calendar_feed", args=[feed.token]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    return icalendar.Calendar.from_ical(response.content).walk("VEVENT")


def test_a_teachers_feed_holds_their_lessons_only(client, teacher, school):
    events = feed_events(client, teacher)
    summaries = [str(event["SUMMARY"]) for event in events]
    assert summaries == ["Python Web: lesson 1, Django models", "Python Web: lesson 2, Views"]
    first, second = events
    assert first.decoded("DTSTART") == TODAY and first.decoded("DTEND") == TODAY + datetime.timedelta(days=1)
    assert "Homework: A blog" in str(second["DESCRIPTION"])
    assert str(first["UID"]) == f"lesson-{school['my_lesson'].pk}@testserver"


def test_a_students_feed_holds_their_classes_lessons_only(client, school):
    summaries = [str(event["SUMMARY"]) for event in feed_events(client, school["student"].user)]
    assert len(summaries) == 2 and not any("Rust" in summary for summary in summaries)
    other = [str(event["SUMMARY"]) for event in feed_events(client, school["other_student"].user)]
    assert other == ["Rust Systems: lesson 1, Borrowing"]


def test_a_new_address_voids_the_old_and_a_revoked_one_is_404(client, teacher, school):
    old = calendar_feeds.calendar_feed_issue(user=teacher).token
    new = calendar_feeds.calendar_feed_issue(user=teacher).token
    assert old != new
    assert client.get(reverse("calendar_feed", args=[old])).status_code == 404
    assert client.get(reverse("calendar_feed", args=[new])).status_code == 200
    calendar_feeds.calendar_feed_revoke(user=teacher)
    assert client.get(reverse("calendar_feed", args=[new])).status_code == 404
    assert client.get(reverse("calendar_feed", args=["guess"])).status_code == 404


def test_an_inactive_users_feed_is_404(client, teacher, school):
    token = calendar_feeds.calendar_feed_issue(user=teacher).token
    teacher.is_active = False
    teacher.save()
    assert client.get(reverse("calendar_feed", args=[token])).status_code == 404


def calendar_page(client, **params):
    return client.get(reverse("admin:crm_courserecord_calendar"), params)


@pytest.mark.parametrize("view", ["month", "week"])
def test_a_teachers_calendar_shows_their_lessons_never_anothers(client_for, teacher, school, view):
    response = calendar_page(client_for(teacher), view=view, date=TODAY.isoformat())
    page = response.content.decode()
    assert response.status_code == 200
    assert reverse("admin:crm_courserecord_change", args=[school["my_lesson"].pk]) in page
    assert "Django models" in page and "Borrowing" not in page
    assert response.context["board"].view == view


def test_a_class_schedule_and_anothers_class_is_not_shown(client_for, teacher, school_admin, school):
    theirs = school["theirs"]
    own = calendar_page(client_for(teacher), class_grade=theirs.pk).content.decode()
    assert "Borrowing" not in own  # not theirs to reach: the filter is ignored, their own lessons show
    admin = calendar_page(client_for(school_admin), class_grade=theirs.pk)
    assert "Borrowing" in admin.content.decode() and "Django models" not in admin.content.decode()


def test_the_calendar_by_role(client_for, sales, student_user, school):
    assert calendar_page(client_for(sales)).status_code == 403  # salespeople have no lessons
    assert calendar_page(client_for(student_user)).status_code == 302  # students sign in at the portal


def test_odd_parameters_show_the_default_view_around_today(client_for, teacher, school):
    for params in [{"date": "2026-13-45"}, {"view": "year"}, {"class_grade": "²"}, {"class_grade": "9" * 40}]:
        assert calendar_page(client_for(teacher), **params).status_code == 200


def test_the_teacher_issues_and_revokes_their_address_from_the_page(client_for, teacher, school):
    client = client_for(teacher)
    client.post(reverse("admin:crm_courserecord_calendar_feed"), {"feed": "issue"})
    token = teacher.calendar_feed.token
    assert token in calendar_page(client).content.decode()
    client.post(reverse("admin:crm_courserecord_calendar_feed"), {"feed": "revoke"})
    assert client.get(reverse("calendar_feed", args=[token])).status_code == 404
    assert client.get(reverse("admin:crm_courserecord_calendar_feed")).status_code == 405


def test_the_students_portal_calendar(client, school):
    student = school["student"]
    client.force_login(student.user)
    response = client.get(reverse("portal:calendar"), {"view": "week", "date": TODAY.isoformat()})
    page = response.content.decode()
    assert response.status_code == 200 and "Django models" in page and "Borrowing" not in page
    assert reverse("portal:class_detail", args=[school["mine"].pk]) in page
    client.post(reverse("portal:calendar_feed"), {"feed": "issue"})
    assert student.user.calendar_feed.token in client.get(reverse("portal:calendar")).content.decode()


def test_calendar_lessons_rule(teacher, school):
    assert set(access.calendar_lessons(teacher)) == {school["my_lesson"], school["homework"]}
    assert set(access.calendar_lessons(school["student"].user)) == {school["my_lesson"], school["homework"]}


def test_a_teachers_calendar_opens_on_the_week_and_a_class_on_the_month(client_for, teacher, school):
    client = client_for(teacher)
    assert calendar_page(client).context["board"].view == "week"
    assert calendar_page(client, class_grade=school["mine"].pk).context["board"].view == "month"
