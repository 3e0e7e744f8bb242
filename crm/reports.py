"""The dashboard's figures: one aggregate query per table, always over the rows crm.access lets the user reach.

Lead figures cover the leads created in the chosen range (and campus / course of interest) and what came of
them; payment figures cover those leads' payments. Follow-ups due and the teacher's figures are about today.
Every number links to the admin list that shows the rows it counts: the link carries the dashboard's own
filter, which the list reads with crm.admin.filters.DashboardFilter and narrows by `counted` below.
"""

import datetime
import operator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import reduce
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Case, Count, DateField, F, Max, Min, Q, QuerySet, Sum, Value, When
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from crm import access, ledger, selectors
from crm.models import (
    Branch,
    ClassGrade,
    Course,
    CourseRecord,
    Customer,
    DueTally,
    FollowUp,
    Installment,
    LeadTally,
    Payment,
    PaymentTally,
    PoolCustomer,
    PoolMove,
    StudyRecord,
)
from crm.models.tallies import STATUS_COLUMNS
from crm.school_time import day_start, start_of, week_start

ENROLLED = Customer.Status.ENROLLED
NO_SOURCE = _("(no source)")
IN_THE_POOL = _("(lead pool)")
RETURNS = [PoolMove.Kind.RETURNED, PoolMove.Kind.RELEASED]


@dataclass(frozen=True)
class Filters:
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    branch: Branch | None = None
    course: Course | None = None

    def created_range(self) -> tuple[datetime.datetime | None, datetime.datetime | None]:
        """The range as aware datetimes, `date_to` included (its whole day)."""
        start = start_of(self.date_from) if self.date_from else None
        end = start_of(self.date_to + datetime.timedelta(days=1)) if self.date_to else None
        return start, end

    def cohort(self, via: str = "") -> Q:
        """Leads (reached through `via`, e.g. "customer__") created in the range, of the campus."""
        start, end = self.created_range()
        conditions = {
            f"{via}created_at__gte": start,
            f"{via}created_at__lt": end,
            f"{via}branch": self.branch,
        }
        return Q(**{lookup: value for lookup, value in conditions.items() if value is not None})

    def params(self) -> dict:
        """The dashboard's query parameters for these filters (the admin lists' DashboardFilter reads the same)."""
        params = {
            "date_from": self.date_from and self.date_from.isoformat(),
            "date_to": self.date_to and self.date_to.isoformat(),
            "branch": self.branch and self.branch.pk,
            "course": self.course and self.course.pk,
        }
        return {key: value for key, value in params.items() if value}

    def query(self) -> str:
        return urlencode(self.params())


@dataclass
class Cell:
    value: object
    url: str = ""
    money: bool = False  # shown as money (crm.money_format); CSV keeps the plain number


@dataclass
class Table:
    """A figure: shown as a chart (when `chart` is set) and always as a table; exported as CSV."""

    key: str
    title: str
    headers: list
    rows: list[list[Cell]] = field(default_factory=list)
    chart: dict | None = None


@dataclass
class Dashboard:
    filters: Filters
    tables: list[Table] = field(default_factory=list)
    follow_ups: list[Cell] = field(default_factory=list)
    pool: list[Cell] = field(default_factory=list)
    payments_this_month: list[Cell] = field(default_factory=list)
    next_lessons: list = field(default_factory=list)
    overdue_installments: Cell | None = None
    has_lead_figures: bool = False

    def table(self, key: str) -> Table | None:
        return next((table for table in self.tables if table.key == key), None)


