"""Every URL the resolver knows, attacked by every role and by an anonymous visitor.

Why from the resolver: the access matrix (tests/test_access_matrix.py) tries the endpoints we thought of; this
battery walks `get_resolver()`, so a view added tomorrow is attacked tomorrow, and a URL parameter it does not
know how to fill fails it until it is taught (`targets`).

Each parameter gets the ids of rows on both sides of the access line ("own": salesperson A, teacher A,
student A; "other": salesperson B, teacher B, student B), alone and crossed (A's enrollment with B's document),
and malformed values. Every URL is fetched with GET, then POSTed the form its page rendered or, when it
rendered none, the form the same pattern rendered with own ids: the request of someone who forges an id.
Three things must never happen:
- an answer of 5xx;
- a marker of rows the role may not reach, in a response's body or headers;
- a change to rows the role may not write (compared after the POSTs to each area: a model's admin, the portal...).
Positive controls keep the checks honest: every role sees each marker it may reach somewhere, and the school
admin's POSTs do change the rows everyone else must leave alone.
"""

import datetime
import hashlib
import inspect
import io
import logging
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from itertools import groupby
from urllib.parse import quote, urlencode, urlsplit

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import Client
from django.urls import URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_celery_beat import models as beat

from crm import links, reports, roles
from crm.models import (
    BalanceDue,
    Branch,
    ClassGrade,
    ContractTemplate,
    Course,
    CourseRecord,
    Customer,
    CustomerUserObjectPermission,
    Enrollment,
    EnrollmentDocument,
    FollowUp,
    Installment,
    LeadImport,
    LeadImportRow,
    Payment,
    PersonalDataAccess,
    PoolCustomer,
    PoolMove,
    Refund,
    Student,
    StudyRecord,
    Tag,
)
from crm.services import academics, lead_import, pool
from crm.services import calendars as calendar_feeds
from crm.services import enrollment as enrollments
from tests import factories, files

pytestmark = pytest.mark.django_db

ANONYMOUS = "anonymous"
ROLES = [roles.SALES, roles.SALES_MANAGER, roles.TEACHER, roles.STUDENT, roles.SCHOOL_ADMIN, roles.FINANCE, ANONYMOUS]

# Markers: unique text in the rows of each side, so a leak shows as the text in a response.
SALES_A, SALES_B = "Zq7SalesA", "Zq7SalesB"  # customers, follow-ups, enrollments, documents, payments, imports
LESSON_A, LESSON_B = "Zq7LessonA", "Zq7LessonB"  # lessons, study records, homework
CLASS_B = "Zq7CourseB, Zq7CampusB, semester 7"  # how class B is named wherever it is shown
# Leads in the pool (returned from salesperson A): their names show in the pool list, their contacts only to
# managers and school admins until someone claims them.
POOLED, POOL_CONTACT = "Zq7Pooled", "Zq7PoolContact"
MARKERS = {SALES_A, SALES_B, CLASS_B, LESSON_A, LESSON_B, POOLED, POOL_CONTACT}
# Teachers reach student A (their class), whose customer is therefore not marked; the course and campus names
# are reference data everyone on the staff may look up, so only the class's full name marks it.
FORBIDDEN = {
    ANONYMOUS: MARKERS,
    roles.STUDENT: MARKERS - {LESSON_A},
    roles.SALES: {SALES_B, LESSON_A, LESSON_B, POOL_CONTACT},
    roles.SALES_MANAGER: {LESSON_A, LESSON_B},
    roles.TEACHER: {SALES_A, SALES_B, CLASS_B, LESSON_B, POOLED, POOL_CONTACT},
    roles.SCHOOL_ADMIN: set(),
    # Every customer's money, no teaching; a pooled lead's contact shows in its follow-ups (finance has none) and on
    # its own page (the battery opens the sides' owned customers), so finance meets it nowhere here.
    roles.FINANCE: {LESSON_A, LESSON_B, POOL_CONTACT},
}
# Groups of rows (see `World.groups`) each role may not change.
GROUPS = {"sales_a", "sales_b", "class_a", "class_b", "lesson_a", "lesson_b", "pool"}
WRITE_PROTECTED = {
    ANONYMOUS: GROUPS,
    roles.STUDENT: GROUPS - {"lesson_a"},  # their own homework
    roles.SALES: GROUPS - {"sales_a"},  # the pooled leads came back from them: they may not claim them yet
    roles.SALES_MANAGER: {"class_a", "class_b", "lesson_a", "lesson_b"},
    roles.TEACHER: GROUPS - {"lesson_a"},  # their own lessons and records
    roles.SCHOOL_ADMIN: set(),
    roles.FINANCE: {"class_a", "class_b", "lesson_a", "lesson_b"},  # decides refunds, reverses payments
}

