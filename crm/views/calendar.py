"""Lesson calendars outside the admin: the student's in the portal, and every person's .ics feed at its secret URL."""

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from crm import access, calendars, links
from crm.models import CalendarFeed
from crm.services import calendars as calendar_feeds

from .portal import student_required


def feed(request, token: str):
    """A person's lessons as iCalendar: the token alone opens it (calendar apps send no login); a revoked one 404s."""
    owner = access.feed_owner(token)
    if owner is None:
        raise Http404
    lessons = calendars.feed_lessons(access.calendar_lessons(owner)).select_related(
        "class_grade__course", "class_grade__branch"
    )
    name = f"{settings.SCHOOL_NAME} · {owner.get_full_name() or owner.get_username()}"
    response = HttpResponse(
        calendars.ics(name, lessons, request.get_host()), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = 'inline; filename="lessons.ics"'
    response["Cache-Control"] = "private, max-age=900"
    return response


def feed_url(request, user) -> str:
    """The absolute secret address of `user`'s feed, or "" when they have none."""
    token = CalendarFeed.objects.filter(user=user).values_list("token", flat=True).first()
    return links.public_url(request, reverse("calendar_feed", args=[token])) if token else ""


@student_required
def portal_calendar(request, student):
    """My lessons by month or week, each linking to its class's page."""
    view, anchor = calendars.parse_request(request.GET)
    board = calendars.fill(
        calendars.grid(view, anchor),
        access.calendar_lessons(request.user),
        lambda lesson: reverse("portal:class_detail", args=[lesson.class_grade_id]) + f"#lesson-{lesson.day_num}",
    )
    context = {
        "student": student,
        "board": board,
        "views": calendars.VIEWS,
        "feed_url": feed_url(request, request.user),
        "feed_action": reverse("portal:calendar_feed"),
    }
    return render(request, "crm/portal/calendar.html", context)


@require_POST
@student_required
def portal_calendar_feed(request, student):
    calendar_feeds.calendar_feed_change(user=request.user, action=request.POST.get("feed", ""))
    back = reverse("portal:calendar")
    return redirect(f"{back}?{request.GET.urlencode()}" if request.GET else back)
