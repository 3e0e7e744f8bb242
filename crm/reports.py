"""The dashboard's figures, each an aggregate over the rows crm.access lets the user reach."""

from dataclasses import dataclass, field

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm import access, selectors
from crm.models import CourseRecord, Customer, FollowUp


@dataclass
class Figure:
    label: str
    value: int
    url: str = ""


@dataclass
class Dashboard:
    leads: list[Figure] = field(default_factory=list)
    follow_ups: list[Figure] = field(default_factory=list)
    next_lessons: list = field(default_factory=list)


def _changelist(model, **params) -> str:
    url = reverse(f"admin:crm_{model._meta.model_name}_changelist")
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def lead_funnel(user) -> list[Figure]:
    """Customers the user reaches, by status, in funnel order."""
    counts = dict(access.visible(user, Customer).order_by().values_list("status").annotate(n=Count("pk")))
    return [
        Figure(label, counts.get(value, 0), _changelist(Customer, status__exact=value))
        for value, label in Customer.Status.choices
    ]


def follow_ups_due(user) -> list[Figure]:
    follow_ups = access.visible(user, FollowUp)
    return [
        Figure(_("Due today"), selectors.due_today(follow_ups).count(), _changelist(FollowUp, due="today")),
        Figure(_("Overdue"), selectors.overdue(follow_ups).count(), _changelist(FollowUp, due="overdue")),
    ]


def next_lessons(user, limit: int = 5):
    """The user's next lessons (teachers see their own classes)."""
    return list(
        access.visible(user, CourseRecord)
        .filter(date__gte=timezone.localdate())
        .select_related("class_grade__course", "class_grade__branch")
        .order_by("date", "id")[:limit]
    )


def dashboard(user) -> Dashboard:
    board = Dashboard()
    if user.has_perm("crm.view_customer"):
        board.leads = lead_funnel(user)
    if user.has_perm("crm.view_followup"):
        board.follow_ups = follow_ups_due(user)
    if user.has_perm("crm.view_courserecord") and not access.sees_all_classes(user):
        board.next_lessons = next_lessons(user)
    return board