# Substituted into every parameter: ints where a uuid is expected and a uuid where an int is, negative, zero,
# unknown, fractional, NUL, too many digits for Python's int() and for a 64-bit column, a path climbing up,
# and a digit str.isdigit() accepts but int() refuses.
MALFORMED = [
    "abc",
    "-1",
    "0",
    "99999999",
    "1.5",
    "%00",
    "9" * 5000,
    "../",
    "²",
    "99999999999999999999",
    "0b7d3bc6-4d4a-4a38-9b0e-6f7b1c2d9e10",
]
# The page's own form fields are also sent as query parameters with these (the classes that found bugs).
PROBES = ["abc", "²", "\x00", "99999999999999999999", "9" * 5000]
MIN_PATTERNS = 130  # the resolver knew 134 when this was written: a walker that finds fewer is broken


# --- the URL patterns ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One URL pattern: its route with the prefixes of its includes, and what it serves."""

    route: str
    name: str  # "admin:crm_customer_change"; the route for unnamed patterns
    parts: tuple  # literal text (str) and parameter names (Param), in order
    model: type | None  # the model of a ModelAdmin's URL

    @property
    def params(self) -> list[str]:
        return [part.name for part in self.parts if isinstance(part, Param)]

    def url(self, values: list[str]) -> str:
        values = iter(values)
        return "/" + "".join(quote(next(values), safe="/%:") if isinstance(p, Param) else p for p in self.parts)


@dataclass(frozen=True)
class Param:
    name: str


def endpoints() -> list[Endpoint]:
    """Every leaf pattern under ROOT_URLCONF, whatever includes it sits in."""
    return list(_walk(get_resolver().url_patterns, (), ""))


def _walk(patterns, prefix, namespace):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, (*prefix, pattern.pattern), inner)
            continue
        # Down the decorators to the bound view: its ModelAdmin (or AdminSite) is what the URL serves.
        view = inspect.unwrap(pattern.callback, stop=lambda f: hasattr(f, "model_admin") or hasattr(f, "__self__"))
        owner = getattr(view, "model_admin", None) or getattr(view, "__self__", None)
        parts = [part for level in (*prefix, pattern.pattern) for part in _parts(level, view)]
        route = "".join(p if isinstance(p, str) else f"<{p.name}>" for p in parts)
        yield Endpoint(
            route=route,
            name=f"{namespace}{pattern.name}" if pattern.name else route,
            parts=tuple(parts),
            model=owner.model if isinstance(owner, admin.ModelAdmin) else None,
        )


def _parts(pattern, view) -> list:
    if isinstance(pattern, RoutePattern):
        pieces = re.split(r"<(?:\w+:)?(\w+)>", pattern._route)
        return [Param(piece) if i % 2 else piece for i, piece in enumerate(pieces) if piece]
    assert isinstance(pattern, RegexPattern), pattern
    return _regex_parts(pattern._regex, view)


def _regex_parts(regex: str, view) -> list:
    """Literal text and groups of a regex route; unnamed groups take the names of the view's arguments."""
    positional = [name for name in inspect.signature(view).parameters if name not in ("self", "request")]
    text = regex.removeprefix("^").removesuffix("$")
    parts, literal, depth, start, i = [], "", 0, 0, 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            literal += text[i + 1] if depth == 0 else ""
            i += 2
            continue
        if char == "(":
            if depth == 0:
                parts.append(literal)
                literal, start = "", i
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                named = re.match(r"\(\?P<(\w+)>", text[start:])
                parts.append(Param(named.group(1) if named else positional.pop(0)))
        elif depth == 0:
            literal += char
        i += 1
    return [part for part in (*parts, literal) if part]


