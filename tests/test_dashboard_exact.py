"""Every dashboard figure equals a naive count over all rows, before and after every kind of write.

The dashboard reads kept values (each customer's latest follow-up and its next date) and indexes; here each figure
is recomputed the slow, obvious way in Python from every customer and follow-up, and compared, for a manager and
two salespeople, after a follow-up is added, edited and deleted, a lead is claimed, returned to the pool,
reassigned, merged, imported, enrolled, lost, archived and asked about again. The follow-up lists the due figures
link to show exactly that many rows.
"""

import datetime
import io
from collections import Counter
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from crm import reports
from crm.models import Customer, CustomerUserObjectPermission, DueTally, FollowUp, LeadTally, Payment, PaymentTally
from crm.models.leads import WORKED_ON
from crm.models.tallies import STATUS_COLUMNS
from crm.services import enrollment as enrollments
from crm.services import inquiry as inquiries
from crm.services import lead_import, leads, money, pool
from tests import factories, files

pytestmark = pytest.mark.django_db
Status = Customer.Status


def naive(user, sees_all: bool) -> dict:
    """The figures from first principles: the latest follow-up by (created_at, id), the rules in plain Python."""
    today = timezone.localdate()
    customers = list(Customer.objects.all())
    follow_ups = list(FollowUp.objects.all())
    shared = set(CustomerUserObjectPermission.objects.filter(user=user).values_list("content_object_id", flat=True))

    def latest(customer):
        own = [f for f in follow_ups if f.customer_id == customer.pk]
        return max(own, key=lambda f: (f.created_at, f.pk)) if own else None

    def reaches(customer):
        return sees_all or customer.consultant_id == user.pk or (customer.pk in shared and customer.consultant_id)

    def counts(customer):  # a salesperson's figures are their own leads (a shared lead is its owner's figure)
        return sees_all or customer.consultant_id == user.pk

    due_today = overdue = calls = 0
    for customer in filter(reaches, customers):
        last = latest(customer)
        if last is None or last.next_follow_up is None or customer.archived_at or customer.status == Status.LOST:
            continue
        due_today += last.next_follow_up == today
        overdue += last.next_follow_up < today and customer.status != Status.ENROLLED
        if customer.consultant_id == user.pk:  # the top bar: one's own calls due today or overdue
            calls += last.next_follow_up == today or (
                last.next_follow_up < today and customer.status != Status.ENROLLED
            )
    counted = [c for c in customers if reaches(c) and counts(c)]
    labels = dict(Customer.Source.choices)
    figures = {
        "due": [due_today, overdue],
        "calls": calls,
        "sources": Counter(),
        "funnel": Counter(c.status for c in counted),
        "months": Counter(),
    }
    for customer in counted:
        label = str(labels.get(customer.source, customer.source) if customer.source else reports.NO_SOURCE)
        figures["sources"][(label, "leads")] += 1
        figures["sources"][(label, "enrolled")] += customer.status == Status.ENROLLED
        month = timezone.localtime(customer.created_at).date().replace(day=1)
        figures["months"][(month, "leads")] += 1
        figures["months"][(month, "enrolled")] += customer.status == Status.ENROLLED
    figures["months"] = [
        (figures["months"][(month, "leads")], figures["months"][(month, "enrolled")])
        for month in sorted({month for month, _kind in figures["months"]})
    ]
    if sees_all:
        figures["salespeople"] = Counter(c.consultant_id for c in counted)
        payments, totals = Counter(), Counter()
        for payment in Payment.objects.select_related("course"):
            key = (timezone.localtime(payment.paid_at).date().replace(day=1), payment.course.name)
            payments[key] += 1
            totals[key] += payment.amount
        latest_first = sorted(payments, key=lambda key: (-key[0].toordinal(), key[1]))
        figures["payments"] = [(name, payments[(month, name)], totals[(month, name)]) for month, name in latest_first]
    return figures


def shown(user, sees_all: bool) -> dict:
    board = reports.dashboard(user)
    cache.clear()  # the top bar's count is kept a minute
    figures = {"due": [cell.value for cell in board.follow_ups], "calls": reports.calls_to_make(user).value}
    figures["sources"] = Counter()
    for row in board.table("sources").rows:
        figures["sources"][(str(row[0].value), "leads")] = row[1].value
        figures["sources"][(str(row[0].value), "enrolled")] = row[2].value
    # Month labels are formatted for people: compare each month's counts, in order.
    figures["months"] = [(row[1].value, row[2].value) for row in board.table("months").rows]
    status_labels = {str(label): value for value, label in Customer.Status.choices}
    figures["funnel"] = Counter(
        {status_labels[str(row[0].value)]: row[1].value for row in board.table("funnel").rows if row[1].value}
    )
    if sees_all:
        salespeople = Counter()
        names = {}
        for customer in Customer.objects.select_related("consultant"):
            if customer.consultant:
                name = customer.consultant.get_full_name() or customer.consultant.get_username()
                names[name] = customer.consultant_id
        for row in board.table("salespeople").rows:
            salespeople[names.get(str(row[0].value))] = row[1].value
        figures["salespeople"] = salespeople
        figures["payments"] = [(str(row[1].value), row[2].value, row[3].value) for row in board.table("payments").rows]
    return figures


