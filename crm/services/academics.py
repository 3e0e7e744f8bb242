"""Teaching: lessons and their study records, attendance and grades, and the student's homework."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm import access
from crm.models import ClassGrade, CourseRecord, Student, StudyRecord
from crm.uploads import HOMEWORK_KINDS, check_document

NOT_YOUR_CLASS = _("You do not teach this class.")
NOT_YOUR_RECORD = _("You may not change this study record.")
NO_HOMEWORK = _("This lesson has no homework to hand in.")
PAST_DEADLINE = _("The deadline for this homework has passed (%(deadline)s); ask your teacher.")
ALREADY_GRADED = _("This homework is already graded; it can no longer be replaced.")


def next_day_num(class_grade: ClassGrade) -> int:
    """The day number of a class's next lesson: one after its last."""
    return (class_grade.lessons.aggregate(last=Max("day_num"))["last"] or 0) + 1


@transaction.atomic
def lesson_create(*, lesson: CourseRecord, by) -> CourseRecord:
    """A new lesson of a class `by` teaches, with a study record for every student of the class."""
    if not (by.has_perm("crm.add_courserecord") and access.can_reach(by, lesson.class_grade)):
        raise PermissionDenied(NOT_YOUR_CLASS)
    if lesson.teacher_id is None:
        lesson.teacher = by
    lesson.full_clean()
    lesson.save()
    students = lesson.class_grade.students.values_list("pk", flat=True)
    StudyRecord.objects.bulk_create(
        [StudyRecord(student_id=student_id, course_record=lesson) for student_id in students],
        ignore_conflicts=True,  # a record made meanwhile (a student placed in the class) stays as it is
        batch_size=1000,
    )
    return lesson


def study_records_for_new_student(*, student: Student, class_grade: ClassGrade) -> None:
    """A student placed in a class gets a record for each of its lessons still to come."""
    upcoming = class_grade.lessons.filter(date__gte=timezone.localdate()).values_list("pk", flat=True)
    StudyRecord.objects.bulk_create(
        [StudyRecord(student=student, course_record_id=lesson_id) for lesson_id in upcoming],
        ignore_conflicts=True,
    )


@transaction.atomic
def study_record_save(*, record: StudyRecord, by) -> StudyRecord:
    """Attendance, score and the teacher's note of one student's lesson."""
    if record.pk is None or not (by.has_perm("crm.change_studyrecord") and access.can_reach(by, record)):
        raise PermissionDenied(NOT_YOUR_RECORD)  # records are made with their lesson, never one by one
    record.full_clean()
    # Only what the teacher records: a homework file handed in meanwhile must not be overwritten by this save.
    record.save(update_fields=["attendance", "score", "memo"])
    return record


@transaction.atomic
def attendance_mark_present(*, records, by) -> int:
    """Everyone of the chosen records present; only records `by` may reach are touched."""
    if not by.has_perm("crm.change_studyrecord"):
        raise PermissionDenied(NOT_YOUR_RECORD)
    return access.restrict(by, records).update(attendance=StudyRecord.Attendance.PRESENT)


def homework_refusal(lesson: CourseRecord, record: StudyRecord, now) -> ValidationError | None:
    """Why this lesson's homework cannot be handed in (or replaced) now; None when it can."""
    if not lesson.has_homework:
        return ValidationError(NO_HOMEWORK, code="no_homework")
    if lesson.homework_deadline and now > lesson.homework_deadline:
        deadline = timezone.localtime(lesson.homework_deadline).strftime("%Y-%m-%d %H:%M")
        return ValidationError(PAST_DEADLINE, code="late", params={"deadline": deadline})
    if record.score:
        return ValidationError(ALREADY_GRADED, code="graded")
    return None


def homework_open(lesson: CourseRecord, record: StudyRecord | None, now=None) -> bool:
    """Whether the student may hand in (or replace) this lesson's homework now."""
    return record is not None and homework_refusal(lesson, record, now or timezone.now()) is None


def homework_submit(*, record: StudyRecord, student: Student, upload) -> StudyRecord:
    """The student's homework file for a lesson: before the deadline, replaceable until graded."""
    if record.student_id != student.pk:
        raise PermissionDenied(NOT_YOUR_RECORD)
    refusal = homework_refusal(record.course_record, record, timezone.now())
    if refusal is not None:  # said before judging the file; asked again under the lock
        raise refusal
    # Judged before the transaction, so no lock is held while a picture decodes.
    checked = check_document(upload, max_bytes=settings.HOMEWORK_MAX_BYTES, kinds=HOMEWORK_KINDS)
    with transaction.atomic():
        return _store_homework(record, student, upload, checked)


def _store_homework(record: StudyRecord, student: Student, upload, checked) -> StudyRecord:
    # Only the record is locked: students handing in the same lesson at once must not queue on its row.
    record = StudyRecord.objects.select_for_update(of=("self",)).select_related("course_record").get(pk=record.pk)
    if record.student_id != student.pk:
        raise PermissionDenied(NOT_YOUR_RECORD)
    now = timezone.now()
    refusal = homework_refusal(record.course_record, record, now)
    if refusal is not None:
        raise refusal
    previous = record.homework_file.name if record.homework_file else ""
    record.homework_file.save(checked.original_name, upload, save=False)
    record.homework_original_name = checked.original_name
    record.submitted_at = now
    try:
        record.save(update_fields=["homework_file", "homework_original_name", "submitted_at"])
    except BaseException:
        record.homework_file.storage.delete(record.homework_file.name)
        raise
    if previous:
        storage = record.homework_file.storage
        transaction.on_commit(lambda: storage.delete(previous))
    return record
