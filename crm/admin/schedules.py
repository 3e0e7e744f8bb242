"""The jobs' schedules (django-celery-beat), kept by the school admin, in the reader's language.

django-celery-beat's own admin shows English it does not translate: labels made from attribute names ("Task Name",
"Scheduler"), help texts naming Celery and AMQP internals, task paths ("crm.tasks.return_to_pool"), the schedules'
names made by migration 0014 and cron_descriptor's "At 07:30 AM". Its ModelAdmins are replaced here by ours: forms
with our labels and help texts, the jobs by what they do, the times in words of the active language. The fields a
school has no use for (arguments, queues, AMQP routing) are left out: our jobs take none.
"""

import calendar
import re
import zoneinfo

from celery import schedules as celery_schedules
from cron_descriptor import (
    ExpressionDescriptor,
    FormatException,
    MissingFieldException,
    Options,
    WrongArgumentException,
)
from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import display_for_value
from django.db import models
from django.utils.dates import MONTHS, WEEKDAYS
from django.utils.translation import get_language, gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    PeriodicTasks,
    SolarSchedule,
)
from timezone_field import TimeZoneFormField

from .base import CRMAdmin, CRMTabularInline

# The jobs a schedule may run, by what they do (crm.tasks); the task path is the worker's, nobody reads it.
JOBS = {
    "crm.tasks.return_to_pool": _("Return leads nobody worked on to the pool"),
    "crm.tasks.send_follow_up_digest": _("Email each salesperson their follow-ups due today"),
}

# The names migration 0014_job_schedules gives the two schedules, in English on every database. They are shown in
# the reader's language when the row still has that name: a data migration would write one language into the rows,
# where staff of one school (zh-hans or en) read the admin in either; a name the school admin gives is its own.
DEFAULT_NAMES = {
    "Return idle leads to the pool (nightly)": _("Return idle leads to the pool (nightly)"),
    "Follow-up digest (each morning)": _("Follow-up digest (each morning)"),
}

# cron_descriptor's catalogue for each of our languages (it has no Traditional/Simplified split).
CRON_LOCALES = {"zh-hans": "zh_CN", "en": "en_US"}

# Time zones as the IANA database names them (Asia/Shanghai), the same in every language: the areas' zones and UTC,
# not the database's old aliases ("PRC", "Cuba", "Zulu"), which read as words.
TIME_ZONES = sorted(name for name in zoneinfo.available_timezones() if "/" in name and not name.startswith("Etc/"))
TIME_ZONES.append("UTC")


def schedule_name(task: PeriodicTask) -> str:
    default = DEFAULT_NAMES.get(task.name)
    return str(default) if default is not None else task.name


def job_label(path: str) -> str:
    return str(JOBS.get(path, path))


def schedule_status(task: PeriodicTask) -> str:
    # Words rather than the admin's yes/no icon, whose alternative text is "True" or "False" in every language.
    return gettext("Running") if task.enabled else gettext("Paused")


def _cronexp(value) -> str:
    return str(value).replace(" ", "") if value else "*"


def crontab_expression(crontab: CrontabSchedule) -> str:
    """The five cron fields, days of the week as numbers (as django-celery-beat reads "mon-fri")."""
    try:
        days = celery_schedules.crontab(day_of_week=crontab.day_of_week).day_of_week
        day_of_week = "*" if set(days) == set(range(7)) else ",".join(map(str, sorted(days)))
    except ValueError:
        day_of_week = _cronexp(crontab.day_of_week)
    fields = [crontab.minute, crontab.hour, crontab.day_of_month, crontab.month_of_year]
    return " ".join([*map(_cronexp, fields), day_of_week])


def crontab_text(crontab: CrontabSchedule) -> str:
    """A crontab in words of the active language, on a 24-hour clock, with its time zone ("At 07:30 (UTC time)")."""
    options = Options()
    options.locale_code = CRON_LOCALES.get(get_language(), "en_US")
    options.use_24hour_time_format = True
    expression = crontab_expression(crontab)
    try:
        words = ExpressionDescriptor(expression, options).get_description()
    except (FormatException, MissingFieldException, WrongArgumentException):
        words = expression
    # cron_descriptor names days and months in English whatever its locale: Django's names are translated.
    names = {calendar.day_name[number]: str(day) for number, day in WEEKDAYS.items()}
    names |= {calendar.month_name[number]: str(month) for number, month in MONTHS.items()}
    words = re.sub(r"\b(%s)\b" % "|".join(names), lambda match: names[match[0]], words)
    return gettext("%(schedule)s (%(time_zone)s time)") % {"schedule": words, "time_zone": crontab.timezone}


# Every admin page names a row by str(): titles, breadcrumbs, the history, the delete confirmation, messages, the
# related dropdowns. The package's are English ("Follow-up digest (each morning): 30 7 * * * (m/h/dM/MY/d) ..."),
# so these two models name themselves as the pages above show them.
PeriodicTask.__str__ = schedule_name
CrontabSchedule.__str__ = crontab_text


