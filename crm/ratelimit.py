"""The public pages' per-IP request limit: django-ratelimit, counting by our client address, answering our 429 page.

The counts live in the Django cache: with Redis as the cache (production) every worker and host shares them; the
local-memory default counts per process, which is exact for one process (`make run`).
"""

import ipaddress
from functools import wraps

from django.conf import settings
from django.shortcuts import render
from django_ratelimit.decorators import ratelimit


def client_ip(request) -> str:
    """The visitor's address: for these limits (RATELIMIT_IP_META_KEY) and login lockouts (AXES_CLIENT_IP_CALLABLE)."""
    # Behind the school's proxy the last forwarded address is the one the proxy saw (the ones before it are
    # whatever the client sent, so they cannot be trusted); REMOTE_ADDR otherwise, or when that hop is not an address.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "") if settings.USE_X_FORWARDED_FOR else ""
    try:
        return str(ipaddress.ip_address(forwarded.split(",")[-1].strip()))
    except ValueError:
        return request.META.get("REMOTE_ADDR", "")


def _per_minute(group, request) -> str:
    return f"{settings.PUBLIC_RATE_LIMIT_PER_MINUTE}/m"  # read per request, not frozen at import


def rate_limited(group: str):
    """At most PUBLIC_RATE_LIMIT_PER_MINUTE requests per IP and minute for this group of pages; then a 429 page."""

    def decorator(view):
        @wraps(view)
        @ratelimit(group=group, key="ip", rate=_per_minute, block=False)
        def limited_view(request, *args, **kwargs):
            if request.limited:
                return render(request, "crm/public/too_many_requests.html", status=429)
            return view(request, *args, **kwargs)

        return limited_view

    return decorator
