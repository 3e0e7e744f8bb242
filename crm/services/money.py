"""Money writes: the agreed price and its discount, the plan of installments, payments and their reversal,
refunds and their decision.

Each write locks the enrollment's row first, so one enrollment's money changes one step at a time: two refunds
asked at once cannot both fit under what was paid (a row lock on PostgreSQL; on SQLite the database's write lock,
taken when the transaction starts). Money rows are never deleted: a reversal, a cancelled installment or a
rejected refund stays, with its history.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm import access, ledger
from crm.models import Enrollment, Installment, Payment, Refund, Student
from crm.money_format import format_money

APPROVED = Enrollment.Status.APPROVED

DISCOUNT_NEEDS_REASON = _("A price below the course's price needs a reason for the discount.")
DISCOUNT_AWAITS_APPROVAL = _(
    "The discount is more than %(percent)s%% of the course's price: a sales manager must approve it first."
)
PRICE_FIXED = _("The price of an approved enrollment no longer changes.")
OVERPAID = _("This is more than the balance due (%(balance)s).")
PLAN_NEEDED = _("The payment covers only part of the price: plan installments for the remaining %(amount)s.")
PLAN_MUST_SUM = _("The installments must add up to %(amount)s; they add up to %(total)s.")
PLAN_EMPTY = _("Plan at least one installment.")
NOT_ENROLLED = _("Only an approved enrollment whose place goes on has money to plan or refund.")
WRONG_CUSTOMER = _("This enrollment is another customer's.")
REFUND_TOO_MUCH = _(
    "At most %(amount)s can be refunded: what was paid, less the refunds already asked for or approved."
)
ALREADY_DECIDED = _("This refund was already decided (%(status)s).")
ALREADY_REVERSED = _("This payment was already reversed.")
NOT_REVERSIBLE = _("A reversal cannot itself be reversed.")
REVERSAL_BELOW_REFUNDS = _("Reversing this payment would leave less paid than the refunds asked for or approved.")
CANNOT_CHANGE = _("You may not change the money of this enrollment.")
CANNOT_DECIDE = _("You may not decide refunds.")
CANNOT_REVERSE = _("You may not reverse payments.")
CANNOT_APPROVE_DISCOUNT = _("You may not approve discounts.")


@dataclass(frozen=True)
class PlannedInstallment:
    due_date: datetime.date
    amount: Decimal


def _lock(enrollment: Enrollment) -> Enrollment:
    """The enrollment's row, locked to the end of the transaction: its money changes one step at a time."""
    return (
        Enrollment.objects.select_for_update(of=("self",))
        .select_related("class_grade__course", "customer")
        .get(pk=enrollment.pk)
    )


def _require(by, permission: str, obj, message) -> None:
    if not (by.has_perm(permission) and access.can_reach(by, obj)):
        raise PermissionDenied(message)


def _save(obj, by, reason: str = "") -> None:
    obj._history_user, obj._change_reason = by, reason or None
    obj.full_clean()
    obj.save()


# --- the price --------------------------------------------------------------------------------------------------


def price_check(enrollment: Enrollment) -> None:
    """A discount needs a reason (the admin form and the service ask the same)."""
    enrollment.set_default_price()
    discounted = enrollment.price < enrollment.class_grade.course.price
    if discounted and not (enrollment.discount_reason or "").strip():
        raise ValidationError({"discount_reason": DISCOUNT_NEEDS_REASON}, code="discount_reason")


@transaction.atomic
def enrollment_price_set(*, enrollment: Enrollment, price: Decimal, reason: str, by) -> Enrollment:
    """The agreed price: a discount needs a reason and, beyond the limit, a manager's approval (theirs at once)."""
    _require(by, "crm.change_enrollment", enrollment, CANNOT_CHANGE)
    locked = _lock(enrollment)
    if price == locked.price and reason == locked.discount_reason:
        return locked
    if locked.status == APPROVED and price != locked.price:
        raise ValidationError({"price": PRICE_FIXED}, code="price_fixed")
    locked.price, locked.discount_reason = price, reason
    price_check(locked)
    approver = by if by.has_perm("crm.approve_discount") and ledger.discount_percent(locked) else None
    locked.discount_approved_by, locked.discount_approved_at = approver, approver and timezone.now()
    _save(locked, by, gettext("Price agreed"))
    return locked


@transaction.atomic
def enrollment_discount_approve(*, enrollment: Enrollment, by) -> Enrollment:
    """A manager's yes to a discount beyond the limit."""
    _require(by, "crm.approve_discount", enrollment, CANNOT_APPROVE_DISCOUNT)
    locked = _lock(enrollment)
    if ledger.discount_awaits_approval(locked):
        locked.discount_approved_by, locked.discount_approved_at = by, timezone.now()
        _save(locked, by, gettext("Discount approved"))
    return locked


# --- approval with a first payment, and the plan ------------------------------------------------------------------


