"""The lead pool in the admin: what a salesperson sees of a pooled lead (and never), claiming, assigning, releasing."""

import datetime
import re
from urllib.parse import urlencode

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from crm import reports, roles, school_time
from crm.models import Customer, PoolMove, PoolReason
from crm.services import pool
from tests import factories

pytestmark = pytest.mark.django_db

POOL = reverse("admin:crm_poolcustomer_changelist")
CUSTOMERS = reverse("admin:crm_customer_changelist")
PHONE = "+8613800138000"
SPELLINGS = ["13800138000", "138 0013 8000", "+86 138-0013-8000", "0086 13800138000", "(138) 0013 8000"]
CONTACTS = ["Qq-553311", "wx_pooled_marker", "pooled.marker@example.com"]


@pytest.fixture
def pooled(other_sales):
    """A lead that went idle at a colleague's: with contacts, a course, a campus and a follow-up naming them."""
    lead = factories.CustomerFactory(
        consultant=None,
        name="Pooled Person",
        phone=PHONE,
        qq="553311",
        wechat="wx_pooled_marker",
        email="pooled.marker@example.com",
        source=Customer.Source.SEARCH_ADS,
        branch=factories.BranchFactory(name="North campus"),
        previous_consultant=other_sales,
        pooled_at=timezone.now() - datetime.timedelta(days=3),
        pool_reason=PoolReason.IDLE,
    )
    lead.consult_courses.add(factories.CourseFactory(name="Python evenings"))
    factories.FollowUpFactory(
        customer=lead,
        consultant=other_sales,
        content="Call back on 13800138000 or wechat wx_pooled_marker, mail pooled.marker@example.com; likes evenings.",
    )
    return lead


def page(client, url, params=None):
    response = client.get(url, params or {})
    assert response.status_code == 200, url
    return response, response.content.decode()


def shows_no_contact(html: str) -> bool:
    digits = re.sub(r"\D", "", html)
    return (
        "0013" not in html
        and "13800138000" not in digits.replace("138****8000", "")
        and not any(contact.lower() in html.lower() for contact in CONTACTS[1:])
    )


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def claim(client, *leads):
    """What the row's Claim button (or the action with rows ticked) posts."""
    return client.post(POOL, {"action": "claim", ACTION_CHECKBOX_NAME: [lead.pk for lead in leads]}, follow=True)


# --- the list -------------------------------------------------------------------------------------------------


def test_the_pool_list_shows_a_lead_without_its_contacts(client_for, sales, pooled, other_sales):
    response, html = page(client_for(sales), POOL)
    assert [lead.pk for lead in response.context["cl"].result_list] == [pooled.pk]
    for shown in ("Pooled Person", "138****8000", "search ads", "Python evenings", "North campus"):
        assert shown in html, shown
    assert "left without follow-up" in html and f'previous_consultant nowrap">{other_sales}<' in html
    assert "likes evenings" in html  # the last follow-up's summary, its contacts starred out
    assert shows_no_contact(html)
    assert 'form="pool-claim"' in html and f'value="{pooled.pk}"' in html
    assert reverse("admin:crm_customer_change", args=[pooled.pk]) not in html  # nothing to open until claimed


def test_a_manager_opens_the_pooled_lead_as_any_customer(client_for, manager, pooled):
    client = client_for(manager)
    _, html = page(client, POOL)
    change = reverse("admin:crm_customer_change", args=[pooled.pk])
    assert change in html
    _, html = page(client, change)
    assert "wx_pooled_marker" in html


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_whole_phone_in_any_spelling_finds_the_lead_without_showing_it(client_for, sales, pooled, spelling):
    response, html = page(client_for(sales), POOL, {"q": spelling})
    assert [lead.pk for lead in response.context["cl"].result_list] == [pooled.pk]
    typed = [spelling, urlencode({"q": spelling})[2:], escape(spelling)]  # the search box and links keep it
    for echo in typed:
        html = html.replace(echo, "")
    assert shows_no_contact(html)


@pytest.mark.parametrize("part", ["138001", "0013", "8000", "wx_pooled", "553311", "pooled.marker"])
def test_a_part_of_a_phone_or_a_contact_finds_nothing(client_for, sales, pooled, part):
    response, _ = page(client_for(sales), POOL, {"q": part})
    assert list(response.context["cl"].result_list) == []