# --- the rows on both sides -----------------------------------------------------------------------------------


@dataclass
class Side:
    customer: Customer
    follow_up: FollowUp
    enrollment: Enrollment
    document: EnrollmentDocument
    payment: Payment
    class_grade: ClassGrade
    pupil: Student
    lesson: CourseRecord
    record: StudyRecord
    lead_import: LeadImport
    access_entry: PersonalDataAccess
    pooled: Customer
    paid_enrollment: Enrollment  # the pupil's, approved, with a payment, an installment and a refund asked for
    installment: Installment
    refund: Refund


def build_side(label: str, consultant, teacher, pupil_name: str, pooled_from: tuple, pupil_user=None) -> Side:
    """A salesperson's lead with everything that hangs on it, and a teacher's class with a student and a lesson."""
    sales, lesson_mark = f"Zq7Sales{label}", f"Zq7Lesson{label}"
    class_grade = factories.ClassGradeFactory(
        course=factories.CourseFactory(name=f"Zq7Course{label}"),
        branch=factories.BranchFactory(name=f"Zq7Campus{label}"),
        semester=7,
        contract_template=factories.ContractTemplateFactory(name=f"Contract {label}"),
    )
    class_grade.teachers.add(teacher)
    customer = factories.CustomerFactory(consultant=consultant, name=f"{sales} lead", content=sales)
    customer.tags.add(factories.TagFactory(name=f"tag {label}"))
    enrollment = factories.EnrollmentFactory(customer=customer, class_grade=class_grade, address=sales)
    [document] = enrollments.documents_add(enrollment=enrollment, uploads=[files.png(f"{sales}.png")])
    pupil_user = pupil_user or factories.UserFactory(username=f"pupil-{label}", role=roles.STUDENT, is_staff=False)
    pupil = factories.StudentFactory(
        customer=factories.CustomerFactory(consultant=consultant, name=pupil_name), user=pupil_user
    )
    pupil.classes.add(class_grade)
    lesson = academics.lesson_create(
        lesson=CourseRecord(
            class_grade=class_grade,
            day_num=1,
            title=lesson_mark,
            outline=lesson_mark,
            date=timezone.localdate(),
            has_homework=True,
            homework_title=f"{lesson_mark} homework",
            homework_deadline=timezone.now() + datetime.timedelta(days=3),
        ),
        by=teacher,
    )
    record = StudyRecord.objects.get(student=pupil, course_record=lesson)
    record = academics.homework_submit(record=record, student=pupil, upload=files.png(f"{lesson_mark}.png"))
    StudyRecord.objects.filter(pk=record.pk).update(memo=lesson_mark)
    paid_enrollment = factories.EnrollmentFactory(customer=pupil.customer, class_grade=class_grade, status="approved")
    factories.PaymentFactory(
        customer=pupil.customer, enrollment=paid_enrollment, course=class_grade.course, amount=1000, note=sales
    )
    upload = io.BytesIO(f"name,phone\n{sales} row,{factories.next_phone()}\n".encode())
    upload.name = f"{sales}.csv"
    return Side(
        customer=customer,
        follow_up=factories.FollowUpFactory(customer=customer, content=sales),
        enrollment=enrollment,
        document=document,
        payment=factories.PaymentFactory(customer=customer, course=class_grade.course, note=sales),
        class_grade=class_grade,
        pupil=pupil,
        lesson=lesson,
        record=record,
        lead_import=lead_import.lead_import_preview(upload=upload, by=consultant),
        access_entry=PersonalDataAccess.objects.create(
            user=consultant, username=consultant.username, action="export", detail=sales, rows=1
        ),
        pooled=build_pooled(label, *pooled_from),
        paid_enrollment=paid_enrollment,
        installment=factories.InstallmentFactory(enrollment=paid_enrollment),
        refund=factories.RefundFactory(enrollment=paid_enrollment, amount=100, reason=sales),
    )