def approval_check(enrollment: Enrollment, amount: Decimal, installments: list[PlannedInstallment]) -> None:
    """Before an approval: the discount is approved, and a first payment short of the price comes with a plan
    for the rest."""
    enrollment.set_default_price()
    if ledger.discount_awaits_approval(enrollment):
        raise ValidationError(
            DISCOUNT_AWAITS_APPROVAL, code="discount_approval", params={"percent": settings.DISCOUNT_APPROVAL_PERCENT}
        )
    rest = enrollment.price - amount
    if rest < 0:
        raise ValidationError({"amount": OVERPAID % {"balance": format_money(enrollment.price)}}, code="overpaid")
    if rest and not installments:
        raise ValidationError(PLAN_NEEDED % {"amount": format_money(rest)}, code="plan_needed")
    _check_sum(installments, rest)


def _check_sum(installments: list[PlannedInstallment], expected: Decimal) -> None:
    total = sum((item.amount for item in installments), Decimal(0))
    if installments and total != expected:
        raise ValidationError(
            PLAN_MUST_SUM % {"amount": format_money(expected), "total": format_money(total)}, code="plan_sum"
        )


def plan_at_approval(*, enrollment: Enrollment, payment: Payment, installments: list[PlannedInstallment], by):
    """The plan made at approval: the first payment as a settled installment, then the rest (summing to the
    price). Called by crm.services.enrollment.enrollment_approve inside its transaction."""
    if not installments:
        return
    first = Installment(enrollment=enrollment, due_date=timezone.localdate(), amount=payment.amount, payment=payment)
    _save(first, by, gettext("Plan made at approval"))
    for item in installments:
        _save(Installment(enrollment=enrollment, due_date=item.due_date, amount=item.amount), by)
    settle(enrollment, by)


@transaction.atomic
def plan_set(*, enrollment: Enrollment, installments: list[PlannedInstallment], by) -> list[Installment]:
    """A new plan for the balance due: open installments are cancelled, the new ones add up to the balance."""
    _require(by, "crm.add_installment", enrollment, CANNOT_CHANGE)
    locked = _lock(enrollment)
    if locked.status != APPROVED or locked.ended_at:
        raise ValidationError(NOT_ENROLLED, code="not_enrolled")
    if not installments:
        raise ValidationError(PLAN_EMPTY, code="plan_empty")
    _check_sum(installments, ledger.account(locked).balance_due)
    now = timezone.now()
    for old in ledger.open_installments(locked.installments.all()):
        old.cancelled_at = now
        _save(old, by, gettext("Replaced by a new plan"))
    created = []
    for item in installments:
        installment = Installment(enrollment=locked, due_date=item.due_date, amount=item.amount)
        _save(installment, by, gettext("New plan"))
        created.append(installment)
    settle(locked, by)
    return created


def settle(enrollment: Enrollment, by) -> None:
    """Mark which payment settled each installment: money settles the plan oldest due date first.

    The plan's installments add up to what was still due when it was made, so whatever was paid before it
    (price − the plan) is set aside first; an installment is settled by the payment after which the money
    paid never again falls below it (a reversal or an approved refund can unsettle it).
    """
    plan = list(enrollment.installments.filter(cancelled_at=None).order_by("due_date", "pk"))
    if not plan:
        return
    movements = sorted(
        [(p.paid_at, 0, p.pk, p.amount, p) for p in ledger.payments_of(enrollment)]
        + [(r.decided_at, 1, r.pk, -r.amount, None) for r in ledger.decided_refunds_of(enrollment)],
        key=lambda movement: movement[:3],
    )
    running, balances = Decimal(0), []
    for *_order, amount, payment in movements:
        running += amount
        balances.append((running, payment))
    # After each movement, the least the money paid comes to from then on.
    floors, lowest = [], None
    for balance, payment in reversed(balances):
        lowest = balance if lowest is None else min(lowest, balance)
        floors.insert(0, (lowest, payment))
    covered = enrollment.price - sum(installment.amount for installment in plan)
    for installment in plan:
        covered += installment.amount
        settled_by = next((payment for floor, payment in floors if floor >= covered), None)
        if installment.payment_id != (settled_by and settled_by.pk):
            installment.payment = settled_by
            _save(installment, by, gettext("Settled") if settled_by else gettext("Open again"))


# --- payments -----------------------------------------------------------------------------------------------------


def payment_check(payment: Payment) -> None:
    """A payment for an enrollment is that customer's, for its course, and at most its balance due."""
    if not payment.enrollment_id or payment.pk:
        return
    enrollment = payment.enrollment
    if payment.customer_id and payment.customer_id != enrollment.customer_id:
        raise ValidationError({"enrollment": WRONG_CUSTOMER}, code="wrong_customer")
    payment.course = enrollment.class_grade.course
    balance = ledger.account(enrollment).balance_due
    if payment.amount is not None and payment.amount > balance:
        raise ValidationError({"amount": OVERPAID % {"balance": format_money(balance)}}, code="overpaid")


