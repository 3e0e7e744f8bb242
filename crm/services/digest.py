"""The morning digest: one email per salesperson with their calls to make and what came in for them.

Due today and overdue follow the dashboard's definition (crm.selectors); only the leads a person owns are in their
digest, never another's (a lead shared with them stays its owner's). Run by `manage.py send_follow_up_digest`
and, later, by the scheduled task `crm.tasks.send_follow_up_digest`.
"""

import datetime
import logging
import smtplib
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from crm import access, emails, selectors
from crm.models import Customer, FollowUp, PoolCustomer, StaffProfile
from crm.phones import format_phone, mask_phone

from .staff import staff_profiles_ensure

logger = logging.getLogger(__name__)

ROWS_SHOWN = 25  # per section; the rest are counted and linked
FIRST_DIGEST_WINDOW = datetime.timedelta(hours=24)  # what "new" means for someone who never had a digest
# Where links in emails point when CRM_PUBLIC_BASE_URL is not set: the address `make run` serves.
LOCAL_SITE_URL = "http://127.0.0.1:8000"

DUE_TODAY = _("Due today")
OVERDUE = _("Overdue")
WEB_LEADS = _("New web leads for you")
RETURNED = _("Returned from you to the lead pool")
DUE_ON = _("due %(date)s")
ASKED_ABOUT = _("asked about %(courses)s")


@dataclass
class Row:
    title: str
    detail: str
    note: str
    url: str


@dataclass
class Section:
    key: str
    title: str
    total: int
    url: str
    rows: list[Row] = field(default_factory=list)

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


@dataclass
class Digest:
    user: object
    since: datetime.datetime
    until: datetime.datetime
    sections: list[Section]

    @property
    def calls(self) -> int:
        return sum(section.total for section in self.sections if section.key in ("due_today", "overdue"))

    def has_news(self) -> bool:
        return any(section.total for section in self.sections)


def site_url(path: str) -> str:
    """An address for an email: the CRM's public address (CRM_PUBLIC_BASE_URL), else where `make run` serves."""
    return (settings.PUBLIC_BASE_URL.rstrip("/") or LOCAL_SITE_URL) + path


def _changelist(model, **params) -> str:
    path = reverse(f"admin:crm_{model._meta.model_name}_changelist")
    return site_url(f"{path}?{urlencode(params)}" if params else path)


def _customer_url(customer_id: int) -> str:
    return site_url(reverse("admin:crm_customer_change", args=[customer_id]))


def _name(customer: Customer) -> str:
    return customer.name or format_phone(customer.phone)


def _one_line(text: str) -> str:
    """A note as one short line (a row of the text email keeps its indent)."""
    return Truncator(" · ".join(line.strip() for line in text.splitlines() if line.strip())).chars(160)


def _follow_up_section(key, title, follow_ups: QuerySet[FollowUp], url: str, with_date: bool) -> Section:
    section = Section(key, str(title), follow_ups.count(), url)
    for follow_up in follow_ups.select_related("customer").order_by("next_follow_up", "customer__name", "pk")[
        :ROWS_SHOWN
    ]:
        customer = follow_up.customer
        detail = format_phone(customer.phone)
        if with_date:
            detail += " · " + str(DUE_ON) % {"date": date_format(follow_up.next_follow_up)}
        section.rows.append(Row(_name(customer), detail, _one_line(follow_up.content), _customer_url(customer.pk)))
    return section


def _lead_section(key, title, customers: QuerySet[Customer], url: str) -> Section:
    section = Section(key, str(title), customers.count(), url)
    for customer in customers.prefetch_related("consult_courses").order_by("-created_at", "-pk")[:ROWS_SHOWN]:
        notes = []
        courses = ", ".join(course.name for course in customer.consult_courses.all())
        if courses:
            notes.append(str(ASKED_ABOUT) % {"courses": courses})
        if customer.content:
            notes.append(_one_line(customer.content))
        if customer.channel:
            notes.append(customer.channel)
        section.rows.append(
            Row(_name(customer), format_phone(customer.phone), " · ".join(notes), _customer_url(customer.pk))
        )
    return section


def _returned_section(user, since: datetime.datetime) -> Section:
    """Leads that went from `user` back to the pool: no longer theirs, so shown as the pool shows them (phone
    masked), each linking to the pool list where they may be claimed once the reclaim block ends."""
    returned = selectors.pool_returns_from(user, since)
    url = _changelist(PoolCustomer)
    section = Section("returned", str(RETURNED), returned.count(), url)
    for customer in returned.order_by("-pooled_at", "-pk")[:ROWS_SHOWN]:
        masked = mask_phone(customer.phone)
        why = " · ".join(filter(None, [customer.get_pool_reason_display(), _one_line(customer.pool_note)]))
        section.rows.append(Row(customer.name or masked, masked, why, url))
    return section


def digest_for(user, *, since: datetime.datetime, until: datetime.datetime) -> Digest:
    """What `user`'s digest says: their own leads only, in the active language. A fixed number of queries."""
    mine = selectors.own_follow_ups(user)
    owner = {"customer__consultant__id__exact": user.pk}
    web_leads = access.restrict(
        user,
        Customer.objects.filter(
            consultant_id=user.pk, source=Customer.Source.WEBSITE, created_at__gte=since, created_at__lt=until
        ),
    )
    web_leads_url = _changelist(
        Customer,
        consultant__id__exact=user.pk,
        source__exact=Customer.Source.WEBSITE,
        created_at__gte=since.isoformat(),
        created_at__lt=until.isoformat(),
    )
    sections = [
        _follow_up_section(
            "due_today", DUE_TODAY, selectors.due_today(mine), _changelist(FollowUp, due="today", **owner), False
        ),
        _follow_up_section(
            "overdue", OVERDUE, selectors.overdue(mine), _changelist(FollowUp, due="overdue", **owner), True
        ),
        _lead_section("web_leads", WEB_LEADS, web_leads, web_leads_url),
        _returned_section(user, since),
    ]
    return Digest(user=user, since=since, until=until, sections=sections)


def digest_send_all() -> int:
    """Send each salesperson (and manager) who owns anything to report their digest; returns how many were sent.

    "New" means since the person's previous digest (the last 24 hours for a first one). A failed email is logged
    and the next one is tried; its news stay new for the next run.
    """
    now = timezone.now()
    consultants = selectors.consultants().exclude(email="")
    staff_profiles_ensure(user_ids=consultants.values_list("pk", flat=True))
    profiles = StaffProfile.objects.filter(user__in=consultants).select_related("user").order_by("user__username")
    sent = 0
    for profile in profiles:
        since = profile.digest_sent_at or now - FIRST_DIGEST_WINDOW
        with translation.override(profile.email_language):
            digest = digest_for(profile.user, since=since, until=now)
            if not digest.has_news():
                continue
            try:
                emails.send_templated(
                    "follow_up_digest", _context(digest), to=profile.user.email, language=profile.email_language
                )
            except (smtplib.SMTPException, OSError) as error:
                logger.warning("The follow-up digest to %s failed: %s", profile.user.email, error)
                continue
        StaffProfile.objects.filter(pk=profile.pk).update(digest_sent_at=now)
        sent += 1
    return sent


def _context(digest: Digest) -> dict:
    """What the digest's templates (crm/email/follow_up_digest*) show."""
    user = digest.user
    return {
        "digest": digest,
        "name": user.get_full_name() or user.get_username(),
        "today": timezone.localdate(),
        "dashboard_url": site_url(reverse("admin:index")),
    }