def build_pooled(label: str, returned_from, manager) -> Customer:
    """A lead `manager` released to the pool from `returned_from` just now, with its contacts and a follow-up
    naming them."""
    lead = factories.CustomerFactory(consultant=returned_from, name=f"{POOLED}{label}", wechat=f"{POOL_CONTACT}{label}")
    factories.FollowUpFactory(customer=lead, content=f"Add {POOL_CONTACT}{label} on WeChat")
    pool.pool_release(customer=lead, reason="idle", by=manager)
    lead.refresh_from_db()
    return lead


@dataclass
class World:
    users: dict  # role -> the user who plays it (None: anonymous)
    own: Side
    other: Side
    link_token: str  # a live enrollment link of salesperson A's (a capability anyone holding it may use)
    replaced_token: str  # B's enrollment link, voided by a fresh one
    replaced_feed: str = ""  # teacher B's calendar feed token, voided by a fresh one
    groups: dict = field(default_factory=dict)  # name -> querysets of rows, see `snapshot`

    def pair(self, pick) -> dict[str, str]:
        return {"own": str(pick(self.own)), "other": str(pick(self.other))}


@pytest.fixture
def quiet_and_fast(settings, monkeypatch):
    """Thousands of requests: no rate limit, no log line per 403/404 (5xx still log), and no copy of every
    template context (the battery reads bodies, never contexts; copying them took a quarter of its time)."""
    settings.PUBLIC_RATE_LIMIT_PER_MINUTE = 10**6
    monkeypatch.setattr("django.test.client.store_rendered_templates", lambda *args, **kwargs: None)
    for name in ("django.request", "django.security"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.ERROR)


@pytest.fixture
def world(sales, other_sales, manager, teacher, other_teacher, student_user, school_admin, finance, quiet_and_fast):
    """Both sides, a live enrollment link of A's and a voided one of B's, and the rows each group of the write
    check covers (built once per role: the test's transaction undoes whatever the role's POSTs did)."""
    factories.job_schedules()
    own = build_side("A", sales, teacher, "Pupil A", (sales, manager), pupil_user=student_user)
    other = build_side("B", other_sales, other_teacher, f"{SALES_B} pupil", (sales, manager))
    link = factories.EnrollmentFactory(
        customer=factories.CustomerFactory(consultant=sales, name="Link holder"), class_grade=own.class_grade
    )
    replaced = links.link_token(other.enrollment)
    enrollments.link_renew(enrollment=other.enrollment, by=other_sales)
    users = {
        roles.SALES: sales,
        roles.SALES_MANAGER: manager,
        roles.TEACHER: teacher,
        roles.STUDENT: student_user,
        roles.SCHOOL_ADMIN: school_admin,
        roles.FINANCE: finance,
        ANONYMOUS: None,
    }
    world = World(users, own, other, links.link_token(link), replaced)
    world.replaced_feed = calendar_feeds.calendar_feed_issue(user=other_teacher).token
    calendar_feeds.calendar_feed_issue(user=other_teacher)
    for label, side in (("a", own), ("b", other)):
        world.groups[f"sales_{label}"] = _sales_rows(side)
        world.groups[f"class_{label}"] = [
            ClassGrade.objects.filter(pk=side.class_grade.pk),
            ClassGrade.teachers.through.objects.filter(classgrade=side.class_grade),
            Student.classes.through.objects.filter(classgrade=side.class_grade),
        ]
        world.groups[f"lesson_{label}"] = [
            CourseRecord.objects.filter(class_grade=side.class_grade),
            StudyRecord.objects.filter(course_record__class_grade=side.class_grade),
            Student.objects.filter(pk=side.pupil.pk),
        ]
    pooled = [own.pooled.pk, other.pooled.pk]
    world.groups["pool"] = [
        Customer.objects.filter(pk__in=pooled),
        Customer.history.filter(id__in=pooled),
        FollowUp.objects.filter(customer__in=pooled),
        PoolMove.objects.filter(customer__in=pooled),
    ]
    assert set(world.groups) == GROUPS
    return world


