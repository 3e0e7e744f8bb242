"""The teacher's admin: next lesson of a class, the editable attendance-and-grades list, homework files."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from crm.models import CourseRecord, StudyRecord
from crm.services import academics
from tests import factories, files

pytestmark = pytest.mark.django_db


@pytest.fixture
def taught(teacher, other_teacher):
    mine = factories.ClassGradeFactory(course__name="Python Web")
    mine.teachers.add(teacher)
    theirs = factories.ClassGradeFactory(course__name="Go")
    theirs.teachers.add(other_teacher)
    for class_grade in (mine, theirs):
        for _ in range(2):
            factories.StudentFactory().classes.add(class_grade)
    return mine, theirs


def add_lesson(client, class_grade, **extra):
    data = {
        "class_grade": class_grade.pk,
        "day_num": 1,
        "date": timezone.localdate().isoformat(),
        "title": "Django models",
        "outline": "Fields and relations.",
        **extra,
    }
    return client.post(reverse("admin:crm_courserecord_add"), data)


def test_add_next_lesson_proposes_the_day_and_creates_the_records(client_for, teacher, taught):
    mine, _ = taught
    client = client_for(teacher)
    academics.lesson_create(
        lesson=CourseRecord(class_grade=mine, day_num=1, title="Intro", date=timezone.localdate()), by=teacher
    )
    classes = client.get(reverse("admin:crm_classgrade_changelist")).content.decode()
    assert f"{reverse('admin:crm_courserecord_add')}?class_grade={mine.pk}" in classes
    form = client.get(reverse("admin:crm_courserecord_add"), {"class_grade": mine.pk})
    assert form.context["adminform"].form.initial["day_num"] == 2

    response = add_lesson(
        client,
        mine,
        day_num=2,
        has_homework="on",
        homework_title="Blog models",
        homework_brief="Write the models.",
        homework_deadline_0=timezone.localdate().isoformat(),
        homework_deadline_1="23:00:00",
    )
    assert response.status_code == 302
    lesson = CourseRecord.objects.get(class_grade=mine, day_num=2)
    assert lesson.teacher == teacher and lesson.study_records.count() == 2


@pytest.mark.parametrize("typed", ["abc", "²", "9" * 5000, "99999999999999999999", "1,2"])
def test_add_next_lesson_with_a_typed_class_id_opens_an_empty_form(client_for, teacher, taught, typed):
    """The add form takes its initial class from the URL: an id of the wrong shape is no class, not a 500."""
    response = client_for(teacher).get(reverse("admin:crm_courserecord_add"), {"class_grade": typed})
    assert response.status_code == 200
    assert "class_grade" not in response.context["adminform"].form.initial


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("admin:crm_followup_add", {"customer": "abc"}),
        ("admin:crm_payment_add", {"customer": "²", "enrollment": "9" * 5000, "course": "99999999999999999999"}),
        ("admin:crm_customer_add", {"branch": "-", "tags": "1,x", "referrer": "1.5"}),
    ],
)
def test_add_forms_prefilled_with_malformed_ids_open_empty(client_for, manager, url, params):
    response = client_for(manager).get(reverse(url), params)
    assert response.status_code == 200
    assert not set(params) & set(response.context["adminform"].form.initial)


def test_another_teachers_class_cannot_get_a_lesson(client_for, teacher, taught):
    _, theirs = taught
    response = add_lesson(client_for(teacher), theirs)
    assert response.status_code == 200 and "class_grade" in response.context["adminform"].form.errors
    assert not CourseRecord.objects.exists()


def test_homework_without_a_title_is_a_form_error(client_for, teacher, taught):
    mine, _ = taught
    response = add_lesson(client_for(teacher), mine, has_homework="on")
    assert response.status_code == 200 and response.context["adminform"].form.errors
    assert not CourseRecord.objects.exists()


@pytest.fixture
def lessons(teacher, other_teacher, taught):
    mine, theirs = taught
    today = timezone.localdate()
    own = academics.lesson_create(
        lesson=CourseRecord(
            class_grade=mine, day_num=1, title="Own", date=today, has_homework=True, homework_title="H"
        ),
        by=teacher,
    )
    other = academics.lesson_create(
        lesson=CourseRecord(class_grade=theirs, day_num=1, title="Other", date=today), by=other_teacher
    )
    return own, other


def test_attendance_and_scores_saved_together_from_the_list(client_for, teacher, lessons):
    own, _ = lessons
    records = list(own.study_records.order_by("pk"))
    client = client_for(teacher)
    url = reverse("admin:crm_studyrecord_changelist") + f"?course_record__id__exact={own.pk}"
    page = client.get(url)
    shown = [row.pk for row in page.context["cl"].result_list]
    assert sorted(shown) == [r.pk for r in records]
    data = {
        "form-TOTAL_FORMS": "2",
        "form-INITIAL_FORMS": "2",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for i, pk in enumerate(shown):
        data |= {f"form-{i}-id": pk, f"form-{i}-attendance": "late" if i == 0 else "absent", f"form-{i}-score": "A"}
    response = client.post(url, data)
    assert response.status_code == 302
    assert set(StudyRecord.objects.filter(course_record=own).values_list("score", flat=True)) == {"A"}
    assert StudyRecord.objects.get(pk=shown[0]).attendance == "late"


def test_mark_present_ignores_a_forged_id_of_another_class(client_for, teacher, lessons):
    own, other = lessons
    StudyRecord.objects.update(attendance=StudyRecord.Attendance.ABSENT)
    forged = [*own.study_records.values_list("pk", flat=True), *other.study_records.values_list("pk", flat=True)]
    client_for(teacher).post(
        reverse("admin:crm_studyrecord_changelist"), {"action": "mark_present", ACTION_CHECKBOX_NAME: forged}
    )
    assert set(own.study_records.values_list("attendance", flat=True)) == {"present"}
    assert set(other.study_records.values_list("attendance", flat=True)) == {"absent"}


def test_handed_in_homework_opens_for_its_teacher_only(client_for, teacher, other_teacher, lessons):
    own, _ = lessons
    record = own.study_records.first()
    academics.homework_submit(record=record, student=record.student, upload=files.upload("blog.pdf", files.PDF))
    url = reverse("admin:crm_studyrecord_homework", args=[record.pk])
    listing = client_for(teacher).get(reverse("admin:crm_studyrecord_changelist") + "?graded=no")
    assert [r.pk for r in listing.context["cl"].result_list] == [record.pk]
    assert url in listing.content.decode()
    response = client_for(teacher).get(url)
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    assert client_for(other_teacher).get(url).status_code == 404
