"""Row-level security, tried on every admin endpoint: role x model x (own row, another's row).

"Own" rows belong to salesperson A / teacher A, "other" rows to salesperson B / teacher B. Managers and school
admins reach both; a salesperson reaches only A's customers and what hangs on them; a teacher only A's classes.
An unreachable row answers 403 or 404 and never shows its data.
"""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from crm import roles
from crm.models import Customer
from crm.services import pool as pool_service
from tests import factories

pytestmark = pytest.mark.django_db

REACH, HIDDEN, FORBIDDEN = "reach", "hidden", "forbidden"
SALES_SIDE = ["customer", "followup", "enrollment", "payment"]
TEACHING = ["courserecord", "studyrecord"]
MODELS = SALES_SIDE + ["classgrade"] + TEACHING
WITH_HISTORY = set(SALES_SIDE)
ROLES = [roles.SALES, roles.SALES_MANAGER, roles.TEACHER, roles.SCHOOL_ADMIN]
# model -> (model whose form points at it, field name) for the autocomplete endpoint
AUTOCOMPLETE = {
    "customer": ("payment", "customer"),
    "enrollment": ("payment", "enrollment"),
    "classgrade": ("enrollment", "class_grade"),
    "courserecord": ("studyrecord", "course_record"),
}
MARKER = {"own": "Own-Row-Marker", "other": "Other-Row-Marker"}


def expected(role, model, row):
    if role == roles.SCHOOL_ADMIN:
        return REACH
    if role in (roles.SALES, roles.SALES_MANAGER):
        if model in TEACHING:
            return FORBIDDEN
        if model == "classgrade" or role == roles.SALES_MANAGER:
            return REACH
        return REACH if row == "own" else HIDDEN
    # teacher
    if model in SALES_SIDE:
        return FORBIDDEN
    return REACH if row == "own" else HIDDEN


def build_side(consultant, teacher, marker):
    """A customer with a follow-up, enrollment and payment, a class taught by `teacher`, a lesson, a record."""
    customer = factories.CustomerFactory(consultant=consultant, name=marker)
    class_grade = factories.ClassGradeFactory(course=factories.CourseFactory(name=f"{marker} course"))
    class_grade.teachers.add(teacher)
    student = factories.StudentFactory(customer=factories.CustomerFactory(consultant=consultant, name=f"{marker} s"))
    student.classes.add(class_grade)
    lesson = factories.CourseRecordFactory(class_grade=class_grade, teacher=teacher, title=f"{marker} lesson")
    return {
        "customer": customer,
        "followup": factories.FollowUpFactory(customer=customer, content=marker),
        "enrollment": factories.EnrollmentFactory(customer=customer, class_grade=class_grade),
        "payment": factories.PaymentFactory(customer=customer, note=marker),
        "classgrade": class_grade,
        "courserecord": lesson,
        "studyrecord": factories.StudyRecordFactory(student=student, course_record=lesson, memo=marker),
    }


@pytest.fixture
def world(sales, other_sales, teacher, other_teacher):
    return {
        "own": build_side(sales, teacher, MARKER["own"]),
        "other": build_side(other_sales, other_teacher, MARKER["other"]),
    }


@pytest.fixture
def actor(role, sales, teacher, manager, school_admin):
    return {roles.SALES: sales, roles.TEACHER: teacher, roles.SALES_MANAGER: manager, roles.SCHOOL_ADMIN: school_admin}[
        role
    ]


def url(model, view, *args):
    return reverse(f"admin:crm_{model}_{view}", args=args)


@pytest.mark.parametrize("row", ["own", "other"])
@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("role", ROLES)
def test_row_access_on_every_admin_endpoint(client, world, actor, role, model, row):
    obj = world[row][model]
    want = expected(role, model, row)
    client.force_login(actor)

    # changelist (and the raw-id popup, which is the same list): the row is there only if reachable
    for params in ({}, {"_popup": "1", "_to_field": "id"}):
        response = client.get(url(model, "changelist"), params)
        if want == FORBIDDEN:
            assert response.status_code == 403
            continue
        assert response.status_code == 200
        listed = {o.pk for o in response.context["cl"].result_list}
        assert (obj.pk in listed) == (want == REACH)
        assert response.context["cl"].result_count == len(listed)

    # change, delete, history: reachable rows open; others answer 403/404 without their data
    for view in ("change", "delete", "history"):
        response = client.get(url(model, view, obj.pk))
        if want == REACH:
            assert response.status_code in (200, 403), (view, response.status_code)  # 403: no delete permission
            if view != "delete":
                assert response.status_code == 200
        else:
            assert response.status_code in (403, 404), (view, response.status_code)
            assert MARKER[row] not in response.content.decode()

    # history revert page of a past version
    if model in WITH_HISTORY:
        version = obj.history.earliest("history_date")
        revert = reverse(f"admin:crm_{model}_simple_history", args=[obj.pk, version.history_id])
        response = client.get(revert)
        assert response.status_code == 200 if want == REACH else response.status_code in (403, 404)
        if want != REACH:
            before = type(obj).objects.filter(pk=obj.pk).values().get()
            client.post(revert, {})
            assert type(obj).objects.filter(pk=obj.pk).values().get() == before

    # autocomplete from a form that points at this model
    if model in AUTOCOMPLETE:
        source, field = AUTOCOMPLETE[model]
        response = client.get(
            reverse("admin:autocomplete"), {"app_label": "crm", "model_name": source, "field_name": field, "term": ""}
        )
        if want == FORBIDDEN:
            assert response.status_code == 403
        else:
            ids = {int(r["id"]) for r in response.json()["results"]}
            assert (obj.pk in ids) == (want == REACH)

    # a forged bulk action on an unreachable row does nothing to it
    if want != REACH:
        response = client.post(
            url(model, "changelist"), {"action": "delete_selected", ACTION_CHECKBOX_NAME: [obj.pk], "post": "yes"}
        )
        assert response.status_code in (200, 302, 403)
        assert type(obj).objects.filter(pk=obj.pk).exists()