def _sales_rows(side: Side) -> list:
    customers = [side.customer.pk, side.pupil.customer_id]
    return [
        Customer.objects.filter(pk__in=customers),
        Customer.history.filter(id__in=customers),
        Customer.tags.through.objects.filter(customer__in=customers),
        Customer.consult_courses.through.objects.filter(customer__in=customers),
        CustomerUserObjectPermission.objects.filter(content_object__in=customers),
        FollowUp.objects.filter(customer__in=customers),
        FollowUp.history.filter(customer_id__in=customers),
        Enrollment.objects.filter(customer__in=customers),
        Enrollment.history.filter(customer_id__in=customers),
        EnrollmentDocument.objects.filter(enrollment__customer__in=customers),
        Payment.objects.filter(customer__in=customers),
        Payment.history.filter(customer_id__in=customers),
        Installment.objects.filter(enrollment__customer__in=customers),
        Refund.objects.filter(enrollment__customer__in=customers),
        LeadImport.objects.filter(pk=side.lead_import.pk),
        LeadImportRow.objects.filter(lead_import=side.lead_import),
    ]


def snapshot(world: World, names) -> dict[str, str]:
    """Each group's rows as one digest (row count and every value), to compare before and after a request."""
    result = {}
    for name in sorted(names):
        digest, count = hashlib.sha256(), 0
        for queryset in world.groups[name]:
            for row in queryset.all().order_by("pk").values_list():
                digest.update(repr(row).encode())
                count += 1
        result[name] = f"{count}:{digest.hexdigest()}"
    return result


# --- what goes into each parameter ----------------------------------------------------------------------------


# model -> the row of a side an admin URL of that model is tried with
SIDE_ROWS = {
    Customer: lambda side: side.customer,
    PoolCustomer: lambda side: side.pooled,
    FollowUp: lambda side: side.follow_up,
    Enrollment: lambda side: side.enrollment,
    Payment: lambda side: side.payment,
    ClassGrade: lambda side: side.class_grade,
    CourseRecord: lambda side: side.lesson,
    StudyRecord: lambda side: side.record,
    Student: lambda side: side.pupil,
    LeadImport: lambda side: side.lead_import,
    PersonalDataAccess: lambda side: side.access_entry,
    Branch: lambda side: side.class_grade.branch,
    Course: lambda side: side.class_grade.course,
    ContractTemplate: lambda side: side.class_grade.contract_template,
    Tag: lambda side: side.customer.tags.get(),
    get_user_model(): lambda side: side.customer.consultant,
    Installment: lambda side: side.installment,
    Refund: lambda side: side.refund,
    BalanceDue: lambda side: side.paid_enrollment,
    # The jobs' schedules (django-celery-beat) belong to nobody's side: the same rows for both.
    beat.PeriodicTask: lambda side: beat.PeriodicTask.objects.order_by("pk").first(),
    beat.CrontabSchedule: lambda side: beat.CrontabSchedule.objects.order_by("pk").first(),
    beat.IntervalSchedule: lambda side: beat.IntervalSchedule.objects.get_or_create(every=1, period="hours")[0],
    beat.SolarSchedule: lambda side: beat.SolarSchedule.objects.get_or_create(
        event="sunrise", latitude=31.23, longitude=121.47
    )[0],
    beat.ClockedSchedule: lambda side: beat.ClockedSchedule.objects.get_or_create(
        clocked_time=datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
    )[0],
}


def admin_rows(world: World, model) -> dict[str, str]:
    """Ids of the own and the other row of each model an admin serves."""
    if model is Group:
        return {
            "own": str(Group.objects.get(name=roles.SALES).pk),
            "other": str(Group.objects.get(name=roles.SCHOOL_ADMIN).pk),
        }
    if model not in SIDE_ROWS:
        raise LookupError(f"The battery has no rows of {model.__name__}: add them to `SIDE_ROWS`.")
    return world.pair(lambda side: SIDE_ROWS[model](side).pk)


