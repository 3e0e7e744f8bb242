"""The admin as the school's staff meet it: every page renders, forms refuse bad input in words."""

import pytest
from django.contrib import admin
from django.urls import reverse

from crm import roles
from crm.models import Customer, FollowUp
from crm.services.leads import DUPLICATE_PHONE
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_of_each():
    """A row of every registered model, so change and history pages have something to show."""
    record = factories.StudyRecordFactory()
    factories.FollowUpFactory(customer=record.student.customer)
    enrollment = factories.EnrollmentFactory(
        customer=record.student.customer, class_grade=record.course_record.class_grade, status="approved"
    )
    payment = factories.PaymentFactory(customer=record.student.customer, enrollment=enrollment, amount=1000)
    factories.InstallmentFactory(enrollment=enrollment, payment=payment)
    factories.RefundFactory(enrollment=enrollment)
    factories.TagFactory()
    from io import BytesIO

    from crm.services.lead_import import lead_import_preview

    upload = BytesIO(b"name,phone\nLi,13800138000\n")
    lead_import_preview(upload=upload, by=record.student.customer.consultant, name="leads.csv")
    from crm.services.privacy import Action, access_record

    access_record(by=record.student.customer.consultant, action=Action.EXPORT, rows=1)
    factories.CustomerFactory(consultant=None, name="Pooled")  # the lead pool's row
    # The jobs' schedules: the crontab ones from migration 0014_job_schedules, the other kinds made here.
    from django_celery_beat import models as beat

    factories.job_schedules()

    beat.IntervalSchedule.objects.create(every=1, period=beat.IntervalSchedule.HOURS)
    beat.SolarSchedule.objects.create(event="sunrise", latitude=31.23, longitude=121.47)
    beat.ClockedSchedule.objects.create(clocked_time="2030-01-01T00:00:00+08:00")
    return record


def registered():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


@pytest.mark.parametrize("model", [m for m, _ in registered()], ids=lambda m: m._meta.label)
def test_every_admin_page_renders_for_the_school_admin(client, rf, school_admin, one_of_each, model):
    client.force_login(school_admin)
    request = rf.get("/")
    request.user = school_admin
    model_admin = admin.site._registry[model]
    may_add = model_admin.has_add_permission(request)
    info = model._meta.app_label, model._meta.model_name
    obj = model_admin.get_queryset(request).order_by("pk").first()
    assert obj is not None, f"no {model._meta.label} row to open"
    may_open = model_admin.has_view_or_change_permission(request, obj)  # the pool's rows open nowhere
    pages = [
        reverse("admin:%s_%s_changelist" % info),
        reverse("admin:%s_%s_changelist" % info) + "?q=a",
        reverse("admin:%s_%s_add" % info),
        reverse("admin:%s_%s_change" % info, args=[obj.pk]),
        reverse("admin:%s_%s_history" % info, args=[obj.pk]),
    ]
    for url in pages:
        response = client.get(url)
        expected = 200
        if url.endswith("/add/") and not may_add:  # e.g. imports come from files only
            expected = 403
        if url.endswith(("/change/", "/history/")) and not may_open:
            expected = 403
        assert response.status_code == expected, url


def test_dashboard_renders_for_every_role(client, sales, manager, teacher, school_admin, one_of_each):
    for user in (sales, manager, teacher, school_admin):
        client.force_login(user)
        response = client.get(reverse("admin:index"))
        assert response.status_code == 200
        assert b"crm-dashboard" in response.content


