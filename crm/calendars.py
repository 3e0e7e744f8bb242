"""Lesson calendars: month and week grids drawn from the lessons' dates, and the same lessons as iCalendar text.

The rows come from the caller, already narrowed by crm.access; this module only arranges them.
"""

import calendar
import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import icalendar
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from crm.models import CourseRecord

MONTH, WEEK = "month", "week"
VIEWS = {MONTH: _("Month"), WEEK: _("Week")}
FEED_DAYS_BACK = 180  # a feed carries the last half year and everything to come


@dataclass
class Day:
    date: datetime.date
    in_period: bool
    is_today: bool
    lessons: list = field(default_factory=list)  # (lesson, url)


@dataclass
class Grid:
    view: str
    anchor: datetime.date
    title: str
    weeks: list[list[Day]]
    previous: datetime.date
    next: datetime.date
    weekdays: list[str]

    @property
    def start(self) -> datetime.date:
        return self.weeks[0][0].date

    @property
    def end(self) -> datetime.date:
        return self.weeks[-1][-1].date

    @property
    def lesson_count(self) -> int:
        return sum(len(day.lessons) for week in self.weeks for day in week)


def parse_request(params, default: str = MONTH) -> tuple[str, datetime.date]:
    """The view (month or week) and a day inside it, from ?view=week&date=2026-11-26; anything odd means the
    default view around today."""
    view = params.get("view") if params.get("view") in VIEWS else default
    try:
        anchor = datetime.date.fromisoformat(params.get("date", ""))
    except ValueError:
        anchor = timezone.localdate()
    return view, anchor


def grid(view: str, anchor: datetime.date) -> Grid:
    """The empty grid of the month or the week (Monday first) around `anchor`."""
    today = timezone.localdate()
    weekdays = [str(WEEKDAYS_ABBR[i]) for i in range(7)]
    if view == WEEK:
        monday = anchor - datetime.timedelta(days=anchor.weekday())
        week = [monday + datetime.timedelta(days=i) for i in range(7)]
        title = _("%(start)s – %(end)s") % {
            "start": date_format(week[0], "MONTH_DAY_FORMAT"),
            "end": date_format(week[-1], "MONTH_DAY_FORMAT"),
        }
        weeks = [[Day(day, True, day == today) for day in week]]
        step = datetime.timedelta(days=7)
        return Grid(view, anchor, title, weeks, monday - step, monday + step, weekdays)
    dates = calendar.Calendar(firstweekday=0).monthdatescalendar(anchor.year, anchor.month)
    weeks = [[Day(day, day.month == anchor.month, day == today) for day in week] for week in dates]
    first = anchor.replace(day=1)
    previous = (first - datetime.timedelta(days=1)).replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    return Grid(view, anchor, date_format(first, "YEAR_MONTH_FORMAT"), weeks, previous, following, weekdays)


def fill(board: Grid, lessons: QuerySet[CourseRecord], url: Callable[[CourseRecord], str]) -> Grid:
    """`board` with the given lessons that fall inside it, each with its link, in class order on each day."""
    by_date = defaultdict(list)
    rows = lessons.filter(date__gte=board.start, date__lte=board.end).select_related("teacher")
    for lesson in rows.order_by("date", "class_grade__course__name", "day_num"):
        by_date[lesson.date].append((lesson, url(lesson)))
    for week in board.weeks:
        for day in week:
            day.lessons = by_date.get(day.date, [])
    return board


def lesson_summary(lesson: CourseRecord) -> str:
    return _("%(course)s: lesson %(day)s, %(title)s") % {
        "course": lesson.class_grade.course.name,
        "day": lesson.day_num,
        "title": lesson.title,
    }


def ics(name: str, lessons: Iterable[CourseRecord], domain: str) -> bytes:
    """The lessons as an iCalendar (RFC 5545) file: one all-day event per lesson (lessons have dates, not hours)."""
    feed = icalendar.Calendar()
    feed.add("prodid", "-//Training school CRM//lesson calendar//EN")
    feed.add("version", "2.0")
    feed.add("calscale", "GREGORIAN")
    feed.add("x-wr-calname", name)
    stamp = timezone.now()
    for lesson in lessons:
        event = icalendar.Event()
        event.add("uid", f"lesson-{lesson.pk}@{domain}")
        event.add("dtstamp", stamp)
        event.add("dtstart", lesson.date)
        event.add("dtend", lesson.date + datetime.timedelta(days=1))
        event.add("summary", str(lesson_summary(lesson)))
        event.add("location", lesson.class_grade.branch.name)
        details = [str(lesson.class_grade), lesson.outline]
        if lesson.has_homework:
            details.append(str(_("Homework: %(title)s") % {"title": lesson.homework_title}))
        event.add("description", "\n\n".join(part for part in details if part))
        feed.add_component(event)
    return feed.to_ical()


def feed_lessons(lessons: QuerySet[CourseRecord]) -> QuerySet[CourseRecord]:
    """What a feed carries: the last half year and everything to come, oldest first."""
    since = timezone.localdate() - datetime.timedelta(days=FEED_DAYS_BACK)
    return lessons.filter(date__gte=since).order_by("date", "class_grade_id", "day_num")