def targets(world: World, endpoint: Endpoint, param: str) -> dict[str, str]:
    """The real values a parameter can take (label -> value); malformed ones are added to every parameter."""
    model, name = endpoint.model, endpoint.name
    if model is not None and param in ("object_id", "id"):
        return admin_rows(world, model)
    if param == "version_id":  # simple-history's version page
        return world.pair(lambda side: SIDE_ROWS[model](side).history.earliest("history_date").history_id)
    if param == "document_id":
        return world.pair(lambda side: side.document.public_id)
    if name.startswith("admin:crm_customer_import_") and param == "token":  # the page, its status, its rows
        return world.pair(lambda side: side.lead_import.token)
    if name == "admin:dashboard_export":
        return {key: key for key in reports.TABLES}
    if name == "admin:view_on_site":
        if param == "content_type_id":
            return {"own": str(ContentType.objects.get_for_model(Customer).pk)}
        return world.pair(lambda side: side.customer.pk)
    if name == "admin:app_list":
        return {"own": "crm", "other": "auth"}
    if param == "url":  # the admin's catch-all
        return {"own": "crm/nothing/"}
    if name.startswith("enrollment_"):
        return {"own": world.link_token, "other": world.replaced_token}
    if name == "portal:class_detail":
        return world.pair(lambda side: side.class_grade.pk)
    if name in ("portal:homework_upload", "portal:homework_file"):
        return world.pair(lambda side: side.record.pk)
    if name == "portal:password_set" and param == "uidb64":
        return world.pair(lambda side: urlsafe_base64_encode(force_bytes(side.pupil.user_id)))
    if name == "portal:password_set" and param == "token":
        mine = world.own.pupil.user
        return {"own": default_token_generator.make_token(mine), "other": "abc-123", "session": "set-password"}
    if name == "calendar_feed":
        # A live feed token is a capability: whoever holds it reads its owner's lessons, which
        # tests/test_lesson_calendar.py checks. Here: a replaced token and one never issued must open nothing.
        return {"own": world.replaced_feed, "other": "never-issued"}
    raise LookupError(f"The battery does not know what to put in <{param}> of {endpoint.route}: teach `targets`.")


def urls_for(world: World, endpoint: Endpoint) -> list[str]:
    """Own and other values for all parameters at once, then each parameter alone with every value it can take
    (real or malformed) while the others keep their own value."""
    choices = [targets(world, endpoint, param) for param in endpoint.params]
    base = [choice.get("own", next(iter(choice.values()))) for choice in choices]
    urls = [endpoint.url(base)]
    if all("other" in choice for choice in choices):
        urls.append(endpoint.url([choice["other"] for choice in choices]))
    for i, choice in enumerate(choices):
        for value in [*choice.values(), *MALFORMED]:
            urls.append(endpoint.url([*base[:i], value, *base[i + 1 :]]))
    return list(dict.fromkeys(urls))


# --- forms a page rendered ------------------------------------------------------------------------------------


