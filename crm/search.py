"""The admin's one search: customers, students, classes and enrollments the person may reach, a few of each.

Rows come only through crm.access (a teacher's search covers their classes and their students); a group shows
only to those with the model's view or change permission; every group is one bounded query (LIMIT).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Model, Q, QuerySet
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from crm import access
from crm.models import ClassGrade, Customer, Enrollment, Student
from crm.phones import E164, format_phone, try_normalize_phone

PER_GROUP = 5
MIN_LENGTH = 2
MAX_LENGTH = 64
_SEPARATORS = re.compile(r"[\s\-().+]")


@dataclass
class Hit:
    label: str
    detail: str
    url: str


@dataclass
class Group:
    key: str
    title: str
    hits: list[Hit] = field(default_factory=list)
    more_url: str = ""


def whole_phone(query: str) -> str:
    """The number in E.164 when the query is a whole phone number however written, else ""."""
    normalized = try_normalize_phone(query)
    return normalized if E164.fullmatch(normalized) else ""


def _customer_filter(query: str, via: str = "") -> Q:
    """A person by name or phone. A whole number is looked up by the phone's unique index alone (no name is a
    phone number), so it costs the same at any size; 4 or more digits otherwise match a part of a number."""
    phone = whole_phone(query)
    if phone:
        return Q(**{f"{via}phone": phone})
    digits = _SEPARATORS.sub("", query)
    part = Q(**{f"{via}phone__contains": digits}) if digits.isdigit() and len(digits) >= 4 else Q(pk__in=[])
    return Q(**{f"{via}name__icontains": query}) | part


def _customers(query: str) -> Q:
    if whole_phone(query):
        return _customer_filter(query) | Q(qq=query)  # both indexed
    return _customer_filter(query) | Q(qq=query) | Q(wechat__iexact=query) | Q(email__iexact=query)


def _classes(query: str) -> Q:
    return Q(course__name__icontains=query) | Q(branch__name__icontains=query)


@dataclass(frozen=True)
class Source:
    key: str
    title: str
    model: type[Model]
    matches: Callable[[str], Q]
    detail: Callable[[Model], str]
    related: tuple[str, ...] = ()


SOURCES = [
    Source("customers", _("Customers"), Customer, _customers, lambda c: format_phone(c.phone)),
    Source(
        "students",
        _("Students"),
        Student,
        lambda q: _customer_filter(q, "customer__"),
        lambda s: format_phone(s.customer.phone),
        ("customer",),
    ),
    Source("classes", _("Classes"), ClassGrade, _classes, lambda c: c.get_class_type_display()),
    Source(
        "enrollments",
        _("Enrollments"),
        Enrollment,
        lambda q: _customer_filter(q, "customer__"),
        lambda e: e.get_status_display(),
        ("customer", "class_grade__course", "class_grade__branch"),
    ),
]


def may_search(user, model: type[Model]) -> bool:
    """The groups a person's search covers: the models whose admin pages they may open."""
    opts = model._meta
    return user.has_perm(f"{opts.app_label}.view_{opts.model_name}") or user.has_perm(
        f"{opts.app_label}.change_{opts.model_name}"
    )


def searchable(user) -> list[Source]:
    return [source for source in SOURCES if user.is_active and user.is_staff and may_search(user, source.model)]


def clean_query(raw: str) -> str:
    return " ".join((raw or "").split())[:MAX_LENGTH]


def _rows(user, source: Source, query: str) -> QuerySet:
    rows = access.visible(user, source.model).filter(source.matches(query))
    return rows.select_related(*source.related) if source.related else rows


def search(user, raw_query: str, per_group: int = PER_GROUP) -> list[Group]:
    """What `user` may reach that matches, grouped; one query per group, each limited to one more than shown."""
    query = clean_query(raw_query)
    if len(query) < MIN_LENGTH:
        return []
    groups = []
    for source in searchable(user):
        opts = source.model._meta
        rows = list(_rows(user, source, query)[: per_group + 1])
        if not rows:
            continue
        group = Group(source.key, source.title)
        for row in rows[:per_group]:
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
            group.hits.append(Hit(str(row), source.detail(row), url))
        if len(rows) > per_group:
            changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
            group.more_url = f"{changelist}?{urlencode({'q': query})}"
        groups.append(group)
    return groups
