"""Reads of money: what an enrollment costs, what was paid and refunded, what is due, what was used (课消).

One formula per figure, each an SQL expression, so a list of any length costs one query and every page, export
and report agrees:
- paid: the enrollment's payments (a reversal is a negative payment);
- refunded: its approved refunds; an approved refund is a negative movement of money;
- net paid = paid − refunded; balance due = price − net paid (the issue's "price − paid + approved refunds");
- lessons used: the student's study records in the class, of lessons held by today, with attendance present,
  late or left early (absent too when settings.ABSENCE_USES_LESSON);
- revenue recognized = price × lessons used ÷ the course's lessons; deferred revenue = net paid − recognized;
- suggested refund = net paid − recognized − settings.REFUND_FEE, never below zero.
"""

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from crm import access
from crm.models import Enrollment, Installment, Payment, Refund, StudyRecord

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=12, decimal_places=2)
Attendance = StudyRecord.Attendance


def cents(amount) -> Decimal:
    return Decimal(amount or 0).quantize(CENT, rounding=ROUND_HALF_UP)


def consuming_attendance() -> list[str]:
    """The attendances that use one of the lessons bought."""
    used = [Attendance.PRESENT, Attendance.LATE, Attendance.LEFT_EARLY]
    return [*used, Attendance.ABSENT] if settings.ABSENCE_USES_LESSON else used


def consumed_records(today: datetime.date | None = None) -> QuerySet[StudyRecord]:
    """Study records that used a lesson: of a lesson held by `today`, with a consuming attendance."""
    today = today or timezone.localdate()
    return StudyRecord.objects.filter(course_record__date__lte=today, attendance__in=consuming_attendance())


def _total(queryset, group: str, expression) -> Subquery:
    return Coalesce(
        Subquery(queryset.order_by().values(group).annotate(total=expression).values("total")[:1]),
        Value(ZERO) if not isinstance(expression, Count) else Value(0),
        output_field=IntegerField() if isinstance(expression, Count) else MONEY,
    )


def paid_expression(via: str = ""):
    return _total(Payment.objects.filter(enrollment_id=OuterRef(f"{via}pk")), "enrollment_id", Sum("amount"))


def refunded_expression(statuses=(Refund.Status.APPROVED,), via: str = ""):
    refunds = Refund.objects.filter(enrollment_id=OuterRef(f"{via}pk"), status__in=statuses)
    return _total(refunds, "enrollment_id", Sum("amount"))


def lessons_used_expression(via: str = ""):
    records = consumed_records().filter(
        student__customer_id=OuterRef(f"{via}customer_id"),
        course_record__class_grade_id=OuterRef(f"{via}class_grade_id"),
    )
    return _total(records, "student_id", Count("pk"))


def with_money(enrollments: QuerySet[Enrollment]) -> QuerySet[Enrollment]:
    """Enrollments with `paid`, `refunded`, `net_paid`, `balance_due`, `lessons_used` and `lessons_left`."""
    return enrollments.annotate(
        paid=paid_expression(),
        refunded=refunded_expression(),
        lessons_used=lessons_used_expression(),
    ).annotate(
        net_paid=ExpressionWrapper(F("paid") - F("refunded"), output_field=MONEY),
        balance_due=ExpressionWrapper(F("price") - F("paid") + F("refunded"), output_field=MONEY),
        lessons_left=ExpressionWrapper(
            F("class_grade__course__lessons") - F("lessons_used"), output_field=IntegerField()
        ),
    )


def owing(enrollments: QuerySet[Enrollment]) -> QuerySet[Enrollment]:
    """Who owes what: approved enrollments whose place goes on and whose price is not yet paid, each with its
    overdue amount (`overdue_amount`) and next due date (`next_due`)."""
    today = timezone.localdate()
    installments = open_installments(Installment.objects.filter(enrollment_id=OuterRef("pk")))
    return (
        with_money(enrollments.filter(status=Enrollment.Status.APPROVED, ended_at=None))
        .filter(balance_due__gt=0)
        .annotate(
            overdue_amount=_total(installments.filter(due_date__lt=today), "enrollment_id", Sum("amount")),
            next_due=Subquery(installments.filter(due_date__gte=today).order_by("due_date").values("due_date")[:1]),
        )
    )


@dataclass(frozen=True)
class Account:
    """One enrollment's money, as every page shows it."""

    price: Decimal
    paid: Decimal
    refunded: Decimal
    lessons: int
    lessons_used: int

    @property
    def net_paid(self) -> Decimal:
        return self.paid - self.refunded

    @property
    def balance_due(self) -> Decimal:
        return self.price - self.net_paid

    @property
    def lessons_left(self) -> int:
        return self.lessons - self.lessons_used

    @property
    def recognized(self) -> Decimal:
        return recognized(self.price, self.lessons_used, self.lessons)

    @property
    def deferred(self) -> Decimal:
        return self.net_paid - self.recognized

    @property
    def suggested_refund(self) -> Decimal:
        return max(self.net_paid - self.recognized - settings.REFUND_FEE, ZERO)


