"""The finance report: by month × campus × course × teacher, lessons used (课消), revenue recognized, refunds and
deferred revenue (paid, not yet used), on the page and as CSV/XLSX.

Three aggregate queries whatever the size of the school: lessons used grouped by month, campus, course and teacher
(each record worth its enrollment's price ÷ the course's lessons), payments and approved refunds grouped by month,
campus and course. A course's recognized revenue of a month is Σ prices ÷ its lessons, rounded once, so the figures
add up exactly. Deferred revenue is a balance: at the end of a month, everything paid for the campus's course less
refunds and revenue recognized so far. Per teacher the report shows what was taught; refunds and deferred revenue
belong to the course at the campus (its "all teachers" row).
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Count, F, OuterRef, Subquery, Sum
from django.db.models.functions import TruncMonth

from crm import ledger
from crm.models import Enrollment, Payment, Refund

APPROVED = Enrollment.Status.APPROVED
ZERO = Decimal("0.00")


@dataclass
class Row:
    month: datetime.date
    campus: str
    course: str
    teacher: str  # "" on the course's total row
    lessons_used: int = 0
    recognized: Decimal = ZERO
    refunds: Decimal | None = None  # on total rows only
    deferred: Decimal | None = None

    @property
    def is_total(self) -> bool:
        return not self.teacher


def _month(value) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value


def _in_range(month: datetime.date, filters) -> bool:
    start = filters.date_from.replace(day=1) if filters.date_from else None
    return (start is None or month >= start) and (filters.date_to is None or month <= filters.date_to)


def _lessons_used(filters) -> list[dict]:
    """Lessons used per month, campus, course and teacher, with the sum of the enrollments' prices they belong to."""
    price = Enrollment.objects.filter(
        customer_id=OuterRef("student__customer_id"),
        class_grade_id=OuterRef("course_record__class_grade_id"),
        status=APPROVED,
    ).values("price")[:1]
    records = ledger.consumed_records().annotate(price=Subquery(price)).filter(price__isnull=False)
    if filters.date_to:
        records = records.filter(course_record__date__lte=filters.date_to)
    if filters.branch:
        records = records.filter(course_record__class_grade__branch=filters.branch)
    if filters.course:
        records = records.filter(course_record__class_grade__course=filters.course)
    return list(
        records.values(
            month=TruncMonth("course_record__date"),
            **_place("course_record__class_grade__"),
            lessons=F("course_record__class_grade__course__lessons"),
            teacher_pk=F("course_record__teacher_id"),
        )
        .annotate(used=Count("pk"), prices=Sum("price"))
        .order_by()
    )


def _money_moves(queryset, when: str, via: str, amount: str, filters) -> list[dict]:
    """Money of approved enrollments per month, campus and course (payments, or approved refunds)."""
    queryset = queryset.filter(**{f"{via}status": APPROVED})
    if filters.date_to:
        queryset = queryset.filter(**{f"{when}__date__lte": filters.date_to})
    if filters.branch:
        queryset = queryset.filter(**{f"{via}class_grade__branch": filters.branch})
    if filters.course:
        queryset = queryset.filter(**{f"{via}class_grade__course": filters.course})
    return list(
        queryset.values(month=TruncMonth(when), **_place(f"{via}class_grade__")).annotate(total=Sum(amount)).order_by()
    )


def _place(via: str) -> dict:
    """A campus's course, named alike in each query (reached through a class, `via`)."""
    return {
        "campus_pk": F(f"{via}branch_id"),
        "campus_name": F(f"{via}branch__name"),
        "course_pk": F(f"{via}course_id"),
        "course_name": F(f"{via}course__name"),
    }


def report(filters) -> list[Row]:
    """The rows of the report, month by month; each course at a campus: its teachers, then its total.

    `filters` has the dashboard's `date_from`, `date_to`, `branch` and `course` (crm.reports.Filters)."""
    used = _lessons_used(filters)
    paid = _money_moves(Payment.objects.exclude(enrollment=None), "paid_at", "enrollment__", "amount", filters)
    refunded = _money_moves(
        Refund.objects.filter(status=Refund.Status.APPROVED), "decided_at", "enrollment__", "amount", filters
    )
    teachers = {
        user.pk: user.get_full_name() or user.get_username()
        for user in get_user_model().objects.filter(pk__in={row["teacher_pk"] for row in used})
    }

    names: dict[tuple, tuple[str, str]] = {}  # (campus id, course id) -> (campus, course)
    # (month, campus id, course id) -> teacher -> [lessons used, recognized]
    taught: dict[tuple, dict[str, list]] = defaultdict(dict)
    moves: dict[tuple, Decimal] = defaultdict(Decimal)  # money in (+) and out (−, refunds and recognized)
    refunds: dict[tuple, Decimal] = defaultdict(Decimal)
    for row in used:
        place = (row["campus_pk"], row["course_pk"])
        names[place] = (row["campus_name"], row["course_name"])
        key = (_month(row["month"]), *place)
        recognized = ledger.cents(Decimal(row["prices"]) / row["lessons"])
        figures = taught[key].setdefault(teachers.get(row["teacher_pk"], "?"), [0, ZERO])
        figures[0] += row["used"]
        figures[1] += recognized
        moves[key] -= recognized
    for rows, sign in ((paid, 1), (refunded, -1)):
        for row in rows:
            place = (row["campus_pk"], row["course_pk"])
            names[place] = (row["campus_name"], row["course_name"])
            key = (_month(row["month"]), *place)
            moves[key] += sign * ledger.cents(row["total"])
            if sign < 0:
                refunds[key] += ledger.cents(row["total"])

    result, balance = [], defaultdict(Decimal)
    for key in sorted(moves, key=lambda k: (k[0], names[k[1:]])):
        month, place = key[0], key[1:]
        balance[place] += moves[key]
        if not _in_range(month, filters):
            continue
        campus, course = names[place]
        by_teacher = taught.get(key, {})
        for teacher, (lessons, recognized) in sorted(by_teacher.items()):
            result.append(Row(month, campus, course, teacher, lessons, recognized))
        result.append(
            Row(
                month,
                campus,
                course,
                "",
                sum(figures[0] for figures in by_teacher.values()),
                sum((figures[1] for figures in by_teacher.values()), ZERO),
                refunds.get(key, ZERO),
                balance[place],
            )
        )
    return result
