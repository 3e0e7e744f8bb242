"""Web inquiries: the rotation of web-lead takers (fair, campus first, race-safe) and a known phone asking again."""

from collections import Counter

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from crm import roles
from crm.models import Customer, FollowUp, StaffProfile
from crm.services import inquiry as inquiries
from crm.services.inquiry import Inquiry
from tests import factories
from tests.test_enrollment_concurrency import PARALLEL, in_parallel

pytestmark = pytest.mark.django_db


def takes_web_leads(user, branch=None, language=""):
    StaffProfile.objects.update_or_create(
        user=user, defaults={"takes_web_leads": True, "branch": branch, "language": language}
    )
    return user


def ask(course, phone=None, **fields) -> Customer:
    return inquiries.inquiry_submit(
        inquiry=Inquiry(
            name=fields.pop("name", "Li Lei"), phone=phone or factories.next_phone(), course=course, **fields
        )
    )


@pytest.fixture
def course():
    return factories.CourseFactory(name="Python Full Stack")


def test_a_new_phone_becomes_a_web_lead_with_a_follow_up_due_today(sales, course):
    takes_web_leads(sales)
    campus = factories.BranchFactory(name="Haidian")

    lead = ask(course, "+8613900139000", name="Li Lei", branch=campus, message="Evening classes?", channel="src=poster")

    assert (lead.consultant, lead.source, lead.status) == (sales, Customer.Source.WEBSITE, Customer.Status.NEW)
    assert (lead.name, lead.branch, lead.channel, lead.content) == ("Li Lei", campus, "src=poster", "Evening classes?")
    assert list(lead.consult_courses.all()) == [course]
    follow_up = FollowUp.objects.get(customer=lead)
    assert (follow_up.consultant, follow_up.next_follow_up) == (sales, timezone.localdate())
    assert "Python Full Stack" in follow_up.content and "Evening classes?" in follow_up.content
    assert lead.history.get().history_change_reason == "Web inquiry"


def test_web_leads_go_round_the_takers_in_turn(make_user, sales, other_sales, course):
    takers = [takes_web_leads(sales), takes_web_leads(other_sales), takes_web_leads(make_user(roles.SALES, "sales-c"))]
    make_user(roles.SALES, "not-taking")  # a salesperson who does not take web leads gets none
    owners = [ask(course).consultant for _ in range(9)]

    assert owners[:3] == takers and owners[3:6] == takers and owners[6:] == takers


def test_someone_who_starts_taking_web_leads_joins_the_rotation_without_a_flood(make_user, sales, other_sales, course):
    takes_web_leads(sales), takes_web_leads(other_sales)
    for _ in range(4):
        ask(course)
    newcomer = takes_web_leads(make_user(roles.SALES, "newcomer"))
    owners = Counter(ask(course).consultant for _ in range(6))
    assert owners == {sales: 2, other_sales: 2, newcomer: 2}


def test_the_campus_takers_come_first_then_everyone(make_user, sales, other_sales, course):
    haidian, pudong, online = (factories.BranchFactory(name=name) for name in ("Haidian", "Pudong", "Online"))
    takes_web_leads(sales, branch=haidian)
    takes_web_leads(other_sales, branch=pudong)
    third = takes_web_leads(make_user(roles.SALES, "sales-c"), branch=pudong)

    assert {ask(course, branch=haidian).consultant for _ in range(3)} == {sales}
    assert Counter(ask(course, branch=pudong).consultant for _ in range(4)) == {other_sales: 2, third: 2}
    # Nobody at this campus: every taker, in turn.
    assert {ask(course, branch=online).consultant for _ in range(3)} == {sales, other_sales, third}


def test_without_takers_every_salesperson_gets_web_leads_in_turn(sales, other_sales, manager, course):
    inactive = factories.UserFactory(username="gone", role=roles.SALES, is_active=False)
    takes_web_leads(inactive)  # inactive: not in the rotation, so nobody active "takes" web leads
    owners = Counter(ask(course).consultant for _ in range(6))
    assert owners == {sales: 2, other_sales: 2, manager: 2}


def test_a_known_phone_adds_a_follow_up_and_keeps_the_owner_and_the_data(sales, other_sales, course):
    takes_web_leads(other_sales)
    lead = factories.CustomerFactory(
        consultant=sales,
        name="Han Meimei",
        phone="+8613800138000",
        channel="src=poster",
        source=Customer.Source.WALK_IN,
    )
    before = lead.history.count()

    again = ask(
        course, "138 0013 8000", name="Someone Else", message="Is there a discount?", channel="utm_source=baidu"
    )

    assert again.pk == lead.pk
    lead.refresh_from_db()
    assert (lead.consultant, lead.name, lead.source, lead.channel) == (sales, "Han Meimei", "walk_in", "src=poster")
    assert list(lead.consult_courses.all()) == [course]
    follow_up = lead.follow_ups.get()
    assert (follow_up.consultant, follow_up.next_follow_up) == (sales, timezone.localdate())
    assert follow_up.content.startswith("Asked again about Python Full Stack on the website, as Someone Else.")
    assert "Is there a discount?" in follow_up.content and "utm_source=baidu" in follow_up.content
    assert lead.history.count() == before  # nothing about the lead itself changed
    assert StaffProfile.objects.get(user=other_sales).last_web_lead_at is None  # nobody's turn was used