def customer_form(**overrides):
    data = {
        "name": "Li Lei",
        "phone": "138 0013 8000",
        "source": Customer.Source.WEBSITE,
        "status": Customer.Status.NEW,
        "follow_ups-TOTAL_FORMS": "0",
        "follow_ups-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_salesperson_adds_a_customer_and_owns_it(client, sales):
    client.force_login(sales)
    response = client.post(reverse("admin:crm_customer_add"), customer_form())
    assert response.status_code == 302
    customer = Customer.objects.get(phone="+8613800138000")
    assert customer.consultant == sales
    assert customer.history.first().history_user == sales


def test_duplicate_phone_in_the_admin_is_a_form_error_naming_the_owner(client, sales, other_sales):
    factories.CustomerFactory(phone="+8613800138000", consultant=other_sales, name="Secret Name")
    client.force_login(sales)
    response = client.post(reverse("admin:crm_customer_add"), customer_form(phone="138-0013-8000"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["phone"]
    owner = other_sales.get_full_name() or other_sales.username
    assert errors == [DUPLICATE_PHONE % {"owner": owner}]
    assert b"Secret Name" not in response.content
    assert Customer.objects.count() == 1


def test_invalid_phone_in_the_admin_is_a_form_error(client, sales):
    client.force_login(sales)
    response = client.post(reverse("admin:crm_customer_add"), customer_form(phone="12345"))
    assert response.status_code == 200
    assert "phone" in response.context["adminform"].form.errors
    assert not Customer.objects.exists()


def test_follow_up_inline_lists_newest_first_and_records_the_author(client, sales):
    customer = factories.CustomerFactory(consultant=sales)
    older = factories.FollowUpFactory(customer=customer, content="first call")
    newer = factories.FollowUpFactory(customer=customer, content="second call")
    client.force_login(sales)
    url = reverse("admin:crm_customer_change", args=[customer.pk])
    page = client.get(url).content.decode()
    assert page.index(newer.content) < page.index(older.content)

    data = customer_form(phone=customer.phone, name=customer.name)
    data.update(
        {
            "follow_ups-TOTAL_FORMS": "1",
            "follow_ups-INITIAL_FORMS": "0",
            "follow_ups-0-content": "Third call: wants the weekend class",
            "follow_ups-0-intention": FollowUp.Intention.WITHIN_MONTH,
            "follow_ups-0-customer": customer.pk,
        }
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    added = customer.follow_ups.get(content__startswith="Third call")
    assert added.consultant == sales
    customer.refresh_from_db()
    assert customer.status == Customer.Status.FOLLOWING


def test_history_page_shows_who_changed_what(client, sales):
    client.force_login(sales)
    client.post(reverse("admin:crm_customer_add"), customer_form())
    customer = Customer.objects.get()
    client.post(
        reverse("admin:crm_customer_change", args=[customer.pk]),
        customer_form(name="Li Lei Jr.", phone=customer.phone),
    )
    page = client.get(reverse("admin:crm_customer_history", args=[customer.pk])).content.decode()
    assert "Li Lei Jr." in page
    assert sales.username in page


def test_customer_search_finds_any_spelling_of_a_phone(client, sales):
    factories.CustomerFactory(phone="+8613800138000", consultant=sales, name="Han Meimei")
    client.force_login(sales)
    response = client.get(reverse("admin:crm_customer_changelist"), {"q": "138 0013 8000"})
    assert b"Han Meimei" in response.content


def test_due_filter_lists_only_the_latest_follow_up_of_each_customer(client, sales):
    import datetime

    from django.utils import timezone

    today = timezone.localdate()
    customer = factories.CustomerFactory(consultant=sales, name="Overdue Olga")
    factories.FollowUpFactory(customer=customer, next_follow_up=today - datetime.timedelta(days=3))
    kept = factories.CustomerFactory(consultant=sales, name="Kept Karl")
    factories.FollowUpFactory(customer=kept, next_follow_up=today - datetime.timedelta(days=3))
    factories.FollowUpFactory(customer=kept, next_follow_up=today + datetime.timedelta(days=3))
    today_customer = factories.CustomerFactory(consultant=sales, name="Today Tina")
    factories.FollowUpFactory(customer=today_customer, next_follow_up=today)
    client.force_login(sales)
    url = reverse("admin:crm_followup_changelist")
    overdue = client.get(url, {"due": "overdue"}).content.decode()
    assert "Overdue Olga" in overdue and "Kept Karl" not in overdue and "Today Tina" not in overdue
    due_today = client.get(url, {"due": "today"}).content.decode()
    assert "Today Tina" in due_today and "Overdue Olga" not in due_today


def test_follow_up_list_has_the_phone_to_call(client, sales):
    """Issue 18, point 7: the list of calls to make carries each customer's number, a tel: link."""
    customer = factories.CustomerFactory(consultant=sales, phone="+8613911114444")
    factories.FollowUpFactory(customer=customer)
    client.force_login(sales)
    page = client.get(reverse("admin:crm_followup_changelist")).content.decode()
    assert '<a href="tel:+8613911114444">+86 139 1111 4444</a>' in page


def test_the_class_form_offers_active_teachers_only(client, school_admin, teacher, sales, make_user):
    retired = make_user(roles.TEACHER, "teacher-retired", is_active=False)
    client.force_login(school_admin)
    picker = {"app_label": "crm", "model_name": "classgrade", "field_name": "teachers", "term": ""}
    offered = {int(row["id"]) for row in client.get(reverse("admin:autocomplete"), picker).json()["results"]}
    assert teacher.pk in offered and not offered & {sales.pk, retired.pk, school_admin.pk}
    form = client.get(reverse("admin:crm_classgrade_add")).context["adminform"].form
    assert list(form.fields["teachers"].queryset) == [teacher]


def test_the_customer_pages_hold_my_leads_and_those_shared_with_me_newest_first_each_once(
    client, sales, other_sales, manager
):
    """The list finds a page's ids first (crm.admin.base.SortedIdsPaginator): its pages still follow the list's order,
    with every lead the salesperson reaches once and no other."""
    import datetime

    from django.utils import timezone

    from crm.services.leads import customer_share

    start = timezone.now() - datetime.timedelta(days=200)
    for day in range(60):
        for owner in (sales, other_sales):
            customer = factories.CustomerFactory(consultant=owner)
            Customer.objects.filter(pk=customer.pk).update(created_at=start + datetime.timedelta(days=day))
    shared = Customer.objects.filter(consultant=other_sales).order_by("pk")[:5]
    customer_share(customers=list(shared), with_user=sales, by=manager)
    reached = Customer.objects.filter(consultant=sales) | Customer.objects.filter(pk__in=[c.pk for c in shared])
    expected = list(reached.order_by("-created_at", "-id").values_list("pk", flat=True))
    client.force_login(sales)
    shown = []
    for page in (1, 2):
        shown += [
            row.pk
            for row in client.get(reverse("admin:crm_customer_changelist"), {"p": page}).context["cl"].result_list
        ]
    assert shown == expected  # 50 and 15, in the list's order