class FormReader(HTMLParser):
    """The forms of a page, each with what a browser sends when its first button is pressed."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []  # (method, action, [(name, value) sent], {every field's name: an empty select sends none})
        self._form = self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = ((attrs.get("method") or "get").lower(), attrs.get("action") or "", [], set())
            self.forms.append(self._form)
            self._pressed = False
            return
        name = attrs.get("name")
        if self._form is None or "disabled" in attrs:
            return
        if tag == "option":
            if self._select is not None:
                value = attrs.get("value", "")
                self._select["options"].append(value)
                if "selected" in attrs:
                    self._select["chosen"].append(value)
            return
        if not name:
            return
        self._form[3].add(name)
        kind = (attrs.get("type") or ("submit" if tag == "button" else "text")).lower()
        if tag == "select":
            self._select = {"name": name, "options": [], "chosen": [], "multiple": "multiple" in attrs}
        elif tag == "textarea":
            self._textarea = [name, ""]
        elif tag not in ("input", "button") or kind in ("file", "image", "reset", "button"):
            return
        elif kind in ("checkbox", "radio") and "checked" not in attrs:
            return
        elif kind != "submit" or not self._pressed:
            self._pressed = self._pressed or kind == "submit"
            self._form[2].append((name, attrs.get("value") or ("on" if kind in ("checkbox", "radio") else "")))

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None:
            select, self._select = self._select, None
            chosen = select["chosen"] or ([] if select["multiple"] else select["options"][:1])
            self._form[2].extend((select["name"], value) for value in chosen)
        elif tag == "textarea" and self._textarea is not None:
            self._form[2].append(tuple(self._textarea))
            self._textarea = None


def read_forms(html: str, url: str) -> tuple[dict | None, set[str]]:
    """The page's own forms (those sent back to `url`, not the layout's log-out, language or search forms): the
    fields of the largest one that POSTs, and the names of all their fields (parameters the view reads)."""
    reader = FormReader()
    reader.feed(html)
    here = urlsplit(url).path
    mine = [form for form in reader.forms if form[1] in ("", ".") or urlsplit(form[1]).path == here]
    names = {name for *_form, form_names in mine for name in form_names} - {"csrfmiddlewaretoken"}
    posted = [fields for method, _action, fields, _names in mine if method == "post"]
    if not posted:
        return None, names
    body = {}
    for name, value in max(posted, key=len):
        body.setdefault(name, []).append(value)
    return body, names


# --- the battery ----------------------------------------------------------------------------------------------


class Battery:
    """One role's run: every URL with GET, then with POST; problems are collected, not raised."""

    def __init__(self, world: World, role: str):
        self.world, self.role, self.user = world, role, world.users[role]
        self.client = Client(raise_request_exception=False)
        self.forbidden = FORBIDDEN[role]
        # The school admin may write everything: their rows are watched only to prove the check sees writes.
        self.watched = WRITE_PROTECTED[role] if role != roles.SCHOOL_ADMIN else GROUPS
        self.failures: list[str] = []
        self.seen: set[str] = set()  # markers met in responses
        self.written: set[str] = set()  # watched groups that changed (expected only of the school admin)
        self.visited: set[tuple[str, str]] = set()  # (method, endpoint name)
        self.requests = 0
        self.bodies: dict[str, dict] = {}  # url -> its page's form; route -> the first form its URLs rendered
        self.fields: dict[str, tuple] = {}  # route -> (its first URL that rendered forms, their field names)
        self.login()

    def login(self):
        if self.user is not None:
            self.client.force_login(self.user)

    def run(self, patterns: list[Endpoint]):
        plan = [(endpoint, url) for endpoint in patterns for url in urls_for(self.world, endpoint)]
        self.planned = len(plan)
        for endpoint, url in plan:
            self.send("GET", endpoint, url)
        # The page's own fields as query parameters (admin add forms take their initial values from them).
        by_route = {endpoint.route: endpoint for endpoint in patterns}
        for route, (url, names) in self.fields.items():
            for value in PROBES:
                self.send("GET", by_route[route], f"{url}?{urlencode(dict.fromkeys(sorted(names), value))}")
        # Deleting pages last, so the rows stay for the other pages of a role that may delete them. The rows are
        # compared after the POSTs of each area (a model's admin, the portal...): a snapshot costs 40 queries.
        plan.sort(key=lambda item: item[0].name.endswith("_delete"))
        before = snapshot(self.world, self.watched)
        for _area, posts in groupby(plan, key=lambda item: area(item[0])):
            routes = set()
            for endpoint, url in posts:
                routes.add(endpoint.route)
                self.send("POST", endpoint, url, self.bodies.get(url) or self.bodies.get(endpoint.route) or {})
            after = snapshot(self.world, self.watched)
            changed = sorted(name for name in after if after[name] != before[name])
            if changed and self.role != roles.SCHOOL_ADMIN:
                self.failures.append(f"POST to {sorted(routes)} changed rows it may not write: {changed}")
            self.written.update(changed)
            before = after

    def send(self, method: str, endpoint: Endpoint, url: str, body: dict | None = None):
        self.requests += 1
        self.visited.add((method, endpoint.name))
        savepoint = transaction.savepoint()  # a database error must not poison the rest of the run
        response = self.client.get(url) if method == "GET" else self.client.post(url, body)
        where = f"{method} {url[:160]}"
        if response.status_code >= 500:
            transaction.savepoint_rollback(savepoint)
            self.failures.append(f"{where} -> {response.status_code} {_exception(response)}")
        else:
            transaction.savepoint_commit(savepoint)
        content = b"".join(response.streaming_content) if response.streaming else response.content
        text = content.decode("utf-8", "replace") + "".join(f"\n{k}: {v}" for k, v in response.items())
        for marker in MARKERS:
            if marker in text:
                self.seen.add(marker)
                if marker in self.forbidden:
                    self.failures.append(f"{where} -> {response.status_code} shows {marker!r}")
        if method == "GET" and response.get("Content-Type", "").startswith("text/html") and "?" not in url:
            body, names = read_forms(text, url)
            if body is not None:
                self.bodies[url] = body
                self.bodies.setdefault(endpoint.route, body)
            if names:
                self.fields.setdefault(endpoint.route, (url, names))
        if settings.SESSION_COOKIE_NAME in response.cookies and self.user is not None:
            # Logged out, or a password changed? The session as the request saved it (the one the new cookie
            # names), read from the request rather than loaded again.
            if response.wsgi_request.session.get("_auth_user_id") != str(self.user.pk):
                self.login()