def drop_zeros(figures: dict) -> dict:
    return {key: (+value if isinstance(value, Counter) else value) for key, value in figures.items()}


@pytest.fixture
def people(sales, other_sales, manager):
    return [(manager, True), (sales, False), (other_sales, False)]


@pytest.fixture
def book(sales, other_sales, manager):
    """Leads of both salespeople in every state, with follow-ups due in the past, today and later."""
    today = timezone.localdate()
    made = {}
    for owner in (sales, other_sales):
        for status in Status.values:
            for days in (-3, 0, 4):
                customer = factories.CustomerFactory(consultant=owner, status=status)
                Customer.objects.filter(pk=customer.pk).update(
                    created_at=timezone.now() - datetime.timedelta(days=40 * (days + 3))
                )
                factories.FollowUpFactory(customer=customer, next_follow_up=today + datetime.timedelta(days=days + 5))
                factories.FollowUpFactory(customer=customer, next_follow_up=today + datetime.timedelta(days=days))
                made[(owner.username, status, days)] = customer
    bare = factories.CustomerFactory(consultant=sales, name="No follow-up yet")
    made["bare"] = bare
    made["campus"] = factories.CustomerFactory(consultant=other_sales, branch=factories.BranchFactory())
    archived = made[(sales.username, Status.FOLLOWING, -3)]
    leads.customers_archive(customers=[archived], by=manager)
    leads.customer_share(customers=[made[(other_sales.username, Status.NEW, 0)]], with_user=sales, by=manager)
    return made


def tallies_are_recounts():
    """Each tally kept on write holds exactly a recount of its rows, every key, nothing negative."""
    recount = Counter(
        (
            timezone.localtime(c.created_at).date().replace(day=1),
            c.consultant_id or 0,
            c.branch_id or 0,
            c.source,
            c.status,
        )
        for c in Customer.objects.all()
    )
    kept = Counter()
    for t in LeadTally.objects.all():
        for status, column in STATUS_COLUMNS.items():
            kept[(t.month, t.owner, t.branch, t.source, status)] = getattr(t, column)
    assert min(kept.values(), default=0) >= 0
    assert +kept == recount

    in_use = Customer.objects.filter(archived_at__isnull=True, next_follow_up__isnull=False, status__in=WORKED_ON)
    recount = Counter((c.next_follow_up, c.consultant_id or 0, c.status == Status.ENROLLED) for c in in_use)
    kept = Counter()
    for t in DueTally.objects.all():
        kept[(t.day, t.owner, False)], kept[(t.day, t.owner, True)] = t.can_be_late, t.enrolled
    assert min(kept.values(), default=0) >= 0
    assert +kept == recount

    recount = Counter()
    for p in Payment.objects.all():
        month = timezone.localtime(p.paid_at).date().replace(day=1)
        recount[(month, p.course_id, "payments")] += 1
        recount[(month, p.course_id, "cents")] += int(p.amount * 100)
    kept = Counter()
    for t in PaymentTally.objects.all():
        kept[(t.month, t.course, "payments")], kept[(t.month, t.course, "cents")] = t.payments, t.cents
    assert {key: value for key, value in kept.items() if value} == {k: v for k, v in recount.items() if v}


def check(people, client_for=None):
    tallies_are_recounts()
    for user, sees_all in people:
        assert drop_zeros(shown(user, sees_all)) == drop_zeros(naive(user, sees_all)), user
        if sees_all:  # the payments read from the tally, and grouped from the payments (a range that takes them all)
            every_lead = reports.Filters(date_from=datetime.date(2000, 1, 1))
            assert reports.payments_by_month(user, reports.Filters()) == reports.payments_by_month(user, every_lead)
        if client_for is not None:
            client = client_for(user)
            for due, figure in zip(("today", "overdue"), naive(user, sees_all)["due"], strict=True):
                response = client.get(reverse("admin:crm_followup_changelist"), {"due": due})
                assert response.context["cl"].result_count == figure, (user, due)


