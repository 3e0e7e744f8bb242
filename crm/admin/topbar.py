"""jazzmin's top bar, per person: a search box only for those whose admin would open its list.

jazzmin draws a box for each `search_model` for everyone (a teacher's "Search Customers…" led to a 403). Its settings
tag is registered again here, dropping every search model whose changelist would refuse the user, with the very
check the changelist makes: what the bar offers always opens.
"""

from django.apps import apps
from django.contrib import admin
from jazzmin.templatetags import jazzmin as jazzmin_tags

_jazzmin_settings = jazzmin_tags.get_jazzmin_settings


def may_search(request, label: str) -> bool:
    """Whether the changelist of `label` ("crm.Customer") opens for this request's user."""
    model = apps.get_model(label)
    return admin.site.is_registered(model) and admin.site.get_model_admin(model).has_view_or_change_permission(request)


def get_jazzmin_settings(request):
    settings = _jazzmin_settings(request)
    if settings["search_model"]:
        labels = settings["search_model"]
        allowed = [i for i, label in enumerate(labels) if hasattr(request, "user") and may_search(request, label)]
        settings["search_models_parsed"] = [settings["search_models_parsed"][i] for i in allowed]
        settings["search_model"] = [labels[i] for i in allowed] or None
    return settings


jazzmin_tags.register.simple_tag(get_jazzmin_settings, name="get_jazzmin_settings")