def _next_month(month: datetime.date) -> datetime.date:
    return (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def _changelist(model, **params) -> str:
    url = reverse(f"admin:crm_{model._meta.model_name}_changelist")
    params = {key: value for key, value in params.items() if value is not None}
    return f"{url}?{urlencode(params)}" if params else url


def rate(enrolled: int, leads: int) -> Decimal | None:
    """Enrolled ÷ leads in percent, one decimal; None (shown as "—") when there are no leads."""
    if not leads:
        return None
    return (Decimal(enrolled) * 100 / leads).quantize(Decimal("0.1"))


def _month(month: datetime.date, filters: Filters) -> Filters:
    """The filters narrowed to one calendar month."""
    last = _next_month(month) - datetime.timedelta(days=1)
    start = max(month, filters.date_from) if filters.date_from else month
    end = min(last, filters.date_to) if filters.date_to else last
    return replace(filters, date_from=start, date_to=end)


# --- what the figures count ----------------------------------------------------------------------------------


def _owner(user, via: str = "") -> Q:
    """Whose leads a person's figures count (reached through `via`): everyone's for managers; a salesperson's own
    only (a lead shared with them is still its owner's figure, so no lead is counted on two dashboards)."""
    return Q() if access.sees_all_customers(user) else Q(**{f"{via}consultant_id": user.pk})


def counted_leads(user, filters: Filters) -> Q:
    """Leads of the user's own figures, created in the range, of the campus, interested in the course."""
    course = Q()
    if filters.course:
        interested = Customer.consult_courses.through.objects.filter(course_id=filters.course.pk)
        course = Q(pk__in=interested.values("customer_id"))
    return _owner(user) & filters.cohort() & course


def counted_payments(user, filters: Filters) -> Q:
    """Payments of those leads, for the course."""
    course = Q(course=filters.course) if filters.course else Q()
    return _owner(user, "customer__") & filters.cohort("customer__") & course


def counted_installments(user, filters: Filters) -> Q:
    """Installments of the user's own customers (everyone's for managers and finance); whatever the leads' range:
    what is overdue is overdue today."""
    return _owner(user, "enrollment__customer__")


# On every figure's link: with it the list counts as the dashboard does, even when no other filter is set.
COUNTED_PARAMETER = "dashboard"
_COUNTED = {Customer: counted_leads, Payment: counted_payments, Installment: counted_installments}


def counted(user, model, filters: Filters) -> Q:
    """The rows of `model` (customers, payments, installments) that `user`'s figures count: what their links' lists
    show."""
    return _COUNTED[model](user, filters)


def leads(user, filters: Filters) -> QuerySet[Customer]:
    """The leads the figures count: those `user` reaches, created in the range, of the campus and course."""
    return access.visible(user, Customer).filter(counted_leads(user, filters)).order_by()


def payments(user, filters: Filters) -> QuerySet[Payment]:
    """The payments of those leads (course: the payment's course)."""
    return access.visible(user, Payment).filter(counted_payments(user, filters)).order_by()


def _link(model, filters: Filters, **lookups) -> str:
    """The admin list of `model` showing the rows a figure counts: the dashboard's filter, then the list's own
    `lookups` (status, source, payment month...) for the figure's row."""
    if model is Customer:
        lookups.setdefault("archived", "all")  # archived leads came in too: the figures count them
    return _changelist(model, **{COUNTED_PARAMETER: 1}, **filters.params(), **lookups)


def _counts(queryset, *group):
    return queryset.values(*group).annotate(leads=Count("pk"), enrolled=Count("pk", filter=Q(status=ENROLLED)))


def _conversion_row(label: Cell, row: dict, filters: Filters, **lookups) -> list[Cell]:
    return [
        label,
        Cell(row["leads"], _link(Customer, filters, **lookups)),
        Cell(row["enrolled"], _link(Customer, filters, **lookups, status__exact=ENROLLED)),
        Cell(rate(row["enrolled"], row["leads"])),
    ]


CONVERSION_HEADERS = [_("leads"), _("enrolled"), _("conversion (%)")]


def _conversion_chart(table: Table, kind: str = "bar") -> dict:
    return {
        "type": kind,
        "labels": [str(row[0].value) for row in table.rows],
        "series": [
            {"label": str(_("leads")), "data": [row[1].value for row in table.rows]},
            {"label": str(_("enrolled")), "data": [row[2].value for row in table.rows]},
        ],
    }


def _tally(user, filters: Filters) -> QuerySet[LeadTally] | None:
    """The tally rows that hold the user's lead figures, or None when the filters need the leads themselves (a date
    range cuts months; a course of interest is not a tally key)."""
    if filters.date_from or filters.date_to or filters.course:
        return None
    rows = access.visible(user, LeadTally).order_by()
    return rows.filter(branch=filters.branch.pk) if filters.branch else rows


# A figure's grouping: the tally's column, and the leads' expression (a month is the school's month either way).
# Statuses are the tally's columns (crm.models.tallies.STATUS_COLUMNS), summed one by one.
_GROUPS = {
    "source": ("source", F("source")),
    "month": ("month", TruncMonth("created_at")),
    "status": (None, F("status")),
    "consultant_id": ("owner", F("consultant_id")),
}


def lead_counts(user, filters: Filters, group: str) -> list[dict]:
    """Leads and enrolled leads per `group` (source, month, status or consultant_id) of the user's figures: from the
    kept monthly tally (a few thousand rows at any number of leads), else by counting the leads."""
    column, expression = _GROUPS[group]
    tally = _tally(user, filters)
    if tally is None:
        return list(_counts(leads(user, filters).annotate(key=expression), "key"))
    if column is None:
        sums = tally.aggregate(**{status: Sum(name) for status, name in STATUS_COLUMNS.items()})
        return [
            {"key": status, "leads": sums[status], "enrolled": sums[status] if status == ENROLLED else 0}
            for status in STATUS_COLUMNS
            if sums[status]
        ]
    every = reduce(operator.add, [F(name) for name in STATUS_COLUMNS.values()])
    sums = tally.values(key=F(column)).annotate(total=Sum(every), won=Sum(STATUS_COLUMNS[ENROLLED]))
    rows = [{"key": row["key"], "leads": row["total"], "enrolled": row["won"]} for row in sums.filter(total__gt=0)]
    if group == "consultant_id":  # 0 in the tally is "no owner": the pool
        for row in rows:
            row["key"] = row["key"] or None
    return rows


def leads_by_source(user, filters: Filters) -> Table:
    labels = dict(Customer.Source.choices)
    table = Table("sources", _("Leads and conversion by source"), [_("source"), *CONVERSION_HEADERS])
    for row in sorted(lead_counts(user, filters, "source"), key=lambda row: (-row["leads"], row["key"])):
        source = row["key"]
        label = labels.get(source, source) if source else NO_SOURCE
        table.rows.append(_conversion_row(Cell(label), row, filters, source__exact=source))
    table.chart = _conversion_chart(table)
    return table


def conversion_by_month(user, filters: Filters) -> Table:
    table = Table("months", _("Leads and conversion by month"), [_("month"), *CONVERSION_HEADERS])
    for row in sorted(lead_counts(user, filters, "month"), key=lambda row: row["key"]):
        month = row["key"].date() if isinstance(row["key"], datetime.datetime) else row["key"]
        label = Cell(date_format(month, "YEAR_MONTH_FORMAT"))
        table.rows.append(_conversion_row(label, row, _month(month, filters)))
    table.chart = _conversion_chart(table, "line")
    return table


def status_funnel(user, filters: Filters) -> Table:
    counts = {row["key"]: row["leads"] for row in lead_counts(user, filters, "status")}
    table = Table("funnel", _("Status funnel"), [_("status"), _("leads")])
    for value, label in Customer.Status.choices:
        table.rows.append([Cell(label), Cell(counts.get(value, 0), _link(Customer, filters, status__exact=value))])
    table.chart = {
        "type": "funnel",
        "labels": [str(row[0].value) for row in table.rows],
        "series": [{"label": str(_("leads")), "data": [row[1].value for row in table.rows]}],
    }
    return table


def conversion_by_salesperson(user, filters: Filters) -> Table:
    table = Table("salespeople", _("Conversion by salesperson"), [_("consultant"), *CONVERSION_HEADERS])
    rows = lead_counts(user, filters, "consultant_id")
    people = get_user_model().objects.in_bulk([row["key"] for row in rows if row["key"]])
    for row in rows:
        row["person"] = people.get(row["key"])
    rows.sort(key=lambda row: (-row["leads"], row["person"] is None, row["person"] and row["person"].get_username()))
    for row in rows:
        person = row["person"]
        if person is None:
            table.rows.append(_conversion_row(Cell(IN_THE_POOL), row, filters, consultant__isnull="True"))
            continue
        label = Cell(person.get_full_name() or person.get_username())
        table.rows.append(_conversion_row(label, row, filters, consultant__id__exact=person.pk))
    table.chart = _conversion_chart(table)
    return table


def _month_of(field: str, first: datetime.datetime, last: datetime.datetime) -> Case:
    """The month (in the school's time zone) of `field`, for values from `first` to `last`: a CASE over the months'
    starts, computed here, so the database only compares (SQLite's month truncation calls Python once a row)."""
    months = [timezone.localdate(first).replace(day=1)]
    while (following := _next_month(months[-1])) <= timezone.localdate(last):
        months.append(following)
    latest_first = [When(**{f"{field}__gte": start_of(month)}, then=Value(month)) for month in reversed(months)]
    return Case(*latest_first, output_field=DateField())


def _payment_tally(user, filters: Filters) -> QuerySet[PaymentTally] | None:
    """The tally rows that hold the user's payment figures, or None when the filters need the payments themselves
    (the range and campus are their leads')."""
    if filters.date_from or filters.date_to or filters.branch:
        return None
    rows = access.visible(user, PaymentTally).order_by()
    return rows.filter(course=filters.course.pk) if filters.course else rows


def payments_by_month(user, filters: Filters) -> list[dict]:
    """Payments and their sum per month and course, latest month first: from the kept monthly tally, else by
    grouping the payments."""
    tally = _payment_tally(user, filters)
    if tally is not None:
        sums = tally.values("month", "course").annotate(count=Sum("payments"), cents=Sum("cents")).filter(count__gt=0)
        names = dict(Course.objects.filter(pk__in={row["course"] for row in sums}).values_list("pk", "name"))
        rows = [
            {
                "month": row["month"],
                "course_id": row["course"],
                "course__name": names[row["course"]],
                "count": row["count"],
                "total": Decimal(row["cents"]).scaleb(-2),
            }
            for row in sums
        ]
        return sorted(rows, key=lambda row: (-row["month"].toordinal(), row["course__name"]))  # as the grouping orders
    counted = payments(user, filters)
    span = counted.aggregate(first=Min("paid_at"), last=Max("paid_at"))
    if span["first"] is None:
        return []
    return list(
        counted.annotate(month=_month_of("paid_at", span["first"], span["last"]))
        .values("month", "course_id", "course__name")
        .annotate(count=Count("pk"), total=Sum("amount"))
        .order_by("-month", "course__name")
    )


def payments_by_month_and_course(user, filters: Filters) -> Table:
    table = Table(
        "payments",
        _("Payments by month and course"),
        [_("month"), _("course"), _("payments"), _("amount")],
    )
    monthly = payments_by_month(user, filters)
    if not monthly:
        return table
    courses: dict[str, dict[str, Decimal]] = {}
    months: list[str] = []
    for row in monthly:
        month = row["month"]
        label = date_format(month, "YEAR_MONTH_FORMAT")
        url = _link(
            Payment,
            filters,
            course__id__exact=row["course_id"],
            paid_at__gte=start_of(month).isoformat(),
            paid_at__lt=start_of(_next_month(month)).isoformat(),
        )
        table.rows.append(
            [Cell(label), Cell(row["course__name"]), Cell(row["count"], url), Cell(row["total"], money=True)]
        )
        if label not in months:
            months.append(label)
        courses.setdefault(row["course__name"], {})[label] = row["total"]
    months.reverse()
    table.chart = {
        "type": "stacked",
        "labels": months,
        "series": [
            {"label": name, "data": [float(by_month.get(month, 0)) for month in months]}
            for name, by_month in courses.items()
        ],
    }
    return table


def follow_ups_due(user) -> list[Cell]:
    """Follow-ups due today and overdue: the kept day counts (crm_duetally) of the owners whose leads the user
    reaches, and the leads shared with them counted on their next date. A customer is one latest follow-up, so
    each number is the length of the list it links to."""
    kept_today, kept_overdue = selectors.kept_due(access.visible(user, DueTally))
    shared = access.shared_only_customers(user)
    due_today = kept_today + selectors.customers_due_today(shared).count()
    overdue = kept_overdue + selectors.customers_overdue(shared).count()
    return [Cell(due_today, _changelist(FollowUp, due="today")), Cell(overdue, _changelist(FollowUp, due="overdue"))]


CALLS_CACHE_SECONDS = 60


def calls_to_make(user) -> Cell:
    """The admin's top bar: how many of the user's own leads are due a call (today or overdue), linking to them.

    Their own rows of the kept day counts, then kept for a minute: every admin page shows it.
    """
    key = f"crm:calls-to-make:{user.pk}:{timezone.localdate().isoformat()}"
    count = cache.get(key)
    if count is None:
        count = sum(selectors.kept_due(access.visible(user, DueTally).filter(owner=user.pk)))
        cache.set(key, count, CALLS_CACHE_SECONDS)
    return Cell(count, _changelist(FollowUp, due="now", customer__consultant__id__exact=user.pk))


def pool_figures(user) -> list[Cell]:
    """The pool's size, the claims of today and the returns of this week (the school's day and week): everyone's
    for managers, for a salesperson their own claims and the leads returned from them."""
    now = timezone.now()
    moves = access.visible(user, PoolMove)  # a salesperson's: their claims, and the returns from them
    counts = moves.aggregate(
        claims=Count("pk", filter=Q(kind=PoolMove.Kind.CLAIMED, at__gte=day_start(now))),
        returns=Count("pk", filter=Q(kind__in=RETURNS, at__gte=week_start(now))),
    )
    size = access.visible(user, PoolCustomer).count()
    return [Cell(size, _changelist(PoolCustomer)), Cell(counts["claims"]), Cell(counts["returns"])]


def pool_by_salesperson(user) -> Table:
    """Each consultant's claims today and leads returned from them this week."""
    now = timezone.now()
    moves = access.visible(user, PoolMove).order_by()
    claims = dict(
        moves.filter(kind=PoolMove.Kind.CLAIMED, at__gte=day_start(now)).values_list("to_user").annotate(n=Count("pk"))
    )
    returns = dict(
        moves.filter(kind__in=RETURNS, at__gte=week_start(now)).values_list("from_user").annotate(n=Count("pk"))
    )
    table = Table("pool", _("Lead pool by salesperson"), [_("consultant"), _("claimed today"), _("returned this week")])
    for person in selectors.consultants():
        name = person.get_full_name() or person.get_username()
        table.rows.append([Cell(name), Cell(claims.get(person.pk, 0)), Cell(returns.get(person.pk, 0))])
    return table


def payments_this_month(user) -> list[Cell]:
    """Count and total of the payments of the user's customers (everyone's, for managers) this month."""
    today = timezone.localdate()
    first = today.replace(day=1)
    start, end = start_of(first), start_of(_next_month(first))
    this_month = payments(user, Filters()).filter(paid_at__gte=start, paid_at__lt=end)
    totals = this_month.aggregate(count=Count("pk"), total=Sum("amount"))
    url = _link(Payment, Filters(), paid_at__gte=start.isoformat(), paid_at__lt=end.isoformat())
    return [Cell(totals["count"], url), Cell(totals["total"] or Decimal("0.00"), url, money=True)]


def overdue_installments(user) -> Cell:
    """Overdue installments the person chases (crm.ledger.overdue_installments_for, as the morning digest lists
    them), linked to their list."""
    return Cell(ledger.overdue_installments_for(user).count(), _link(Installment, Filters(), state="overdue"))


# --- teachers -------------------------------------------------------------------------------------------------


def my_classes(user) -> Table:
    today = timezone.localdate()
    classes = (
        access.visible(user, ClassGrade)
        .annotate(
            student_count=Count("students", distinct=True),
            lessons_held=Count("lessons", filter=Q(lessons__date__lte=today), distinct=True),
            lessons_planned=Count("lessons", distinct=True),
        )
        .filter(selectors.not_ended())
        .order_by("start_date", "pk")
    )
    table = Table("classes", _("My classes"), [_("class"), _("students"), _("lessons held"), _("lessons planned")])
    for class_grade in classes:
        table.rows.append(
            [
                Cell(class_grade, reverse("admin:crm_classgrade_change", args=[class_grade.pk])),
                Cell(class_grade.student_count),
                Cell(
                    class_grade.lessons_held,
                    _changelist(CourseRecord, class_grade__id__exact=class_grade.pk, date__lte=today.isoformat()),
                ),
                Cell(class_grade.lessons_planned),
            ]
        )
    return table


def homework_to_grade(user) -> Table:
    """Submitted homework without a score, per lesson of the user's classes."""
    waiting = (
        access.visible(user, StudyRecord)
        .exclude(homework_file="")
        .filter(score="")
        .values(
            "course_record_id",
            "course_record__day_num",
            "course_record__title",
            "course_record__class_grade__course__name",
            "course_record__class_grade__semester",
        )
        .annotate(n=Count("pk"))
        .order_by("course_record__date", "course_record_id")
    )
    table = Table("homework", _("Homework waiting for a grade"), [_("class"), _("lesson"), _("to grade")])
    for row in waiting:
        class_label = _("%(course)s, semester %(semester)s") % {
            "course": row["course_record__class_grade__course__name"],
            "semester": row["course_record__class_grade__semester"],
        }
        url = _changelist(StudyRecord, course_record__id__exact=row["course_record_id"], graded="no")
        table.rows.append(
            [
                Cell(class_label),
                Cell(f"{row['course_record__day_num']}. {row['course_record__title']}"),
                Cell(row["n"], url),
            ]
        )
    return table


def next_lessons(user, limit: int = 5):
    """The user's next lessons (teachers see their own classes)."""
    return list(
        access.visible(user, CourseRecord)
        .filter(date__gte=timezone.localdate())
        .select_related("class_grade__course", "class_grade__branch")
        .order_by("date", "id")[:limit]
    )


# --- the dashboard per person ---------------------------------------------------------------------------------


def _sales_side(user) -> bool:
    return user.has_perm("crm.view_customer")


def _managers(user) -> bool:
    return _sales_side(user) and access.sees_all_customers(user)


def _teachers(user) -> bool:
    return user.has_perm("crm.view_courserecord") and not access.sees_all_classes(user)


# Every table of the dashboard, in page order: who sees it, and how it is built (teachers' ignore the filters).
TABLES = {
    "sources": (_sales_side, leads_by_source),
    "months": (_sales_side, conversion_by_month),
    "funnel": (_sales_side, status_funnel),
    "salespeople": (_managers, conversion_by_salesperson),
    "payments": (lambda user: _managers(user) and user.has_perm("crm.view_payment"), payments_by_month_and_course),
    "pool": (lambda user: _managers(user) and access.sees_pool(user), lambda user, filters: pool_by_salesperson(user)),
    "classes": (_teachers, lambda user, filters: my_classes(user)),
    "homework": (_teachers, lambda user, filters: homework_to_grade(user)),
}


def table(user, key: str, filters: Filters) -> Table | None:
    """One table of the user's dashboard (for its CSV), built alone; None if it is not on their dashboard."""
    shows, build = TABLES.get(key, (lambda user: False, None))
    return build(user, filters) if shows(user) else None


def dashboard(user, filters: Filters | None = None) -> Dashboard:
    """What the person sees on the front page: their role's figures, all through crm.access."""
    filters = filters or Filters()
    board = Dashboard(filters=filters, has_lead_figures=_sales_side(user))
    board.tables = [build(user, filters) for shows, build in TABLES.values() if shows(user)]
    if user.has_perm("crm.view_payment"):
        board.payments_this_month = payments_this_month(user)
    if user.has_perm("crm.view_followup"):
        board.follow_ups = follow_ups_due(user)
    if access.sees_pool(user):
        board.pool = pool_figures(user)
    if _teachers(user):
        board.next_lessons = next_lessons(user)
    if user.has_perm("crm.view_installment"):
        board.overdue_installments = overdue_installments(user)
    return board