def test_a_lost_or_archived_lead_asking_again_is_worked_on_again(sales, course):
    lost = factories.CustomerFactory(consultant=sales, status=Customer.Status.LOST, archived_at=timezone.now())
    ask(course, lost.phone)
    lost.refresh_from_db()
    assert (lost.status, lost.archived_at, lost.consultant) == (Customer.Status.FOLLOWING, None, sales)
    assert lost.history.first().history_change_reason == "Asked again on the website"


def test_the_follow_up_is_written_in_the_owners_language(sales, course, monkeypatch):
    # A message the catalogue already translates stands in for the note (the new ones are translated on merge).
    monkeypatch.setattr(inquiries, "NEW_LEAD_NOTE", gettext_lazy("Campus"))
    takes_web_leads(sales, language="zh-hans")
    with translation.override("en"):  # the visitor's language
        lead = ask(course)
    assert lead.follow_ups.get().content == "校区"


def test_channel_keeps_the_campaign_parameters_only():
    params = {"utm_source": " baidu ", "utm_campaign": "spring\x00", "src": "x" * 200, "other": "dropped"}
    assert inquiries.channel_from(params) == f"src={'x' * 60}, utm_source=baidu, utm_campaign=spring"
    assert inquiries.channel_from({}) == ""


@pytest.mark.django_db(transaction=True)
def test_parallel_inquiries_share_web_leads_out_exactly(make_user, course):
    """Twenty at once, four takers: five each (the rotation's rows are locked while one is chosen)."""
    takers = [takes_web_leads(make_user(roles.SALES, f"taker-{i}")) for i in range(4)]
    phones = iter([factories.next_phone() for _ in range(PARALLEL)])

    outcomes = in_parallel(lambda: ask(course, next(phones)).consultant_id)

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    assert Counter(outcomes) == {taker.pk: PARALLEL // 4 for taker in takers}


@pytest.mark.django_db(transaction=True)
def test_the_same_new_phone_twice_at_once_makes_one_lead(sales, course):
    takes_web_leads(sales)
    outcomes = in_parallel(lambda: ask(course, "+8613900139000").pk)
    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    lead = Customer.objects.get()
    assert set(outcomes) == {lead.pk}
    assert lead.follow_ups.count() == PARALLEL  # one for the new lead, one "asked again" for each of the others


def test_the_school_admin_chooses_who_takes_web_leads_on_the_user_page(client, school_admin, sales, course):
    campus = factories.BranchFactory(name="Haidian")
    client.force_login(school_admin)
    url = reverse("admin:auth_user_change", args=[sales.pk])
    page = client.get(url)
    assert "takes web leads" in page.content.decode().lower()
    data = {
        "username": sales.username,
        "email": sales.email,
        "is_active": "on",
        "is_staff": "on",
        "groups": [sales.groups.get().pk],
        "date_joined_0": "2026-01-01",
        "date_joined_1": "08:00:00",
        "staff_profile-TOTAL_FORMS": "1",
        "staff_profile-INITIAL_FORMS": "0",
        "staff_profile-0-takes_web_leads": "on",
        "staff_profile-0-branch": campus.pk,
        "staff_profile-0-language": "zh-hans",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    profile = StaffProfile.objects.get(user=sales)
    assert (profile.takes_web_leads, profile.branch, profile.language) == (True, campus, "zh-hans")
    assert ask(course, branch=campus).consultant == sales
    listed = client.get(reverse("admin:auth_user_changelist"), {"staff_profile__takes_web_leads__exact": "1"})
    assert list(listed.context["cl"].result_list) == [sales]


def test_a_pooled_lead_asking_again_goes_to_whose_turn_it_is_and_the_pool_records_it(
    sales, other_sales, manager, course
):
    from crm.models import PoolMove
    from crm.services import pool

    takes_web_leads(other_sales)
    lead = factories.CustomerFactory(consultant=sales, phone="+8613700137000")
    pool.pool_release(customer=lead, reason="no answer", by=manager)

    again = ask(course, phone="137 0013 7000")

    again.refresh_from_db()
    assert again.pk == lead.pk and again.consultant == other_sales and again.assigned_at is not None
    move = PoolMove.objects.filter(customer=lead).latest("at")
    assert (move.kind, move.to_user, move.by) == (PoolMove.Kind.ASSIGNED, other_sales, None)
    [follow_up] = FollowUp.objects.filter(customer=lead, next_follow_up=timezone.localdate())
    assert follow_up.consultant == other_sales
