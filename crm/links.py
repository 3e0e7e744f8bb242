"""The student's enrollment link: a signed, expiring token naming an enrollment's random id and link version.

It imports no model (the Enrollment model builds its URL here), so the lookup is given the enrollments to search.
"""

import datetime

from django.conf import settings
from django.core import signing
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

SALT = "crm.enrollment.link"

LINK_EXPIRED = _("This enrollment link has expired.")
LINK_REPLACED = _("This enrollment link was replaced by a newer one.")
LINK_INVALID = _("This enrollment link is not valid. It may be incomplete: check that you copied all of it.")


def public_url(request, path: str) -> str:
    """An address to hand out (a student's link, a calendar feed): the school's public one when set, else the one
    the request came in at."""
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    return base + path if base else request.build_absolute_uri(path)


class LinkError(Exception):
    """An enrollment link that cannot be used; `gone` links were real once (expired or replaced)."""

    def __init__(self, message, *, gone: bool):
        super().__init__(message)
        self.message, self.gone = message, gone


def link_token(enrollment) -> str:
    """A signed token naming the enrollment's random id and link version; its age is checked on use."""
    return signing.dumps({"e": enrollment.public_id.hex, "v": enrollment.link_version}, salt=SALT)


def public_path(enrollment) -> str:
    return reverse("enrollment_form", args=[link_token(enrollment)])


def enrollment_for_token(token: str, enrollments: QuerySet):
    """The enrollment of `enrollments` a link names, or LinkError saying in words why the link cannot be used."""
    max_age = datetime.timedelta(days=settings.ENROLLMENT_LINK_MAX_AGE_DAYS)
    try:
        payload = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise LinkError(LINK_EXPIRED, gone=True) from None
    except signing.BadSignature:
        raise LinkError(LINK_INVALID, gone=False) from None
    enrollment = enrollments.filter(public_id=payload.get("e")).first()
    if enrollment is None:
        raise LinkError(LINK_INVALID, gone=False)
    if payload.get("v") != enrollment.link_version:
        raise LinkError(LINK_REPLACED, gone=True)
    return enrollment