NO_SCHEDULE = _("Choose when the job runs: set times, an interval, a sun event or one moment.")


class PeriodicTaskForm(forms.ModelForm):
    task = forms.ChoiceField(label=_("Job"))

    class Meta:
        model = PeriodicTask
        fields = [
            "name", "task", "enabled", "description",
            "crontab", "interval", "solar", "clocked", "start_time", "expires", "one_off",
        ]  # fmt: skip
        labels = {
            "name": pgettext_lazy("schedule", "Name"),
            "enabled": _("Enabled"),
            "description": _("Description"),
            "crontab": _("At set times"),
            "interval": _("At an interval"),
            "solar": _("At a sun event"),
            "clocked": _("At one moment"),
            "start_time": _("Starts at"),
            "expires": _("Ends at"),
            "one_off": _("Once only"),
        }
        help_texts = {
            "name": _("The schedule's name in this list."),
            "enabled": _("Untick to pause the schedule: the job does not run until it is ticked again."),
            "description": "",
            "crontab": _("Choose one kind of schedule only: set times, an interval, a sun event or one moment."),
            "interval": "",
            "solar": "",
            "clocked": _("A schedule at one moment runs once only."),
            "start_time": _("The job does not run before this time (empty: from now on)."),
            "expires": _("The job does not run after this time (empty: no end)."),
            "one_off": _("Run the job once, then pause the schedule."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "---------"), *((path, job_label(path)) for path in JOBS)]
        if self.instance.task and self.instance.task not in JOBS:  # a job set up outside the admin stays as it is
            choices.append((self.instance.task, self.instance.task))
        self.fields["task"].choices = choices
        if self.instance.name in DEFAULT_NAMES:
            self.initial["name"] = schedule_name(self.instance)

    def clean_name(self):
        # The default name shown translated is the same name: it stays as stored.
        name = self.cleaned_data["name"]
        if self.instance.name in DEFAULT_NAMES and name == schedule_name(self.instance):
            return self.instance.name
        return name

    def clean(self):
        # The package checks these in the model, in English: here first, in words of ours.
        data = super().clean()
        kinds = [name for name in ("crontab", "interval", "solar", "clocked") if data.get(name)]
        if not kinds:
            raise forms.ValidationError(NO_SCHEDULE)
        if len(kinds) > 1:
            for name in kinds:
                self.add_error(name, _("Choose one kind of schedule only."))
        if data.get("clocked") and not data.get("one_off"):
            self.add_error("one_off", _("A schedule at one moment runs once only: tick this too."))
        return data

    def validate_unique(self):
        # Only the unique name: the package's validate_unique also repeats the checks of clean() above in English.
        try:
            models.Model.validate_unique(self.instance, exclude=self._get_validation_exclusions())
        except forms.ValidationError as error:
            self._update_errors(error)


CRON_FIELDS = ["minute", "hour", "day_of_month", "month_of_year", "day_of_week"]


class CrontabScheduleForm(forms.ModelForm):
    timezone = TimeZoneFormField(
        label=_("Time zone"),
        help_text=_("The times above are read in this time zone."),
        choices=[(name, name) for name in TIME_ZONES],
        use_pytz=False,
    )

    class Meta:
        model = CrontabSchedule
        fields = [*CRON_FIELDS, "timezone"]
        labels = {
            "minute": _("Minutes"),
            "hour": _("Hours"),
            "day_of_month": _("Days of the month"),
            "month_of_year": _("Months"),
            "day_of_week": _("Days of the week"),
        }
        help_texts = {
            "minute": _('Minutes past the hour, 0 to 59: "30", or "0,30"; "*" is every minute.'),
            "hour": _('Hours of the day, 0 to 23: "7", or "8,20"; "*" is every hour.'),
            "day_of_month": _('Days of the month, 1 to 31: "1,15"; "*" is every day.'),
            "month_of_year": _('Months, 1 to 12: "1,7"; "*" is every month.'),
            "day_of_week": _('Days of the week, 0 (Sunday) to 6: "1-5" is Monday to Friday; "*" is every day.'),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            self.initial["timezone"] = settings.TIME_ZONE  # the school's, not the package's UTC
        elif str(self.instance.timezone) not in TIME_ZONES:  # an alias set elsewhere stays as it is
            zone = str(self.instance.timezone)
            self.fields["timezone"].choices = [(zone, zone), *self.fields["timezone"].choices]

    def clean(self):
        # The package's validators answer in python-crontab's English: checked here first, so the model skips them.
        data = super().clean()
        for name in CRON_FIELDS:
            if name not in data:
                continue
            try:
                for validator in CrontabSchedule._meta.get_field(name).validators:
                    validator(data[name])
            except (forms.ValidationError, ValueError):
                self.add_error(name, _('Use numbers in range, "*", ranges ("1-5"), steps ("*/2") or lists ("1,15").'))
        return data


class IntervalScheduleForm(forms.ModelForm):
    class Meta:
        model = IntervalSchedule
        fields = ["every", "period"]
        labels = {"every": _("Every"), "period": _("Unit")}
        help_texts = {"every": _("How many units to wait between runs."), "period": ""}


class SolarScheduleForm(forms.ModelForm):
    class Meta:
        model = SolarSchedule
        fields = ["event", "latitude", "longitude"]
        labels = {"event": _("Sun event"), "latitude": _("Latitude"), "longitude": _("Longitude")}
        help_texts = {
            "event": _("The job runs when this happens at the place below."),
            "latitude": _("The place's latitude, -90 to 90."),
            "longitude": _("The place's longitude, -180 to 180."),
        }


class ClockedScheduleForm(forms.ModelForm):
    class Meta:
        model = ClockedSchedule
        fields = ["clocked_time"]
        labels = {"clocked_time": _("At")}
        help_texts = {"clocked_time": _("The job runs once, at this time.")}


class PeriodicTaskInline(CRMTabularInline):
    """On a schedule's page: the jobs that run by it (opened from their own list)."""

    model = PeriodicTask
    fields = readonly_fields = ["shown_name", "job", "status"]
    can_delete = False
    show_change_link = True
    verbose_name = _("job run by this schedule")
    verbose_name_plural = _("jobs run by this schedule")

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description=pgettext_lazy("schedule", "Name"))
    def shown_name(self, task):
        return schedule_name(task)

    @admin.display(description=_("Job"))
    def job(self, task):
        return job_label(task.task)

    @admin.display(description=_("Status"))
    def status(self, task):
        return schedule_status(task)


