"""Teaching services: lessons make records, grading, attendance, and the student's homework rules."""

import datetime
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from crm.models import CourseRecord, StudyRecord
from crm.services import academics
from tests import factories, files

pytestmark = pytest.mark.django_db


@pytest.fixture
def taught(teacher):
    class_grade = factories.ClassGradeFactory()
    class_grade.teachers.add(teacher)
    students = [factories.StudentFactory() for _ in range(3)]
    for student in students:
        student.classes.add(class_grade)
    return class_grade, students


def lesson(class_grade, teacher, **fields):
    values = {"class_grade": class_grade, "day_num": academics.next_day_num(class_grade), "title": "Django ORM"}
    values |= {"date": timezone.localdate(), **fields}
    return academics.lesson_create(lesson=CourseRecord(**values), by=teacher)


def homework_lesson(class_grade, teacher, deadline_in=datetime.timedelta(days=3)):
    return lesson(
        class_grade,
        teacher,
        has_homework=True,
        homework_title="Build a blog",
        homework_brief="Models and admin.",
        homework_deadline=timezone.now() + deadline_in,
    )


def test_a_lesson_makes_a_record_for_every_student_of_the_class(teacher, taught):
    class_grade, students = taught
    elsewhere = factories.StudentFactory()
    first = lesson(class_grade, teacher)
    assert first.day_num == 1 and first.teacher == teacher
    assert set(first.study_records.values_list("student_id", flat=True)) == {s.pk for s in students}
    assert not elsewhere.study_records.exists()
    assert academics.next_day_num(class_grade) == 2


def test_another_teachers_class_is_refused(other_teacher, taught):
    class_grade, _ = taught
    with pytest.raises(PermissionDenied):
        lesson(class_grade, other_teacher)
    assert not CourseRecord.objects.exists()


def test_a_taken_day_number_is_a_form_error_not_a_crash(teacher, taught):
    class_grade, _ = taught
    lesson(class_grade, teacher, day_num=1)
    with pytest.raises(ValidationError):
        lesson(class_grade, teacher, day_num=1)
    assert CourseRecord.objects.count() == 1 and StudyRecord.objects.count() == 3


def test_grading_is_for_the_classes_teacher(teacher, other_teacher, taught):
    class_grade, _ = taught
    record = lesson(class_grade, teacher).study_records.first()
    record.score, record.attendance = "A", StudyRecord.Attendance.LATE
    academics.study_record_save(record=record, by=teacher)
    record.score = "D"
    with pytest.raises(PermissionDenied):
        academics.study_record_save(record=record, by=other_teacher)
    record.refresh_from_db()
    assert (record.score, record.attendance) == ("A", "late")


def test_mark_present_touches_only_reachable_records(teacher, other_teacher, taught):
    class_grade, _ = taught
    mine = lesson(class_grade, teacher)
    mine.study_records.update(attendance=StudyRecord.Attendance.ABSENT)
    count = academics.attendance_mark_present(records=StudyRecord.objects.all(), by=other_teacher)
    assert count == 0
    assert academics.attendance_mark_present(records=StudyRecord.objects.all(), by=teacher) == 3
    assert set(mine.study_records.values_list("attendance", flat=True)) == {"present"}


def test_homework_hand_in_and_replace_until_graded(teacher, taught, django_capture_on_commit_callbacks):
    class_grade, students = taught
    record = homework_lesson(class_grade, teacher).study_records.get(student=students[0])
    academics.homework_submit(record=record, student=students[0], upload=files.upload("blog.pdf", files.PDF))
    record.refresh_from_db()
    first_file = Path(record.homework_file.path)
    assert record.homework_original_name == "blog.pdf" and record.submitted_at and first_file.exists()

    with django_capture_on_commit_callbacks(execute=True):
        academics.homework_submit(
            record=record, student=students[0], upload=files.upload("blog.zip", files.zip_bytes())
        )
    record.refresh_from_db()
    assert record.homework_original_name == "blog.zip" and not first_file.exists()

    record.score = "B"
    record.save()
    with pytest.raises(ValidationError, match="already graded"):
        academics.homework_submit(record=record, student=students[0], upload=files.upload("late.pdf", files.PDF))


def test_late_homework_is_refused(teacher, taught):
    class_grade, students = taught
    record = homework_lesson(class_grade, teacher, deadline_in=-datetime.timedelta(minutes=1))
    record = record.study_records.get(student=students[0])
    with pytest.raises(ValidationError, match="deadline"):
        academics.homework_submit(record=record, student=students[0], upload=files.upload("a.pdf", files.PDF))
    record.refresh_from_db()
    assert not record.homework_file and record.submitted_at is None


def test_homework_refusals(teacher, taught):
    class_grade, students = taught
    record = homework_lesson(class_grade, teacher).study_records.get(student=students[0])
    with pytest.raises(PermissionDenied):  # another student's record
        academics.homework_submit(record=record, student=students[1], upload=files.upload("a.pdf", files.PDF))
    with pytest.raises(ValidationError, match="Windows program"):
        academics.homework_submit(record=record, student=students[0], upload=files.upload("a.zip", b"MZ" + b"\0" * 64))
    with pytest.raises(ValidationError, match="damaged"):
        academics.homework_submit(record=record, student=students[0], upload=files.upload("a.zip", b"PK\x03\x04junk"))
    no_homework = lesson(class_grade, teacher).study_records.get(student=students[0])
    with pytest.raises(ValidationError, match="no homework"):
        academics.homework_submit(record=no_homework, student=students[0], upload=files.upload("a.pdf", files.PDF))


def test_homework_size_limit_is_a_setting(teacher, taught, settings):
    settings.HOMEWORK_MAX_BYTES = 100
    class_grade, students = taught
    record = homework_lesson(class_grade, teacher).study_records.get(student=students[0])
    with pytest.raises(ValidationError, match="larger than"):
        academics.homework_submit(record=record, student=students[0], upload=files.upload("a.pdf", files.PDF * 3))


def test_a_student_placed_later_gets_the_upcoming_lessons(teacher, taught):
    class_grade, _ = taught
    past = lesson(class_grade, teacher, date=timezone.localdate() - datetime.timedelta(days=7))
    upcoming = lesson(class_grade, teacher, date=timezone.localdate() + datetime.timedelta(days=7))
    newcomer = factories.StudentFactory()
    newcomer.classes.add(class_grade)
    academics.study_records_for_new_student(student=newcomer, class_grade=class_grade)
    assert list(newcomer.study_records.values_list("course_record", flat=True)) == [upcoming.pk]
    assert not past.study_records.filter(student=newcomer).exists()
