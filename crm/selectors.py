"""Reads reused by the admin, the dashboard and the views."""

import datetime

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from crm import access, roles
from crm.models import ClassGrade, Course, Customer, DueTally, FollowUp, PoolMove, Student
from crm.models.leads import CAN_BE_LATE, WORKED_ON
from crm.phones import try_normalize_phone

OPEN_LEAD_STATUSES = [Customer.Status.NEW, Customer.Status.FOLLOWING]


def consultants() -> QuerySet:
    """Active users who can own customers: salespeople and their managers."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[roles.SALES, roles.SALES_MANAGER])
        .distinct()
        .order_by("username")
    )


def consultants_with_open_leads() -> QuerySet:
    """Consultants, each with `open_leads`: how many leads they are working on now (new or following, not archived),
    counted in the same query."""
    open_lead = Q(customers__status__in=OPEN_LEAD_STATUSES, customers__archived_at__isnull=True)
    # distinct: a consultant in both groups is joined twice.
    return consultants().annotate(open_leads=Count("customers", filter=open_lead, distinct=True))


def salespeople() -> QuerySet:
    """Active salespeople, in a stable order (round-robin assignment walks this list)."""
    return get_user_model().objects.filter(is_active=True, groups__name=roles.SALES).order_by("pk")


def teachers() -> QuerySet:
    """Active users who may teach a class."""
    return get_user_model().objects.filter(is_active=True, groups__name=roles.TEACHER).order_by("username")


# Calls still to make are read from the customer's kept summary (Customer.next_follow_up, the next date of its
# latest follow-up), whose partial indexes (customer_owner_due, customer_due) answer them without reading a
# follow-up; the dashboard counts them from crm_duetally, kept by the same rules (WORKED_ON, CAN_BE_LATE). Statuses
# are named, not negated: a negated condition through the follow-up's `latest_of` would become a subquery.


def _due_today(via: str = "") -> Q:
    return Q(**{f"{via}next_follow_up": timezone.localdate(), f"{via}status__in": WORKED_ON})


def _overdue(via: str = "") -> Q:
    return Q(**{f"{via}next_follow_up__lt": timezone.localdate(), f"{via}status__in": CAN_BE_LATE})


def _due_now(via: str = "") -> Q:
    """Due today or overdue, as one range of next dates (an index range, where the OR of the two was two):
    up to today, on a lead being worked on, and on an enrolled one only if due today."""
    today = timezone.localdate()
    enrolled_today = Q(**{f"{via}status": Customer.Status.ENROLLED, f"{via}next_follow_up": today})
    return Q(**{f"{via}next_follow_up__lte": today}) & (Q(**{f"{via}status__in": CAN_BE_LATE}) | enrolled_today)


def _due_within(days: int, via: str = "") -> Q:
    today = timezone.localdate()
    end = today + datetime.timedelta(days=days)
    return Q(**{f"{via}next_follow_up__gte": today, f"{via}next_follow_up__lte": end, f"{via}status__in": WORKED_ON})


def kept_due(tally: QuerySet[DueTally]) -> tuple[int, int]:
    """Calls due today and overdue among the kept day counts `tally` (crm_duetally, kept by the same rules): as many
    as customers_due_today() and customers_overdue() count on those customers. Due now is both."""
    today = timezone.localdate()
    sums = tally.aggregate(
        today=Sum(F("can_be_late") + F("enrolled"), filter=Q(day=today)),
        overdue=Sum("can_be_late", filter=Q(day__lt=today)),
    )
    return sums["today"] or 0, sums["overdue"] or 0


ANY_CUSTOMER = Q()


def _latest(follow_ups: QuerySet[FollowUp], condition: Q, within: Q) -> QuerySet[FollowUp]:
    """The follow-ups among `follow_ups` that are the latest of a customer in use meeting `condition` (through
    "latest_of__"): one join from the customer's kept latest follow-up, so the customer's indexes drive it (and one
    filter() call, so a single join). `within` narrows those customers the same way (e.g. to whose they are)."""
    in_use = Q(latest_of__archived_at__isnull=True, latest_of__next_follow_up__isnull=False)
    return follow_ups.filter(condition & within & in_use)


def due_today(follow_ups: QuerySet[FollowUp], within: Q = ANY_CUSTOMER) -> QuerySet[FollowUp]:
    return _latest(follow_ups, _due_today("latest_of__"), within)


def overdue(follow_ups: QuerySet[FollowUp], within: Q = ANY_CUSTOMER) -> QuerySet[FollowUp]:
    return _latest(follow_ups, _overdue("latest_of__"), within)


def due_now(follow_ups: QuerySet[FollowUp], within: Q = ANY_CUSTOMER) -> QuerySet[FollowUp]:
    """Due today or overdue: the calls to make today."""
    return _latest(follow_ups, _due_now("latest_of__"), within)


def due_within(follow_ups: QuerySet[FollowUp], days: int, within: Q = ANY_CUSTOMER) -> QuerySet[FollowUp]:
    return _latest(follow_ups, _due_within(days, "latest_of__"), within)


def customers_due_today(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    """The customers whose latest follow-up is due today: as many as due_today() lists follow-ups."""
    return customers.filter(_due_today(), archived_at__isnull=True)


def customers_overdue(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    """The customers whose latest follow-up is overdue: as many as overdue() lists follow-ups."""
    return customers.filter(_overdue(), archived_at__isnull=True)


def own_follow_ups(user) -> QuerySet[FollowUp]:
    """Follow-ups on the leads `user` owns: their calls to make (a lead shared with them stays its owner's)."""
    return access.restrict(user, FollowUp.objects.filter(customer__consultant_id=user.pk))


def not_ended() -> Q:
    """Classes still running or to come (an open end date counts as running)."""
    return Q(end_date__isnull=True) | Q(end_date__gte=timezone.localdate())


def classes_open_for_enrollment(user) -> QuerySet[ClassGrade]:
    """Classes not yet ended that `user` may enroll students in, each with `seats_taken`."""
    return (
        access.visible_classes(user)
        .filter(not_ended())
        .annotate(seats_taken=Count("students", distinct=True))
        .order_by("start_date", "course__name", "semester")
    )


def catalogue_courses() -> list[Course]:
    """Every course for the public catalogue, each with `campuses` (where its classes run or will start) and
    `upcoming` (its classes still to start, soonest first, each with `seats_taken`): two queries however many."""
    today = timezone.localdate()
    open_classes = (
        ClassGrade.objects.filter(not_ended())
        .annotate(seats_taken=Count("students", distinct=True))
        .order_by("start_date", "branch__name", "pk")
    )
    courses = list(Course.objects.order_by("name").prefetch_related(Prefetch("classes", open_classes, "open_classes")))
    for course in courses:
        course.campuses = sorted({c.branch for c in course.open_classes}, key=lambda branch: branch.name)
        course.upcoming = [c for c in course.open_classes if c.start_date >= today]
    return courses


def pool_returns_from(user, since: datetime.datetime) -> QuerySet[Customer]:
    """Leads that went back to the pool from `user` since `since` (returned idle or released by a manager)."""
    moves = PoolMove.objects.filter(
        kind__in=[PoolMove.Kind.RETURNED, PoolMove.Kind.RELEASED], from_user=user, at__gte=since
    )
    return Customer.objects.filter(pk__in=moves.values("customer_id"))


def portal_username(login: str) -> str:
    """The account a portal login names: the student whose enrollment phone it is (any spelling), else the login
    as typed (a username, or a phone that is itself the username)."""
    phone = try_normalize_phone(login.strip())
    username = Student.objects.filter(customer__phone=phone).values_list("user__username", flat=True).first()
    return username or phone