def test_filters_campus_course_source_and_days_in_the_pool(client_for, sales, pooled):
    fresh = factories.CustomerFactory(consultant=None, pooled_at=timezone.now(), pool_reason=PoolReason.RELEASED)
    client = client_for(sales)
    course = pooled.consult_courses.get()
    cases = [
        ("branch__id__exact", pooled.branch_id, {pooled}),
        ("consult_courses__id__exact", course.pk, {pooled}),
        ("source__exact", Customer.Source.WEBSITE, {fresh}),
        ("days", "1", {fresh}),
        ("days", "7", {pooled}),
        ("status__exact", Customer.Status.NEW, {pooled, fresh}),
    ]
    for name, value, expected in cases:
        response, _ = page(client, POOL, {name: value})
        assert {lead.pk for lead in response.context["cl"].result_list} == {c.pk for c in expected}, name
    response, _ = page(client, POOL, {"days": "more"})
    assert list(response.context["cl"].result_list) == []


# --- where a salesperson cannot go ----------------------------------------------------------------------------


def test_a_salesperson_reaches_no_page_of_a_pooled_lead(client_for, sales, pooled):
    client = client_for(sales)
    follow_up = pooled.follow_ups.get()
    refused = {
        reverse("admin:crm_poolcustomer_change", args=[pooled.pk]): 403,
        reverse("admin:crm_poolcustomer_history", args=[pooled.pk]): 403,
        reverse("admin:crm_poolcustomer_delete", args=[pooled.pk]): 403,
        reverse("admin:crm_poolcustomer_add"): 403,
        reverse("admin:crm_customer_change", args=[pooled.pk]): 404,
        reverse("admin:crm_customer_history", args=[pooled.pk]): 404,
        reverse("admin:crm_customer_personal_data", args=[pooled.pk]): 404,
        reverse("admin:crm_followup_change", args=[follow_up.pk]): 404,
    }
    for url, status in refused.items():
        response = client.get(url)
        assert response.status_code == status, url
        assert shows_no_contact(response.content.decode()), url
    for url in (CUSTOMERS, reverse("admin:crm_followup_changelist")):
        response, _ = page(client, url, {"q": "13800138000"})
        assert list(response.context["cl"].result_list) == [], url
    autocomplete = client.get(
        reverse("admin:autocomplete"), {"app_label": "crm", "model_name": "payment", "field_name": "customer"}
    )
    assert str(pooled.pk) not in {r["id"] for r in autocomplete.json()["results"]}
    export = client.post(reverse("admin:crm_customer_export"), {"format": "0", "resource": "0"})
    assert "wx_pooled_marker" not in export.content.decode("utf-8", "replace")


def test_a_teacher_has_no_pool(client_for, teacher, pooled):
    assert client_for(teacher).get(POOL).status_code == 403


# --- claiming, assigning, releasing ---------------------------------------------------------------------------


def test_claiming_from_the_row_button(client_for, sales, pooled):
    response = claim(client_for(sales), pooled)
    assert messages_of(response) == ["You claimed 1 lead: it is among your customers now."]
    pooled.refresh_from_db()
    assert pooled.consultant == sales
    _, html = page(client_for(sales), reverse("admin:crm_customer_change", args=[pooled.pk]))
    assert "wx_pooled_marker" in html  # the contacts show once the lead is theirs


def test_a_lead_claimed_meanwhile_is_told_in_words(client_for, make_user, sales, pooled):
    client = client_for(sales)
    page(client, POOL)  # the list shows the lead...
    colleague = make_user(roles.SALES, "quicker")
    pool.pool_claim(customer=pooled, by=colleague)  # ...a colleague claims it first...
    response = claim(client, pooled)  # ...then the button is pressed
    assert messages_of(response) == ["1 of the leads you chose is no longer in the pool: someone took it a moment ago."]
    assert Customer.objects.get(pk=pooled.pk).consultant == colleague


def test_the_daily_limit_is_told_once(client_for, sales, settings):
    settings.POOL_CLAIMS_PER_DAY = 2
    leads = [factories.CustomerFactory(consultant=None, pooled_at=timezone.now(), name=f"L{n}") for n in range(5)]
    response = claim(client_for(sales), *leads)
    said = messages_of(response)
    assert len(said) == 2
    assert said[0].startswith("You have claimed 2 leads today, the most one salesperson may claim in a day")
    assert said[1] == "You claimed 2 leads: they are among your customers now."
    assert Customer.objects.filter(consultant=sales).count() == 2


def test_reclaiming_ones_own_lead_is_refused_in_words(client_for, sales, pooled):
    Customer.objects.filter(pk=pooled.pk).update(previous_consultant=sales)
    response = claim(client_for(sales), pooled)
    [said] = messages_of(response)
    assert "came back to the pool from you" in said and "a manager can assign it to you" in said