def test_forged_reassign_by_a_salesperson_does_nothing(client, world, sales):
    theirs = world["other"]["customer"]
    client.force_login(sales)
    client.post(
        url("customer", "changelist"),
        {"action": "reassign", ACTION_CHECKBOX_NAME: [theirs.pk], "apply": "1", "user": sales.pk},
    )
    theirs.refresh_from_db()
    assert theirs.consultant != sales


def test_forged_related_choice_is_refused(client, world, sales):
    """A payment form posted with another's customer id fails validation instead of saving."""
    client.force_login(sales)
    theirs = world["other"]["customer"]
    response = client.post(
        url("payment", "add"),
        {
            "customer": theirs.pk,
            "course": world["own"]["classgrade"].course.pk,
            "amount": "100",
            "method": "cash",
            "paid_at_0": "2026-11-01",
            "paid_at_1": "10:00:00",
        },
    )
    assert response.status_code == 200
    assert "customer" in response.context["adminform"].form.errors
    assert not theirs.payments.filter(amount=100).exists()


def test_dashboard_counts_only_the_salespersons_own_leads(client, world, sales, manager):
    client.force_login(sales)
    board = client.get(reverse("admin:index")).context["dashboard"]
    assert sum(row[1].value for row in board.table("funnel").rows) == 2  # A's lead and A's student customer
    client.force_login(manager)
    board = client.get(reverse("admin:index")).context["dashboard"]
    assert sum(row[1].value for row in board.table("funnel").rows) == 4


# --- the lead pool: its list for the sales side, its rows open nowhere, a pooled lead's own pages for managers


POOL_LEAD, POOL_CONTACT = "Pooled-Row-Marker", "Pooled-Contact-Marker"


@pytest.fixture
def pooled(world, other_sales, manager):
    lead = factories.CustomerFactory(consultant=other_sales, name=POOL_LEAD, wechat=POOL_CONTACT)
    factories.FollowUpFactory(customer=lead, content=f"WeChat {POOL_CONTACT}")
    pool_service.pool_release(customer=lead, reason="idle", by=manager)
    return lead


@pytest.mark.parametrize("role", ROLES)
def test_the_pool_on_every_admin_endpoint(client, pooled, actor, role, sales):
    client.force_login(actor)
    browses = role != roles.TEACHER
    sees_contacts = role in (roles.SALES_MANAGER, roles.SCHOOL_ADMIN)

    response = client.get(url("poolcustomer", "changelist"))
    assert response.status_code == (200 if browses else 403)
    if browses:
        assert [lead.pk for lead in response.context["cl"].result_list] == [pooled.pk]
        assert POOL_LEAD in response.content.decode() and POOL_CONTACT not in response.content.decode()

    # The pool's rows open nowhere, for anyone.
    for view in ("change", "delete", "history"):
        response = client.get(url("poolcustomer", view, pooled.pk))
        assert response.status_code == 403 if browses else response.status_code in (403, 404)
        assert POOL_CONTACT not in response.content.decode()
    assert client.get(url("poolcustomer", "add")).status_code == 403

    # The lead itself, its history, its follow-up and their versions: managers only, until someone claims it.
    follow_up = pooled.follow_ups.get()
    pages = [
        url("customer", "change", pooled.pk),
        url("customer", "history", pooled.pk),
        reverse("admin:crm_customer_simple_history", args=[pooled.pk, pooled.history.earliest().history_id]),
        url("followup", "change", follow_up.pk),
        url("followup", "history", follow_up.pk),
    ]
    for page in pages:
        response = client.get(page)
        if sees_contacts:
            assert response.status_code == 200, page
        else:
            assert response.status_code in (403, 404), page
            assert POOL_CONTACT not in response.content.decode(), page

    # Not offered where a customer is chosen.
    if role != roles.TEACHER:
        response = client.get(
            reverse("admin:autocomplete"), {"app_label": "crm", "model_name": "payment", "field_name": "customer"}
        )
        assert (str(pooled.pk) in {r["id"] for r in response.json()["results"]}) == sees_contacts

    # Forged moves change nothing: an assignment (and a claim) by a teacher, an assignment or a release by a
    # salesperson.
    if role in (roles.TEACHER, roles.SALES):
        client.post(
            url("poolcustomer", "changelist"),
            {"action": "assign", ACTION_CHECKBOX_NAME: [pooled.pk], "apply": "1", "user": actor.pk},
        )
        if role == roles.TEACHER:
            client.post(url("poolcustomer", "changelist"), {"action": "claim", ACTION_CHECKBOX_NAME: [pooled.pk]})
        mine = factories.CustomerFactory(consultant=sales)
        client.post(
            url("customer", "changelist"),
            {"action": "release", ACTION_CHECKBOX_NAME: [mine.pk], "apply": "1", "reason": "forged"},
        )
        assert Customer.objects.get(pk=pooled.pk).consultant is None
        assert Customer.objects.get(pk=mine.pk).consultant == sales
