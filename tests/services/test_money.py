"""Money: the price and its discount, the plan, payments settling it oldest first, refunds, reversals, lessons
used (课消); every sum exact to the cent."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from crm import ledger
from crm.models import Enrollment, Installment, Payment, Refund, StudyRecord
from crm.services import enrollment as enrollments
from crm.services import money
from tests import factories, files

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = timezone.localdate()


def days(n: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=n)


@pytest.fixture
def course():
    return factories.CourseFactory(name="Python 全栈", price=D("19800.00"), lessons=40)


@pytest.fixture
def enrollment(sales, course):
    customer = factories.CustomerFactory(consultant=sales, name="王芳", email="wang@example.com")
    enrollment = enrollments.enrollment_start(
        customer=customer, class_grade=factories.ClassGradeFactory(course=course), by=sales
    )
    enrollments.documents_add(enrollment=enrollment, uploads=[files.png()])
    return enrollment


def submitted(enrollment):
    factories.submit_enrollment(enrollment)
    enrollment.refresh_from_db()
    return enrollment


def approve(enrollment, by, amount, installments=()):
    enrollments.enrollment_approve(
        enrollment=enrollment,
        by=by,
        amount=D(amount),
        method="alipay",
        set_password_url=lambda user: "https://school.example/set/",
        installments=installments,
    )
    enrollment.refresh_from_db()
    return enrollment


def plan(*rows):
    return [money.PlannedInstallment(days(offset), D(amount)) for offset, amount in rows]


def pay(enrollment, amount, by, **extra):
    payment = Payment(customer=enrollment.customer, enrollment=enrollment, amount=D(amount), method="cash", **extra)
    payment.paid_at = extra.get("paid_at", timezone.now())
    return money.payment_record(payment=payment, by=by)


# --- price and discount


def test_price_defaults_to_the_course_price(enrollment, course):
    assert enrollment.price == course.price == D("19800.00")


def test_a_discount_needs_a_reason(enrollment, sales):
    with pytest.raises(ValidationError) as error:
        money.enrollment_price_set(enrollment=enrollment, price=D("18800.00"), reason="", by=sales)
    assert "discount_reason" in error.value.message_dict
    enrollment.refresh_from_db()
    assert enrollment.price == D("19800.00")


def test_a_small_discount_needs_no_approval(enrollment, sales, settings):
    settings.DISCOUNT_APPROVAL_PERCENT = 10
    money.enrollment_price_set(enrollment=enrollment, price=D("17820.00"), reason="Early bird", by=sales)  # 10 %
    enrollment.refresh_from_db()
    assert not ledger.discount_awaits_approval(enrollment)
    assert approve(submitted(enrollment), sales, "17820.00").status == Enrollment.Status.APPROVED


def test_a_large_discount_waits_for_a_manager(enrollment, sales, manager, settings):
    settings.DISCOUNT_APPROVAL_PERCENT = 10
    money.enrollment_price_set(enrollment=enrollment, price=D("15000.00"), reason="Alumni", by=sales)
    enrollment = submitted(enrollment)
    assert ledger.discount_awaits_approval(enrollment)
    with pytest.raises(ValidationError) as error:
        approve(enrollment, sales, "15000.00")
    assert error.value.code == "discount_approval"
    with pytest.raises(PermissionDenied):
        money.enrollment_discount_approve(enrollment=enrollment, by=sales)

    money.enrollment_discount_approve(enrollment=enrollment, by=manager)
    enrollment.refresh_from_db()
    assert enrollment.discount_approved_by == manager
    assert approve(enrollment, sales, "15000.00").status == Enrollment.Status.APPROVED
    assert enrollment.history.filter(price=D("15000.00"), history_user=sales).exists()


def test_a_managers_own_discount_is_approved_at_once(enrollment, manager):
    money.enrollment_price_set(enrollment=enrollment, price=D("9900.00"), reason="Staff", by=manager)
    enrollment.refresh_from_db()
    assert enrollment.discount_approved_by == manager and not ledger.discount_awaits_approval(enrollment)


def test_the_price_of_an_approved_enrollment_is_fixed(enrollment, sales):
    enrollment = approve(submitted(enrollment), sales, "19800.00")
    with pytest.raises(ValidationError):
        money.enrollment_price_set(enrollment=enrollment, price=D("100.00"), reason="oops", by=sales)


# --- approval with a partial payment, the plan, payments settling it


def test_approving_a_partial_payment_asks_for_the_plan(enrollment, sales):
    enrollment = submitted(enrollment)
    with pytest.raises(ValidationError) as error:
        approve(enrollment, sales, "10000.00")
    assert error.value.code == "plan_needed"
    with pytest.raises(ValidationError) as error:
        approve(enrollment, sales, "10000.00", plan((30, "5000.00"), (60, "4000.00")))
    assert error.value.code == "plan_sum"
    with pytest.raises(ValidationError) as error:
        approve(enrollment, sales, "20000.00")
    assert "amount" in error.value.message_dict
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.SUBMITTED and not Payment.objects.exists()


def test_the_plan_sums_to_the_price_and_payments_settle_it_oldest_first(enrollment, sales):
    enrollment = approve(submitted(enrollment), sales, "10000.00", plan((60, "4800.00"), (30, "5000.00")))
    installments = list(enrollment.installments.order_by("due_date"))
    assert [i.amount for i in installments] == [D("10000.00"), D("5000.00"), D("4800.00")]
    assert sum(i.amount for i in installments) == enrollment.price
    first, second, third = installments
    assert first.payment is not None and second.payment is None and third.payment is None
    assert ledger.account(enrollment).balance_due == D("9800.00")

    pay(enrollment, "3000.00", sales)  # not enough for the next installment
    second.refresh_from_db()
    assert second.payment is None
    settling = pay(enrollment, "2000.00", sales)  # 5,000 now: the oldest one is settled
    second.refresh_from_db(), third.refresh_from_db()
    assert second.payment == settling and third.payment is None
    with pytest.raises(ValidationError) as error:
        pay(enrollment, "4800.01", sales)
    assert "amount" in error.value.message_dict
    last = pay(enrollment, "4800.00", sales)
    third.refresh_from_db()
    assert third.payment == last
    assert ledger.account(enrollment).balance_due == D("0.00")


def test_a_new_plan_cancels_the_open_installments(enrollment, sales):
    enrollment = approve(submitted(enrollment), sales, "9800.00", plan((10, "10000.00")))
    pay(enrollment, "1000.00", sales)
    with pytest.raises(ValidationError):
        money.plan_set(enrollment=enrollment, installments=plan((20, "8000.00")), by=sales)
    money.plan_set(enrollment=enrollment, installments=plan((20, "4000.00"), (40, "5000.00")), by=sales)
    open_ = ledger.open_installments(enrollment.installments.all())
    assert [i.amount for i in open_] == [D("4000.00"), D("5000.00")]
    assert enrollment.installments.exclude(cancelled_at=None).get().amount == D("10000.00")
    pay(enrollment, "4000.00", sales)
    assert [i.amount for i in ledger.open_installments(enrollment.installments.all())] == [D("5000.00")]


def test_overdue_installments_for_the_salesperson_and_finance(enrollment, sales, other_sales, finance, manager):
    enrollment = approve(submitted(enrollment), sales, "9800.00", plan((1, "5000.00"), (30, "5000.00")))
    overdue = enrollment.installments.get(due_date=days(1))
    Installment.objects.filter(pk=overdue.pk).update(due_date=days(-3))  # time passes
    assert list(ledger.overdue_installments_for(sales)) == [overdue]
    assert list(ledger.overdue_installments_for(finance)) == [overdue]
    assert list(ledger.overdue_installments_for(manager)) == [overdue]
    assert list(ledger.overdue_installments_for(other_sales)) == []
    pay(enrollment, "5000.00", sales)
    assert list(ledger.overdue_installments_for(sales)) == []


# --- refunds


@pytest.fixture
def paid(enrollment, sales):
    """¥19,800 agreed at ¥18,000 with a reason; ¥12,000 paid now and ¥6,000 later, by plan."""
    money.enrollment_price_set(enrollment=enrollment, price=D("18000.00"), reason="Referral", by=sales)
    enrollment = approve(submitted(enrollment), sales, "12000.00", plan((30, "6000.00")))
    return enrollment


def request_refund(enrollment, amount, by, ends_place=False):
    refund = Refund(enrollment=enrollment, amount=D(amount), reason="Moving away", ends_place=ends_place)
    return money.refund_request(refund=refund, by=by)


def test_refunds_never_exceed_what_was_paid(paid, sales):
    request_refund(paid, "7000.00", sales)
    with pytest.raises(ValidationError) as error:
        request_refund(paid, "5000.01", sales)  # 12,000 paid, 7,000 already asked for
    assert "amount" in error.value.message_dict
    request_refund(paid, "5000.00", sales)
    assert ledger.refundable(paid) == D("0.00")


def test_a_rejected_refund_frees_the_amount_and_an_approved_one_is_a_negative_movement(paid, sales, finance):
    refund = request_refund(paid, "3000.00", sales)
    money.refund_reject(refund=refund, by=finance, note="Contract says no")
    assert ledger.refundable(paid) == D("12000.00")
    refund = request_refund(paid, "2500.50", sales)
    with pytest.raises(PermissionDenied):
        money.refund_approve(refund=refund, by=sales)
    money.refund_approve(refund=refund, by=finance, note="OK")
    refund.refresh_from_db()
    assert (refund.status, refund.decided_by, refund.decision_note) == (Refund.Status.APPROVED, finance, "OK")
    account = ledger.account(paid)
    assert (account.paid, account.refunded, account.net_paid) == (D("12000.00"), D("2500.50"), D("9499.50"))
    assert account.balance_due == D("18000.00") - D("12000.00") + D("2500.50") == D("8500.50")
    with pytest.raises(ValidationError):
        money.refund_approve(refund=refund, by=finance)  # decided once
    assert refund.history.count() == 2


def test_an_approved_refund_can_end_the_place_and_the_portal_login(paid, sales, manager):
    student = paid.customer.student
    refund = request_refund(paid, "1000.00", sales, ends_place=True)
    money.refund_approve(refund=refund, by=manager)
    paid.refresh_from_db()
    student.user.refresh_from_db()
    assert paid.ended_at is not None
    assert not student.classes.filter(pk=paid.class_grade_id).exists()
    assert not student.user.is_active
    assert not ledger.open_installments(paid.installments.all()).exists()  # nothing left to chase
    assert not ledger.owing(Enrollment.objects.filter(pk=paid.pk)).exists()


# --- reversals


def test_a_reversal_undoes_a_payment_and_keeps_both(paid, sales, manager):
    later = pay(paid, "6000.00", sales)
    assert ledger.account(paid).balance_due == D("0.00")
    with pytest.raises(PermissionDenied):
        money.payment_reverse(payment=later, by=sales)
    reversal = money.payment_reverse(payment=later, by=manager, note="Bank returned it")
    assert reversal.amount == D("-6000.00") and reversal.reverses == later
    assert ledger.account(paid).balance_due == D("6000.00")
    assert paid.installments.get(amount=D("6000.00")).payment is None  # open again
    with pytest.raises(ValidationError):
        money.payment_reverse(payment=later, by=manager)
    with pytest.raises(ValidationError):
        money.payment_reverse(payment=reversal, by=manager)
    assert Payment.objects.filter(enrollment=paid).count() == 3


def test_a_reversal_cannot_leave_less_paid_than_refunds(paid, sales, manager):
    first = paid.payments.get()
    request_refund(paid, "1.00", sales)
    with pytest.raises(ValidationError) as error:
        money.payment_reverse(payment=first, by=manager)
    assert error.value.code == "below_refunds"


# --- lessons used (课消)


def lessons(class_grade, teacher, attendances, student, start=-10):
    """Lessons of the class on past days (and one tomorrow), the student's attendance at each."""
    for offset, attendance in enumerate(attendances):
        lesson = factories.CourseRecordFactory(
            class_grade=class_grade, teacher=teacher, day_num=offset + 1, date=days(start + offset)
        )
        StudyRecord.objects.update_or_create(student=student, course_record=lesson, defaults={"attendance": attendance})