def test_a_manager_assigns_from_the_pool_with_a_picker(client_for, manager, sales, pooled):
    client = client_for(manager)
    asked = client.post(POOL, {"action": "assign", ACTION_CHECKBOX_NAME: [pooled.pk]})
    assert asked.status_code == 200 and b'name="user"' in asked.content
    response = client.post(
        POOL, {"action": "assign", ACTION_CHECKBOX_NAME: [pooled.pk], "apply": "1", "user": sales.pk}, follow=True
    )
    assert messages_of(response) == [f"1 lead now belongs to {sales}."]
    assert Customer.objects.get(pk=pooled.pk).consultant == sales


def test_salespeople_have_no_assign_and_managers_release_with_a_reason(client_for, sales, manager):
    lead = factories.CustomerFactory(consultant=sales, name="Released One")
    client = client_for(sales)
    forged = client.post(POOL, {"action": "assign", ACTION_CHECKBOX_NAME: [lead.pk], "apply": "1", "user": sales.pk})
    assert forged.status_code in (200, 302)
    client.post(CUSTOMERS, {"action": "release", ACTION_CHECKBOX_NAME: [lead.pk], "apply": "1", "reason": "x"})
    assert Customer.objects.get(pk=lead.pk).consultant == sales

    client = client_for(manager)
    asked = client.post(CUSTOMERS, {"action": "release", ACTION_CHECKBOX_NAME: [lead.pk]})
    assert b'name="reason"' in asked.content
    unexplained = client.post(
        CUSTOMERS, {"action": "release", ACTION_CHECKBOX_NAME: [lead.pk], "apply": "1", "reason": ""}
    )
    assert unexplained.status_code == 200 and Customer.objects.get(pk=lead.pk).consultant == sales
    response = client.post(
        CUSTOMERS,
        {"action": "release", ACTION_CHECKBOX_NAME: [lead.pk], "apply": "1", "reason": "Moved to Shenzhen"},
        follow=True,
    )
    assert messages_of(response) == ["1 customer went back to the lead pool."]
    _, html = page(client_for(sales), POOL)
    assert "Released One" in html and "released by a manager: Moved to Shenzhen" in html


def test_a_pooled_leads_owner_is_not_set_on_its_customer_page(client_for, manager, pooled):
    client = client_for(manager)
    response, _ = page(client, reverse("admin:crm_customer_change", args=[pooled.pk]))
    assert "consultant" not in response.context["adminform"].form.fields


# --- the dashboard --------------------------------------------------------------------------------------------


def test_dashboard_pool_figures(client_for, sales, other_sales, manager, pooled):
    second = factories.CustomerFactory(consultant=None, pooled_at=timezone.now())
    pool.pool_claim(customer=second, by=sales)
    pool.pool_release(customer=factories.CustomerFactory(consultant=sales), reason="wrong number", by=manager)
    old = factories.CustomerFactory(consultant=other_sales)
    pool.pool_release(customer=old, reason="moved", by=manager)
    PoolMove.objects.filter(customer=old).update(
        at=school_time.week_start(timezone.now()) - datetime.timedelta(minutes=1)
    )

    figures = [cell.value for cell in reports.dashboard(sales).pool]
    assert figures == [3, 1, 1]  # the pool; sales's claims today; returns from sales this week
    assert [cell.value for cell in reports.dashboard(manager).pool] == [3, 1, 1]  # last week's return not counted
    table = reports.dashboard(manager).table("pool")
    rows = {row[0].value: [cell.value for cell in row[1:]] for row in table.rows}
    assert rows[sales.get_full_name()] == [1, 1] and rows[other_sales.get_full_name()] == [0, 0]
    assert reports.dashboard(sales).table("pool") is None

    client = client_for(sales)
    size = reports.dashboard(sales).pool[0]
    listed, html = page(client, size.url)
    assert listed.context["cl"].result_count == size.value
    _, html = page(client, reverse("admin:index"))
    assert 'id="pool-size"' in html


def test_conversion_by_salesperson_counts_the_pool_as_its_own_row(client_for, manager, sales, pooled):
    factories.CustomerFactory(consultant=sales)
    table = reports.dashboard(manager).table("salespeople")
    rows = {str(row[0].value): row[1] for row in table.rows}
    assert rows["(lead pool)"].value == 1
    listed, _ = page(client_for(manager), rows["(lead pool)"].url)
    assert [c.pk for c in listed.context["cl"].result_list] == [pooled.pk]
