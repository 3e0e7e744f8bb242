"""Pieces of the admin's layout that jazzmin's templates have no block for."""

from django import template

from crm import reports

register = template.Library()


@register.inclusion_tag("admin/crm/top_bar.html", takes_context=True)
def top_bar(context):
    """Items for the top bar: the signed-in person's calls to make today."""
    request = context.get("request")
    user = getattr(request, "user", None)
    shows = user is not None and user.is_authenticated and user.has_perm("crm.view_followup")
    return {"calls": reports.calls_to_make(user) if shows else None}
