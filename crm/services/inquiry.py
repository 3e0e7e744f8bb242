"""Inquiries from the public course pages.

A new phone becomes a web lead of the next salesperson in the rotation, with a follow-up due today; a known phone
adds a follow-up for the lead's owner and changes no owner. The visitor is told the same either way, so the form
never tells anyone whether a phone is known.
"""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from crm import selectors
from crm.models import Branch, Course, Customer, FollowUp, StaffProfile

from . import pool
from .staff import staff_profiles_ensure

# The page parameters kept on a web lead as its channel (a campaign's link: /courses/?utm_source=baidu&...).
CHANNEL_PARAMS = ("src", "utm_source", "utm_medium", "utm_campaign")
CHANNEL_VALUE_MAX = 60

WEB_INQUIRY = _("Web inquiry")
ASKED_AGAIN = _("Asked again on the website")
NEW_LEAD_NOTE = _("Inquiry from the website about %(course)s.")
REPEAT_NOTE = _("Asked again about %(course)s on the website, as %(name)s.")
CAMPUS_LINE = _("Campus: %(campus)s")
MESSAGE_LINE = _("Message: %(message)s")
CHANNEL_LINE = _("Channel: %(channel)s")


@dataclass(frozen=True)
class Inquiry:
    """What the visitor sent, checked by the form (the phone normalized)."""

    name: str
    phone: str
    course: Course
    branch: Branch | None = None
    message: str = ""
    channel: str = ""


def channel_params(params) -> dict[str, str]:
    """The channel parameters of a request's query (`request.GET`), trimmed; the others are dropped."""
    kept = {}
    for name in CHANNEL_PARAMS:
        value = "".join(char for char in params.get(name, "") if char.isprintable()).strip()[:CHANNEL_VALUE_MAX]
        if value:
            kept[name] = value
    return kept


def channel_from(params) -> str:
    """A lead's channel as stored and shown: "src=poster, utm_source=baidu"."""
    return ", ".join(f"{name}={value}" for name, value in channel_params(params).items())


def web_lead_owner_next(*, branch: Branch | None = None):
    """The salesperson whose turn it is for a web lead, moved to the back of the rotation.

    Among active salespeople (and managers) who take web leads: those of the campus when it has any, else all of
    them; if nobody takes web leads, everyone who can own leads, so no inquiry waits for a setting. The one who got
    a web lead longest ago (or never) goes first. The candidates' rows stay locked to the end of the caller's
    transaction, so two inquiries at once are served one after the other and never both go to the same person out
    of turn. None when nobody can own leads.
    """
    consultants = list(selectors.consultants().values_list("pk", flat=True))
    staff_profiles_ensure(user_ids=consultants)
    everyone = StaffProfile.objects.filter(user_id__in=consultants)
    takers = everyone.filter(takes_web_leads=True)
    campus = [takers.filter(branch=branch)] if branch else []
    for candidates in [*campus, takers, everyone]:
        # Lock all, then choose: PostgreSQL may return rows locked after waiting in their old order.
        locked = list(candidates.select_for_update(of=("self",)).select_related("user").order_by("pk"))
        if locked:
            chosen = min(locked, key=lambda p: (p.last_web_lead_at is not None, p.last_web_lead_at or 0, p.pk))
            chosen.last_web_lead_at = timezone.now()
            chosen.save(update_fields=["last_web_lead_at"])
            return chosen.user
    return None


def inquiry_submit(*, inquiry: Inquiry) -> Customer:
    """Record a web inquiry: a new lead, or a follow-up on the lead the phone belongs to."""
    try:
        return _inquiry_record(inquiry)
    except IntegrityError:  # the same new phone was recorded a moment ago by another request: it is known now
        return _inquiry_record(inquiry)


@transaction.atomic
def _inquiry_record(inquiry: Inquiry) -> Customer:
    existing = Customer.objects.filter(phone=inquiry.phone).first()
    return _lead_asked_again(existing, inquiry) if existing else _lead_create(inquiry)


def _lead_create(inquiry: Inquiry) -> Customer:
    owner = web_lead_owner_next(branch=inquiry.branch)
    customer = Customer(
        name=inquiry.name,
        phone=inquiry.phone,
        source=Customer.Source.WEBSITE,
        channel=inquiry.channel,
        branch=inquiry.branch,
        content=inquiry.message,
        consultant=owner,  # None (nobody can own leads): the lead waits in the pool
    )
    customer._change_reason = str(WEB_INQUIRY)
    # The phone's uniqueness is the database's to decide (two requests at once): see inquiry_submit.
    customer.full_clean(exclude=["consult_courses", "tags"], validate_unique=False)
    customer.save()
    customer.consult_courses.add(inquiry.course)
    if owner is not None:
        _follow_up_today(customer, owner, NEW_LEAD_NOTE, inquiry)
    return customer


def _lead_asked_again(customer: Customer, inquiry: Inquiry) -> Customer:
    """The lead keeps its owner and data (the visitor may not be who they say); the owner calls back today."""
    customer = Customer.objects.select_for_update(of=("self",)).get(pk=customer.pk)
    if customer.consultant_id is None:  # in the pool: the inquiry makes it a web lead of whoever's turn it is
        owner = web_lead_owner_next(branch=inquiry.branch or customer.branch)
        if owner is not None:
            customer = pool.pool_give_web_lead(locked=customer, to=owner)
    changed = []
    if customer.status == Customer.Status.LOST:
        customer.status = Customer.Status.FOLLOWING
        changed.append("status")
    if customer.archived_at is not None:
        customer.archived_at = None
        changed.append("archived_at")
    if changed:
        customer._change_reason = str(ASKED_AGAIN)
        customer.save(update_fields=[*changed, "updated_at"])
    customer.consult_courses.add(inquiry.course)
    if customer.consultant_id is not None:
        _follow_up_today(customer, customer.consultant, REPEAT_NOTE, inquiry)
    return customer


def _follow_up_today(customer: Customer, owner, note, inquiry: Inquiry) -> FollowUp:
    """A follow-up due today for the owner, written in the owner's language."""
    profile = getattr(owner, "staff_profile", None) or StaffProfile()
    with translation.override(profile.email_language):
        lines = [str(note) % {"course": inquiry.course.name, "name": inquiry.name}]
        if inquiry.branch:
            lines.append(str(CAMPUS_LINE) % {"campus": inquiry.branch.name})
        if inquiry.message:
            lines.append(str(MESSAGE_LINE) % {"message": inquiry.message})
        if inquiry.channel:
            lines.append(str(CHANNEL_LINE) % {"channel": inquiry.channel})
    follow_up = FollowUp(
        customer=customer, consultant=owner, content="\n".join(lines), next_follow_up=timezone.localdate()
    )
    follow_up._change_reason = str(WEB_INQUIRY)
    follow_up.full_clean()
    follow_up.save()
    return follow_up
