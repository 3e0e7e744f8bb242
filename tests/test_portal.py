"""The student portal: only the student's own classes and records; password set and reset by email."""

import datetime
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from crm.models import CourseRecord, StudyRecord
from crm.services import academics
from tests import factories, files

pytestmark = pytest.mark.django_db


@pytest.fixture
def school(teacher):
    """Two students in one class (with a past and a coming lesson with homework) and a class of the other only."""
    shared = factories.ClassGradeFactory(course__name="Python Web")
    shared.teachers.add(teacher)
    other_class = factories.ClassGradeFactory(course__name="Rust Systems Programming")
    me = factories.StudentFactory(user__username="+8613700000001", user__email="me@example.com")
    classmate = factories.StudentFactory()
    me.classes.add(shared)
    classmate.classes.add(shared, other_class)
    today = timezone.localdate()
    held = CourseRecord(class_grade=shared, day_num=1, title="Intro", date=today - datetime.timedelta(days=7))
    academics.lesson_create(lesson=held, by=teacher)
    coming = CourseRecord(
        class_grade=shared,
        day_num=2,
        title="Models",
        date=today + datetime.timedelta(days=1),
        has_homework=True,
        homework_title="Blog models",
        homework_deadline=timezone.now() + datetime.timedelta(days=3),
    )
    academics.lesson_create(lesson=coming, by=teacher)
    return {"me": me, "classmate": classmate, "shared": shared, "other_class": other_class, "coming": coming}


def record(student, lesson):
    return StudyRecord.objects.get(student=student, course_record=lesson)


def test_login_is_required_and_staff_are_sent_to_the_admin(client, sales):
    response = client.get(reverse("portal:home"))
    assert response.status_code == 302 and reverse("portal:login") in response.url
    client.force_login(sales)
    staff = client.get(reverse("portal:home"))
    assert staff.status_code == 403 and b"Staff work in the admin" in staff.content


def test_home_shows_my_classes_with_progress(client, school):
    client.force_login(school["me"].user)
    page = client.get(reverse("portal:home")).content.decode()
    assert "Python Web" in page and "Rust Systems Programming" not in page
    assert f"1 / {school['shared'].course.lessons}" in page  # lessons held / the lessons the course plans


def test_class_page_shows_lessons_homework_and_my_record(client, school):
    mine = record(school["me"], school["coming"])
    mine.score = ""
    mine.memo = "Good questions."
    mine.save()
    theirs = record(school["classmate"], school["coming"])
    theirs.memo = "Classmate's private note"
    theirs.save()
    client.force_login(school["me"].user)
    page = client.get(reverse("portal:class_detail", args=[school["shared"].pk])).content.decode()
    assert "Blog models" in page and "Good questions." in page
    assert "Classmate&#x27;s private note" not in page and "Classmate's private note" not in page
    assert reverse("portal:homework_upload", args=[mine.pk]) in page


def test_another_students_ids_answer_404(client, school):
    client.force_login(school["me"].user)
    theirs = record(school["classmate"], school["coming"])
    assert client.get(reverse("portal:class_detail", args=[school["other_class"].pk])).status_code == 404
    upload = client.post(reverse("portal:homework_upload", args=[theirs.pk]), {"homework": files.png()})
    assert upload.status_code == 404
    theirs.refresh_from_db()
    assert not theirs.homework_file
    assert client.get(reverse("portal:homework_file", args=[theirs.pk])).status_code == 404


def test_hand_in_homework_and_download_it(client, school):
    client.force_login(school["me"].user)
    mine = record(school["me"], school["coming"])
    response = client.post(
        reverse("portal:homework_upload", args=[mine.pk]), {"homework": files.upload("blog.zip", files.zip_bytes())}
    )
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert "handed in" in page and "blog.zip" in page
    download = client.get(reverse("portal:homework_file", args=[mine.pk]))
    assert download["Content-Disposition"].startswith("attachment")


def test_a_refused_upload_says_why(client, school):
    client.force_login(school["me"].user)
    mine = record(school["me"], school["coming"])
    CourseRecord.objects.filter(pk=school["coming"].pk).update(homework_deadline=timezone.now())
    response = client.post(
        reverse("portal:homework_upload", args=[mine.pk]), {"homework": files.upload("a.pdf", files.PDF)}, follow=True
    )
    assert "deadline" in response.content.decode()
    mine.refresh_from_db()
    assert not mine.homework_file


def test_portal_posts_need_csrf(school):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(school["me"].user)
    mine = record(school["me"], school["coming"])
    assert client.post(reverse("portal:homework_upload", args=[mine.pk]), {"homework": files.png()}).status_code == 403


def test_password_reset_by_email_then_login(client, school, staff_with_same_email, django_capture_on_commit_callbacks):
    user = school["me"].user
    user.set_unusable_password()  # never set one: the approval email was lost
    user.save()
    with django_capture_on_commit_callbacks(execute=True):  # sent by the queued email task (crm.emails)
        client.post(reverse("portal:password_reset"), {"email": "ME@example.com"})
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["me@example.com"]
    (link,) = re.findall(r"http://testserver(/portal/password/set/\S+)", mail.outbox[0].body)
    form = client.get(link, follow=True)
    assert form.status_code == 200
    client.post(
        form.redirect_chain[-1][0] if form.redirect_chain else link,
        {
            "new_password1": "a-new-student-pass-2026",
            "new_password2": "a-new-student-pass-2026",
        },
    )
    client.logout()
    login = client.post(reverse("portal:login"), {"username": user.username, "password": "a-new-student-pass-2026"})
    assert login.status_code == 302 and login.url == reverse("portal:home")


@pytest.fixture
def staff_with_same_email(sales):
    """Staff accounts never get a portal reset link, even with the same address."""
    sales.email = "me@example.com"
    sales.save()
    return sales


def test_unknown_email_gets_the_same_answer_and_no_mail(client, school):
    response = client.post(reverse("portal:password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302 and not mail.outbox


def test_students_log_in_with_their_phone_as_they_write_it(client, school):
    user = school["me"].user
    user.set_password("a-student-pass-2026")
    user.save()
    response = client.post(reverse("portal:login"), {"username": "137 0000 0001", "password": "a-student-pass-2026"})
    assert response.status_code == 302 and response.url == reverse("portal:home")
