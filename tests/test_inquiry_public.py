"""The public catalogue and inquiry form: what they show, what they refuse, and that a known phone is not told apart."""

import datetime
import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.models import Customer, FollowUp, StaffProfile
from crm.phones import INVALID_PHONE
from tests import factories

pytestmark = pytest.mark.django_db

CATALOGUE, INQUIRY = reverse("catalogue"), reverse("inquiry")


@pytest.fixture
def course():
    return factories.CourseFactory(name="Python Full Stack", price="19800.00", period=20, outline="Django and more.")


@pytest.fixture
def taker(sales):
    StaffProfile.objects.create(user=sales, takes_web_leads=True)
    return sales


def post(client, chosen, url=INQUIRY, **fields):
    data = {"name": "Li Lei", "phone": "139 0013 9000", "course": chosen.pk, "campus": "", "message": "", **fields}
    return client.post(url, data)


def errors(response) -> list[str]:
    return re.findall(r'<ul class="errorlist"[^>]*><li>(.*?)</li>', response.content.decode())


# --- the catalogue ------------------------------------------------------------------------------------------------


def test_catalogue_shows_courses_prices_campuses_and_the_next_classes_with_seats_left(client, course):
    today = timezone.localdate()
    haidian, pudong = factories.BranchFactory(name="Haidian"), factories.BranchFactory(name="Pudong")
    soon = factories.ClassGradeFactory(course=course, branch=haidian, start_date=today + datetime.timedelta(days=10))
    for _ in range(2):
        factories.StudentFactory().classes.add(soon)
    full = factories.ClassGradeFactory(
        course=course, branch=pudong, capacity=1, start_date=today + datetime.timedelta(days=20)
    )
    factories.StudentFactory().classes.add(full)
    running = factories.ClassGradeFactory(
        course=course, branch=factories.BranchFactory(name="Tianhe"), start_date=today - datetime.timedelta(days=5)
    )
    factories.ClassGradeFactory(
        course=course,
        branch=factories.BranchFactory(name="Closed"),
        start_date=today - datetime.timedelta(days=90),
        end_date=today - datetime.timedelta(days=1),
    )
    factories.CourseFactory(name="Go Development")

    response = client.get(CATALOGUE)

    assert response.status_code == 200
    page = response.content.decode()
    card = page[page.index('id="course-%d"' % course.pk) :]
    card = card[: card.index("</article>")]
    assert "Python Full Stack" in card and "¥19,800" in card and "20 weeks" in card and "Django and more." in card
    assert re.findall(r"</i> (\w+)</span>", card) == ["Haidian", "Pudong", "Tianhe"]  # not the ended class's campus
    starts = re.findall(r'<span class="when">(.*?)</span>', card)
    assert len(starts) == 2 and running.start_date.strftime("%Y") in starts[0]  # the running class is not upcoming
    assert "28 seats left" in card and "Full" in card
    assert f'href="{INQUIRY}?course={course.pk}"' in card
    assert "Go Development" in page and "No class is scheduled yet" in page
    assert "logo.svg" in page and str(settings.SCHOOL_NAME) in page


def test_catalogue_queries_do_not_grow_with_courses_or_classes(client, django_assert_max_num_queries):
    def build(n):
        for _ in range(n):
            class_grade = factories.ClassGradeFactory(start_date=timezone.localdate() + datetime.timedelta(days=3))
            factories.StudentFactory().classes.add(class_grade)

    build(1)
    with django_assert_max_num_queries(2):
        assert client.get(CATALOGUE).status_code == 200
    build(10)
    with django_assert_max_num_queries(2):
        page = client.get(CATALOGUE).content.decode()
    assert page.count('class="card course"') == 11


def test_catalogue_passes_the_campaign_on_to_the_form(client, course):
    page = client.get(CATALOGUE, {"utm_source": "baidu", "utm_campaign": "spring", "page": "2"}).content.decode()
    assert f'href="{INQUIRY}?course={course.pk}&amp;utm_source=baidu&amp;utm_campaign=spring"' in page


def test_public_pages_speak_the_visitors_language(client, course):
    client.post(reverse("set_language"), {"language": "zh-hans", "next": CATALOGUE})
    assert '<html lang="zh-hans">' in client.get(CATALOGUE).content.decode()
    form = client.get(INQUIRY).content.decode()
    assert "手机号码" in form and "课程" in form and "校区" in form
    assert '<option value="zh-hans" lang="zh-hans" selected>' in form  # the switcher shows where the visitor is


