"""A per-IP request limit for the public pages, counted in the cache (shared by all hosts when it is Redis)."""

import time
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render


def client_ip(request) -> str:
    # Behind the school's proxy the last forwarded address is the one the proxy saw (the ones before it are
    # whatever the client sent, so they cannot be trusted); REMOTE_ADDR otherwise.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "") if settings.USE_X_FORWARDED_FOR else ""
    return forwarded.split(",")[-1].strip() or request.META.get("REMOTE_ADDR", "")


def rate_limited(scope: str):
    """At most PUBLIC_RATE_LIMIT_PER_MINUTE requests per IP and minute for this scope; then a 429 page."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            window = int(time.time() // 60)
            key = f"ratelimit:{scope}:{client_ip(request)}:{window}"
            cache.add(key, 0, timeout=120)
            if cache.incr(key) > settings.PUBLIC_RATE_LIMIT_PER_MINUTE:
                return render(request, "crm/public/too_many_requests.html", status=429)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