def area(endpoint: Endpoint) -> tuple:
    """What a URL writes to: its model's admin, else its first path segment (portal, enroll...); deletes apart."""
    return endpoint.model or endpoint.route.split("/")[0], endpoint.name.endswith("_delete")


def _exception(response) -> str:
    exc_info = getattr(response, "exc_info", None)
    if not exc_info:
        return ""
    error, trace = exc_info[1], exc_info[2]
    while trace.tb_next is not None:
        trace = trace.tb_next
    return f"{type(error).__name__}: {str(error)[:200]} at {trace.tb_frame.f_code.co_filename}:{trace.tb_lineno}"


# --- the tests ------------------------------------------------------------------------------------------------


PATTERNS = endpoints()


def test_the_resolver_walk_finds_every_kind_of_url():
    """The battery's reach: admin (per model and custom views), public pages, portal, i18n and health."""
    names = {endpoint.name for endpoint in PATTERNS}
    assert len(PATTERNS) >= MIN_PATTERNS, len(PATTERNS)
    for model in admin.site._registry:
        info = model._meta.app_label, model._meta.model_name
        for view in ("changelist", "add", "change", "delete", "history"):
            assert "admin:%s_%s_%s" % (*info, view) in names
    expected = {
        "health",
        "set_language",
        "catalogue",
        "inquiry",
        "inquiry_thanks",
        "enrollment_form",
        "enrollment_document_upload",
        "portal:homework_file",
        "portal:password_set",
        "admin:crm_enrollment_document",
        "admin:crm_customer_simple_history",
        "admin:crm_studyrecord_homework",
        "admin:dashboard_export",
        "admin:view_on_site",
    }
    assert expected <= names
    history = next(e for e in PATTERNS if e.name == "admin:crm_customer_simple_history")
    assert history.params == ["object_id", "version_id"] and history.model is Customer


@pytest.mark.parametrize("role", ROLES)
def test_every_url_for_every_role(world, role):
    battery = Battery(world, role)
    battery.run(PATTERNS)

    assert not battery.failures, f"{len(battery.failures)} problems:\n" + "\n".join(battery.failures[:300])
    # It really went everywhere, with both methods.
    assert battery.visited == {(method, e.name) for e in PATTERNS for method in ("GET", "POST")}
    assert battery.planned > 8 * len(PATTERNS)  # pages without parameters (search, calendars) plan one URL each
    assert battery.requests == 2 * battery.planned + len(PROBES) * len(battery.fields)
    assert battery.fields  # pages whose own form fields were also tried as query parameters
    if role == roles.SCHOOL_ADMIN:
        assert {
            "admin/crm/customer/add/",
            "admin/crm/courserecord/add/",
            "admin/crm/customer/export/",
            # (the approve step's fields are on the audit desk of a submitted enrollment; the battery's are not)
            "admin/crm/courserecord/calendar/",
            "enroll/<token>/",
            "inquiry/",
            "portal/password/reset/",
        } <= set(battery.fields)
    # The marker check can fail: what the role may reach shows up somewhere.
    assert battery.seen == MARKERS - FORBIDDEN[role]
    # The write check can fail: the school admin's POSTs (deletes, saves) change the rows others may not.
    if role == roles.SCHOOL_ADMIN:
        assert battery.written