# --- the inquiry form ---------------------------------------------------------------------------------------------


def test_the_course_in_the_address_is_preselected(client, course):
    factories.CourseFactory(name="Another")
    page = client.get(INQUIRY, {"course": course.pk}).content.decode()
    assert f'<option value="{course.pk}" selected>Python Full Stack</option>' in page
    for junk in ("abc", "99999999999999999999", "9" * 5000):  # nothing preselected, no error
        assert client.get(INQUIRY, {"course": junk}).status_code == 200


def test_an_inquiry_makes_a_web_lead_with_its_channel(client, course, taker):
    campus = factories.BranchFactory(name="Haidian")
    url = f"{INQUIRY}?course={course.pk}&src=poster&utm_source=baidu&utm_medium=cpc"
    response = post(client, course, url, campus=campus.pk, message="Evening classes?")

    assert response.status_code == 302 and response.url == reverse("inquiry_thanks")
    lead = Customer.objects.get(phone="+8613900139000")
    assert (lead.consultant, lead.source, lead.branch) == (taker, Customer.Source.WEBSITE, campus)
    assert lead.channel == "src=poster, utm_source=baidu, utm_medium=cpc"
    assert FollowUp.objects.get(customer=lead).next_follow_up == timezone.localdate()
    thanks = client.get(response.url)
    assert thanks.status_code == 200 and "we received your question" in thanks.content.decode()


def test_a_known_phone_gets_exactly_the_same_answer(client, course, taker, other_sales):
    lead = factories.CustomerFactory(consultant=other_sales, phone="+8613800138000", name="Han Meimei")

    new = post(client, course, phone="138 0013 9999")
    known = post(client, course, phone="138 0013 8000", name="Han Meimei")

    assert (new.status_code, new.url, new.content) == (known.status_code, known.url, known.content)
    lead.refresh_from_db()
    assert lead.consultant == other_sales
    assert lead.follow_ups.get().consultant == other_sales
    assert Customer.objects.count() == 2


def test_a_bot_filling_the_honeypot_is_thanked_and_nothing_is_kept(client, course, taker):
    response = post(client, course, website="http://spam.example")
    assert response.status_code == 302 and response.url == reverse("inquiry_thanks")
    assert not Customer.objects.exists() and not FollowUp.objects.exists()
    page = client.get(INQUIRY).content.decode()
    assert 'class="hp" aria-hidden="true"' in page and 'name="website"' in page and 'tabindex="-1"' in page


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"phone": "12345"}, "phone", str(INVALID_PHONE)),
        ({"phone": "not a phone"}, "phone", str(INVALID_PHONE)),
        ({"course": "99999"}, "course", "Select a valid choice. That choice is not one of the available choices."),
        ({"course": "abc"}, "course", "Select a valid choice. That choice is not one of the available choices."),
        ({"campus": "99999"}, "campus", "Select a valid choice. That choice is not one of the available choices."),
        ({"name": ""}, "name", "This field is required."),
        ({"message": "x" * 1001}, "message", "Ensure this value has at most 1000 characters (it has 1001)."),
    ],
)
def test_bad_input_shows_the_form_again_with_the_reason(client, course, taker, fields, field, message):
    response = post(client, course, **fields)
    assert response.status_code == 400
    assert errors(response) == [message]
    assert f'id="id_{field}_error"' in response.content.decode()
    assert 'value="Li Lei"' in response.content.decode() or field == "name"  # what was typed stays
    assert not Customer.objects.exists()


def test_the_form_needs_its_csrf_token(course, taker):
    client = Client(enforce_csrf_checks=True)
    assert post(client, course).status_code == 403
    assert not Customer.objects.exists()
    client.get(INQUIRY)  # the page sets the cookie its form's token matches
    data = {"name": "Li Lei", "phone": "139 0013 9000", "course": course.pk}
    response = client.post(INQUIRY, {**data, "csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert response.status_code == 302 and Customer.objects.count() == 1


def test_the_form_is_rate_limited_per_ip(client, course, taker, settings):
    settings.PUBLIC_RATE_LIMIT_PER_MINUTE = 3
    statuses = [post(client, course, phone=f"139 0013 900{n}").status_code for n in range(4)]
    assert statuses == [302, 302, 302, 429]
    assert Customer.objects.count() == 3
    assert client.get(INQUIRY, REMOTE_ADDR="10.0.0.2").status_code == 200
    assert [client.get(CATALOGUE).status_code for _ in range(4)] == [200, 200, 200, 429]  # its own count