def test_lessons_used_revenue_recognized_and_suggested_refund(paid, sales, teacher, settings):
    settings.REFUND_FEE = D("500.00")
    student = paid.customer.student
    lessons(paid.class_grade, teacher, ["present", "late", "absent", "left_early", "present"], student)
    tomorrow = factories.CourseRecordFactory(class_grade=paid.class_grade, teacher=teacher, day_num=9, date=days(1))
    StudyRecord.objects.create(student=student, course_record=tomorrow)  # present by default, not held yet
    account = ledger.account(paid)
    assert (account.lessons, account.lessons_used, account.lessons_left) == (40, 4, 36)
    assert account.recognized == D("18000.00") * 4 / 40 == D("1800.00")
    assert account.suggested_refund == D("12000.00") - D("1800.00") - D("500.00")

    settings.ABSENCE_USES_LESSON = True
    assert ledger.account(paid).lessons_used == 5
    assert ledger.lessons_left_by_class(student) == {paid.class_grade_id: 35}


def test_recognized_revenue_rounds_to_the_cent(enrollment, sales, teacher, course):
    course.lessons = 3
    course.save()
    enrollment = approve(submitted(enrollment), sales, "19800.00")
    lessons(enrollment.class_grade, teacher, ["present"], enrollment.customer.student)
    assert ledger.account(enrollment).recognized == D("6600.00")
    assert ledger.recognized(D("10000.00"), 1, 3) == D("3333.33")


def test_the_plan_and_refunds_keep_history(paid, sales, finance):
    refund = request_refund(paid, "100.00", sales)
    money.refund_approve(refund=refund, by=finance)
    assert Installment.history.filter(enrollment_id=paid.pk).exists()
    assert Refund.history.filter(id=refund.pk, history_user=finance).exists()
