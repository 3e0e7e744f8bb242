"""The admin's lesson calendar, on the lessons' admin: a teacher's month or week (the lessons they may reach), one
class's schedule (?class_grade=<id>), and the person's own .ics feed address."""

import re

from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from crm import access, calendars, links
from crm.models import CalendarFeed, ClassGrade
from crm.services import calendars as calendar_feeds


class LessonCalendarMixin:
    """For CourseRecordAdmin: the calendar page and its feed button (open to whoever may view lessons)."""

    def get_urls(self):
        site = self.admin_site
        return [
            path("calendar/", site.admin_view(self.calendar_view), name="crm_courserecord_calendar"),
            path("calendar/feed/", site.admin_view(self.calendar_feed_view), name="crm_courserecord_calendar_feed"),
            *super().get_urls(),
        ]

    def _may_view_lessons(self, request):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied

    def calendar_view(self, request):
        self._may_view_lessons(request)
        class_grade = self._chosen_class(request)
        # A teacher's own calendar opens on this week; a class's schedule on the month.
        view, anchor = calendars.parse_request(request.GET, calendars.MONTH if class_grade else calendars.WEEK)
        lessons = access.visible(request.user, self.model)
        if class_grade is not None:
            lessons = lessons.filter(class_grade=class_grade)
        board = calendars.fill(
            calendars.grid(view, anchor),
            lessons,
            lambda lesson: reverse("admin:crm_courserecord_change", args=[lesson.pk]),
        )
        token = CalendarFeed.objects.filter(user=request.user).values_list("token", flat=True).first()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Schedule of %(class)s") % {"class": class_grade} if class_grade else _("Lesson calendar"),
            "board": board,
            "views": calendars.VIEWS,
            "class_grade": class_grade,
            "classes": access.visible_classes(request.user).order_by("course__name", "branch__name", "semester"),
            "extra_query": "&" + urlencode({"class_grade": class_grade.pk}) if class_grade else "",
            "feed_url": links.public_url(request, reverse("calendar_feed", args=[token])) if token else "",
            "feed_action": reverse("admin:crm_courserecord_calendar_feed"),
        }
        return TemplateResponse(request, "admin/crm/courserecord/calendar.html", context)

    def _chosen_class(self, request) -> ClassGrade | None:
        """The class of ?class_grade=<id>, if the user reaches it (an id of another's class, or of no shape: none)."""
        chosen = request.GET.get("class_grade", "")
        valid = re.fullmatch(r"[0-9]{1,18}", chosen)
        return access.visible_classes(request.user).filter(pk=chosen).first() if valid else None

    def calendar_feed_view(self, request):
        return require_POST(self._calendar_feed)(request)

    def _calendar_feed(self, request):
        self._may_view_lessons(request)
        calendar_feeds.calendar_feed_change(user=request.user, action=request.POST.get("feed", ""))
        back = reverse("admin:crm_courserecord_calendar")
        return redirect(f"{back}?{request.GET.urlencode()}" if request.GET else back)