@transaction.atomic
def payment_record(*, payment: Payment, by) -> Payment:
    """A payment received; with an enrollment it settles that enrollment's installments."""
    _require(by, "crm.add_payment", payment.customer, CANNOT_CHANGE)
    if payment.enrollment_id:
        payment.enrollment = _lock(payment.enrollment)
    payment_check(payment)
    if payment.consultant_id is None:
        payment.consultant = by
    _save(payment, by)
    if payment.enrollment_id:
        settle(payment.enrollment, by)
    return payment


@transaction.atomic
def payment_reverse(*, payment: Payment, by, note: str = "") -> Payment:
    """Undo a payment recorded by mistake with a payment of the opposite amount; both stay."""
    _require(by, "crm.reverse_payment", payment, CANNOT_REVERSE)
    enrollment = _lock(payment.enrollment) if payment.enrollment_id else None
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.reverses_id or payment.amount < 0:
        raise ValidationError(NOT_REVERSIBLE, code="not_reversible")
    if Payment.objects.filter(reverses=payment).exists():
        raise ValidationError(ALREADY_REVERSED, code="reversed")
    if enrollment and ledger.refundable(enrollment) < payment.amount:
        raise ValidationError(REVERSAL_BELOW_REFUNDS, code="below_refunds")
    reversal = Payment(
        customer_id=payment.customer_id,
        enrollment=enrollment,
        course_id=payment.course_id,
        amount=-payment.amount,
        method=payment.method,
        consultant_id=payment.consultant_id,
        paid_at=timezone.now(),
        note=note or gettext("Reversal of the payment of %(date)s") % {"date": payment.paid_at.date()},
        reverses=payment,
    )
    _save(reversal, by, gettext("Reversal"))
    if enrollment:
        settle(enrollment, by)
    return reversal


# --- refunds ------------------------------------------------------------------------------------------------------


def refund_check(refund: Refund) -> None:
    """A refund is for an approved enrollment and at most what is left to refund."""
    enrollment = refund.enrollment
    if enrollment.status != APPROVED:
        raise ValidationError({"enrollment": NOT_ENROLLED}, code="not_enrolled")
    left = ledger.refundable(enrollment)
    if refund.amount is not None and refund.amount > left:
        raise ValidationError({"amount": REFUND_TOO_MUCH % {"amount": format_money(left)}}, code="too_much")


@transaction.atomic
def refund_request(*, refund: Refund, by) -> Refund:
    """Ask for a refund; it waits for finance, a manager or a school admin."""
    _require(by, "crm.add_refund", refund.enrollment, CANNOT_CHANGE)
    refund.enrollment = _lock(refund.enrollment)  # a second request waits here until the first is saved
    refund_check(refund)
    refund.status, refund.requested_by = Refund.Status.REQUESTED, by
    _save(refund, by, gettext("Refund requested"))
    return refund


def _lock_requested(refund: Refund, by) -> tuple[Enrollment, Refund]:
    _require(by, "crm.decide_refund", refund, CANNOT_DECIDE)
    enrollment = _lock(refund.enrollment)
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    if refund.status != Refund.Status.REQUESTED:
        raise ValidationError(ALREADY_DECIDED, code="decided", params={"status": refund.get_status_display()})
    return enrollment, refund


def _decide(refund: Refund, status: str, by, note: str) -> Refund:
    refund.status, refund.decided_by, refund.decided_at = status, by, timezone.now()
    refund.decision_note = (note or "").strip()
    return refund


@transaction.atomic
def refund_approve(*, refund: Refund, by, note: str = "") -> Refund:
    """Approve: the money goes back (a negative movement everywhere); optionally the student's place ends."""
    enrollment, refund = _lock_requested(refund, by)
    _save(_decide(refund, Refund.Status.APPROVED, by, note), by, gettext("Refund approved"))
    if refund.ends_place:
        _end_place(enrollment, by)
    settle(enrollment, by)
    return refund


@transaction.atomic
def refund_reject(*, refund: Refund, by, note: str = "") -> Refund:
    _enrollment, refund = _lock_requested(refund, by)
    _save(_decide(refund, Refund.Status.REJECTED, by, note), by, gettext("Refund rejected"))
    return refund


def _end_place(enrollment: Enrollment, by) -> None:
    """The student leaves the class; open installments are cancelled; no class left, no portal login."""
    now = timezone.now()
    enrollment.ended_at = now
    _save(enrollment, by, gettext("Place ended with a refund"))
    for installment in ledger.open_installments(enrollment.installments.all()):
        installment.cancelled_at = now
        _save(installment, by, gettext("Place ended with a refund"))
    student = Student.objects.filter(customer_id=enrollment.customer_id).first()
    if student is None:
        return
    student.classes.remove(enrollment.class_grade_id)
    if not student.classes.exists():
        get_user_model().objects.filter(pk=student.user_id).update(is_active=False)