def recognized(price: Decimal, lessons_used: int, lessons: int) -> Decimal:
    """Revenue recognized: price × lessons used ÷ lessons sold, to the cent."""
    return cents(Decimal(price) * lessons_used / lessons)


def account(enrollment: Enrollment) -> Account:
    """The money of one enrollment, read now (one query)."""
    row = with_money(Enrollment.objects.filter(pk=enrollment.pk)).values(
        "price", "paid", "refunded", "lessons_used", "class_grade__course__lessons"
    )[0]
    return Account(
        price=cents(row["price"]),
        paid=cents(row["paid"]),
        refunded=cents(row["refunded"]),
        lessons=row["class_grade__course__lessons"],
        lessons_used=row["lessons_used"],
    )


def refundable(enrollment: Enrollment) -> Decimal:
    """What may still be asked back: net payments less the refunds already asked for or approved."""
    row = (
        Enrollment.objects.filter(pk=enrollment.pk)
        .annotate(
            paid=paid_expression(),
            asked=refunded_expression([Refund.Status.REQUESTED, Refund.Status.APPROVED]),
        )
        .values("paid", "asked")[0]
    )
    return cents(row["paid"]) - cents(row["asked"])


def discount_percent(enrollment: Enrollment) -> Decimal:
    """How far below its course's price the enrollment's price is, in percent (0 without a discount)."""
    course_price = enrollment.class_grade.course.price
    if not course_price or enrollment.price is None or enrollment.price >= course_price:
        return Decimal(0)
    return (course_price - enrollment.price) * 100 / course_price


def discount_awaits_approval(enrollment: Enrollment) -> bool:
    """A discount beyond settings.DISCOUNT_APPROVAL_PERCENT that no manager approved yet."""
    return (
        discount_percent(enrollment) > settings.DISCOUNT_APPROVAL_PERCENT and enrollment.discount_approved_by_id is None
    )


# --- installments -----------------------------------------------------------------------------------------------


def open_installments(installments: QuerySet[Installment]) -> QuerySet[Installment]:
    """Installments still to pay: not settled, not cancelled, of a place that goes on."""
    return installments.filter(payment=None, cancelled_at=None, enrollment__ended_at=None)


def overdue(installments: QuerySet[Installment], today: datetime.date | None = None) -> QuerySet[Installment]:
    return open_installments(installments).filter(due_date__lt=today or timezone.localdate())


def overdue_installments_for(user) -> QuerySet[Installment]:
    """The overdue installments a person follows up (the morning digest and the dashboard): a salesperson those
    of their own customers, finance and managers everyone's."""
    installments = access.visible(user, Installment)
    if not access.sees_all_customers(user):
        installments = installments.filter(enrollment__customer__consultant_id=user.pk)
    return (
        overdue(installments)
        .select_related("enrollment__customer", "enrollment__class_grade")
        .order_by("due_date", "pk")
    )


def lessons_left_by_class(student) -> dict[int, int]:
    """Class id -> lessons the student has left in it (their enrollment in the class; one query)."""
    rows = with_money(Enrollment.objects.filter(customer_id=student.customer_id)).values_list(
        "class_grade_id", "lessons_left"
    )
    return dict(rows)


def lessons_left_expression(student_via: str, class_via: str):
    """For a row naming a student and a class (e.g. a study record): the lessons that student has left in it."""
    records = consumed_records().filter(
        student_id=OuterRef(student_via), course_record__class_grade_id=OuterRef(class_via)
    )
    used = _total(records, "student_id", Count("pk"))
    course_lessons = class_via.removesuffix("_id") + "__course__lessons"
    return ExpressionWrapper(F(course_lessons) - used, output_field=IntegerField())


def customer_balance(customer) -> Decimal:
    """What a customer owes over all their approved enrollments whose place goes on."""
    total = owing(Enrollment.objects.filter(customer=customer)).aggregate(total=Sum("balance_due"))["total"]
    return cents(total)


def payments_of(enrollment: Enrollment) -> QuerySet[Payment]:
    return Payment.objects.filter(enrollment=enrollment).order_by("paid_at", "pk")


def decided_refunds_of(enrollment: Enrollment) -> QuerySet[Refund]:
    return Refund.objects.filter(enrollment=enrollment, status=Refund.Status.APPROVED).order_by("decided_at", "pk")