for model in (PeriodicTask, CrontabSchedule, IntervalSchedule, SolarSchedule, ClockedSchedule):
    admin.site.unregister(model)


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(CRMAdmin):
    form = PeriodicTaskForm
    list_display = ["shown_name", "job", "when", "status", "last_run", "runs"]
    list_filter = ["enabled"]
    list_select_related = ["crontab", "interval", "solar", "clocked"]
    search_fields = ["name", "description"]
    ordering = ["name"]
    actions = ["pause", "resume"]
    fieldsets = [
        (None, {"fields": ["name", "task", "enabled", "description"]}),
        (_("When"), {"fields": ["crontab", "interval", "solar", "clocked", "start_time", "expires", "one_off"]}),
        (_("Runs so far"), {"fields": ["last_run", "runs"]}),
    ]
    readonly_fields = ["last_run", "runs"]

    @admin.display(description=pgettext_lazy("schedule", "Name"), ordering="name")
    def shown_name(self, task):
        return schedule_name(task)

    @admin.display(description=_("Job"), ordering="task")
    def job(self, task):
        return job_label(task.task)

    @admin.display(description=_("When"))
    def when(self, task):
        return task.scheduler

    @admin.display(description=_("Status"), ordering="enabled")
    def status(self, task):
        return schedule_status(task)

    @admin.display(description=_("Last run"), ordering="last_run_at")
    def last_run(self, task):
        return display_for_value(task.last_run_at, self.get_empty_value_display())

    @admin.display(description=_("Times run"), ordering="total_run_count")
    def runs(self, task):
        return task.total_run_count

    @admin.action(description=_("Pause the selected schedules"), permissions=["change"])
    def pause(self, request, queryset):
        count = queryset.update(enabled=False, last_run_at=None)
        PeriodicTasks.update_changed()  # beat reads the schedules again
        self.message_user(request, ngettext("%d schedule paused.", "%d schedules paused.", count) % count)

    @admin.action(description=_("Resume the selected schedules"), permissions=["change"])
    def resume(self, request, queryset):
        count = queryset.update(enabled=True)
        PeriodicTasks.update_changed()
        self.message_user(request, ngettext("%d schedule resumed.", "%d schedules resumed.", count) % count)


class ScheduleAdmin(CRMAdmin):
    inlines = [PeriodicTaskInline]


@admin.register(CrontabSchedule)
class CrontabScheduleAdmin(ScheduleAdmin):
    form = CrontabScheduleForm
    list_display = ["in_words", *CRON_FIELDS]
    fields = ["in_words", *CrontabScheduleForm.Meta.fields]
    readonly_fields = ["in_words"]

    @admin.display(description=_("In words"))
    def in_words(self, crontab):
        return crontab_text(crontab) if crontab.pk else self.get_empty_value_display()


@admin.register(IntervalSchedule)
class IntervalScheduleAdmin(ScheduleAdmin):
    form = IntervalScheduleForm
    list_display = ["__str__"]


@admin.register(SolarSchedule)
class SolarScheduleAdmin(ScheduleAdmin):
    form = SolarScheduleForm
    list_display = ["__str__"]


@admin.register(ClockedSchedule)
class ClockedScheduleAdmin(ScheduleAdmin):
    form = ClockedScheduleForm
    list_display = ["clocked_time"]
