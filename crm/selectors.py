"""Reads reused by the admin, the dashboard and the views."""

import datetime

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from crm import access, roles
from crm.models import ClassGrade, Customer, FollowUp, Student
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


def pending_follow_ups(follow_ups: QuerySet[FollowUp]) -> QuerySet[FollowUp]:
    """The latest follow-up of each customer: its next date is the one still to keep."""
    newer = FollowUp.objects.filter(customer_id=OuterRef("customer_id"), created_at__gt=OuterRef("created_at"))
    return follow_ups.filter(~Exists(newer))


def due_today(follow_ups: QuerySet[FollowUp]) -> QuerySet[FollowUp]:
    return pending_follow_ups(follow_ups).filter(next_follow_up=timezone.localdate())


def overdue(follow_ups: QuerySet[FollowUp]) -> QuerySet[FollowUp]:
    return pending_follow_ups(follow_ups).filter(next_follow_up__lt=timezone.localdate())


def due_within(follow_ups: QuerySet[FollowUp], days: int) -> QuerySet[FollowUp]:
    today = timezone.localdate()
    return pending_follow_ups(follow_ups).filter(
        next_follow_up__gte=today, next_follow_up__lte=today + datetime.timedelta(days=days)
    )


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


def portal_username(login: str) -> str:
    """The account a portal login names: the student whose enrollment phone it is (any spelling), else the login
    as typed (a username, or a phone that is itself the username)."""
    phone = try_normalize_phone(login.strip())
    username = Student.objects.filter(customer__phone=phone).values_list("user__username", flat=True).first()
    return username or phone
