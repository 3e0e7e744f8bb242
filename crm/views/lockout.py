"""The page a locked-out sign-in gets (django-axes calls this instead of its own English text)."""

from django.conf import settings
from django.shortcuts import render


def locked_out(request, original_response=None, credentials=None):
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "crm/public/locked_out.html", {"minutes": minutes}, status=429)
