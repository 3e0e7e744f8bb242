"""jazzmin's top bar, per person: one search box for every member of staff, opening the CRM's one search.

jazzmin draws a box per `search_model`, each leading to one model's changelist (a teacher's "Search Customers…" led
to a 403). Its settings tag is registered again here to draw a single box instead, aimed at the admin's search
page, which searches only what the person may reach (crm.search) and so opens for everyone.
"""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from jazzmin.templatetags import jazzmin as jazzmin_tags

from crm import search

_jazzmin_settings = jazzmin_tags.get_jazzmin_settings


def search_box(request) -> dict | None:
    """jazzmin's description of a search box: where it goes and what its placeholder names."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return None
    titles = [str(source.title).lower() for source in search.searchable(user)] or [str(_("everything"))]
    return {"search_url": reverse("admin:search"), "search_name": ", ".join(titles)}


def get_jazzmin_settings(request):
    settings = _jazzmin_settings(request)
    box = search_box(request)
    settings["search_model"] = ["crm.search"] if box else None
    settings["search_models_parsed"] = [box] if box else []
    return settings


jazzmin_tags.register.simple_tag(get_jazzmin_settings, name="get_jazzmin_settings")