def test_the_figures_match_a_naive_count_before_and_after_every_kind_of_write(
    book, people, sales, other_sales, manager, client_for, settings
):
    check(people, client_for)
    today = timezone.localdate()

    # a follow-up added, then edited, then the latest one deleted (the one before it counts again)
    lead = book[(sales.username, Status.NEW, 4)]
    added = leads.follow_up_save(follow_up=FollowUp(customer=lead, content="Call back", next_follow_up=today), by=sales)
    check(people, client_for)
    added.next_follow_up = today - datetime.timedelta(days=1)
    leads.follow_up_save(follow_up=added, by=sales)
    check(people, client_for)
    added.delete()
    check(people)

    # released to the pool, claimed by a colleague, assigned back, returned idle
    released = book[(sales.username, Status.FOLLOWING, 0)]
    pool.pool_release(customer=released, reason="moved", by=manager)
    check(people)
    settings.POOL_RECLAIM_DAYS = 0
    pool.pool_claim(customer=Customer.objects.get(pk=released.pk), by=other_sales)
    check(people, client_for)
    leads.customer_reassign(customer=Customer.objects.get(pk=released.pk), to=sales, by=manager)
    check(people)
    pool.pool_return_idle(now=timezone.now() + datetime.timedelta(days=400), days=15)
    check(people, client_for)
    for customer in Customer.objects.filter(consultant__isnull=True)[:4]:
        pool.pool_assign(customer=customer, to=sales, by=manager)
    check(people)

    # merged: the duplicate's follow-ups move to the survivor (its latest may now be the duplicate's)
    survivor, duplicate = book[(sales.username, Status.NEW, -3)], book[(other_sales.username, Status.FOLLOWING, 4)]
    leads.customer_merge(survivor=survivor, duplicate=duplicate, by=manager)
    check(people, client_for)

    # imported: a new lead and a known phone (filled in, nothing else changes)
    known = Customer.objects.filter(consultant=sales).first()
    upload = io.BytesIO(f"name,phone\nNew Person,13700137000\nKnown,{known.phone}\n".encode())
    upload.name = "leads.csv"
    preview = lead_import.lead_import_preview(upload=upload, by=sales)
    lead_import.lead_import_confirm(lead_import=preview, by=sales)
    check(people, client_for)

    # enrolled: the customer is no longer late, though a call due today still counts
    enrolling = Customer.objects.filter(consultant=sales, status=Status.FOLLOWING, archived_at__isnull=True).first()
    enrollment = enrollments.enrollment_start(customer=enrolling, class_grade=factories.ClassGradeFactory(), by=sales)
    enrollments.documents_add(enrollment=enrollment, uploads=[files.png()])
    enrollments.enrollment_submit(
        enrollment=enrollment,
        data=factories.student_data(),
        agreed=True,
        shown_digest=enrollments.contract_digest(enrollment),
    )
    enrollments.enrollment_approve(
        enrollment=enrollment,
        by=sales,
        amount=Decimal("9800.00"),
        method="alipay",
        set_password_url=lambda user: "https://school.example/set-password/",
    )
    assert Customer.objects.get(pk=enrolling.pk).status == Status.ENROLLED
    check(people, client_for)

    # paid: a payment of another course last month, one reversed, one moved to another month, one deleted
    earlier = factories.PaymentFactory(
        customer=enrolling, amount=Decimal("120.50"), paid_at=timezone.now() - datetime.timedelta(days=35)
    )
    recorded = factories.PaymentFactory.build(
        customer=enrolling, course=factories.CourseFactory(), amount=Decimal("0.10")
    )
    money.payment_record(payment=recorded, by=manager)
    check(people)
    money.payment_reverse(payment=earlier, by=manager)
    check(people)
    Payment.objects.filter(pk=earlier.pk).update(paid_at=timezone.now() - datetime.timedelta(days=70))
    check(people)
    factories.PaymentFactory(customer=enrolling, amount=Decimal("33.33")).delete()
    check(people)

    # lost, then archived: nobody's call any more
    lost = Customer.objects.get(pk=book[(other_sales.username, Status.NEW, -3)].pk)
    lost.status = Status.LOST
    leads.customer_save(customer=lost, by=other_sales)
    check(people, client_for)
    leads.customers_archive(customers=[Customer.objects.get(pk=book[(sales.username, Status.NEW, 0)].pk)], by=manager)
    check(people, client_for)

    # asked again from the website: a follow-up due today for the owner
    asked = Customer.objects.get(pk=book[(other_sales.username, Status.FOLLOWING, -3)].pk)
    inquiries.inquiry_submit(
        inquiry=inquiries.Inquiry(name="Again", phone=asked.phone, course=factories.CourseFactory())
    )
    check(people, client_for)


def test_a_stale_customer_instance_never_puts_back_an_old_follow_up_summary(sales):
    customer = factories.CustomerFactory(consultant=sales)
    stale = Customer.objects.get(pk=customer.pk)
    follow_up = factories.FollowUpFactory(customer=customer, next_follow_up=timezone.localdate())
    stale.name = "Renamed"
    leads.customer_save(customer=stale, by=sales)
    customer.refresh_from_db()
    assert (customer.name, customer.latest_follow_up_id, customer.next_follow_up) == (
        "Renamed",
        follow_up.pk,
        follow_up.next_follow_up,
    )
