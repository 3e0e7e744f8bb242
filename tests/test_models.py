"""Model constraints and phone normalization."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from crm.models import ClassGrade, Customer, Enrollment, StudyRecord
from crm.phones import INVALID_PHONE, normalize_phone
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("typed", ["138 0013 8000", "+86 13800138000", "13800138000", "+86-138-0013-8000"])
def test_every_spelling_of_a_phone_is_stored_the_same(typed):
    customer = factories.CustomerFactory(phone=typed)
    customer.refresh_from_db()
    assert customer.phone == "+8613800138000"


def test_two_spellings_of_one_phone_are_one_customer():
    factories.CustomerFactory(phone="138 0013 8000")
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.CustomerFactory(phone="+86 13800138000")
    assert Customer.objects.filter(phone="13800138000").count() == 1


def test_lookup_by_any_spelling_finds_the_customer():
    customer = factories.CustomerFactory(phone="+8613800138000")
    assert Customer.objects.get(phone="138-0013-8000") == customer


@pytest.mark.parametrize("bad", ["12345", "abc", "+86 000", ""])
def test_invalid_phone_is_refused_in_words(bad):
    customer = factories.CustomerFactory.build(phone=bad, consultant=factories.UserFactory(role="sales"))
    with pytest.raises(ValidationError) as error:
        customer.full_clean()
    assert "phone" in error.value.message_dict


def test_invalid_phone_message():
    with pytest.raises(ValidationError) as error:
        normalize_phone("12345")
    assert error.value.messages == [str(INVALID_PHONE)]


def test_default_region_is_a_setting(settings):
    settings.PHONE_DEFAULT_REGION = "US"
    assert normalize_phone("(201) 555-0123") == "+12015550123"


@pytest.mark.parametrize("field,value", [("qq", "10001"), ("wechat", "wx_abc"), ("email", "a@b.example")])
def test_optional_contacts_are_unique_when_given(field, value):
    factories.CustomerFactory(**{field: value})
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.CustomerFactory(**{field: value})


def test_empty_optional_contacts_do_not_collide():
    factories.CustomerFactory(qq="", wechat="", email="")
    factories.CustomerFactory(qq="", wechat="", email="")
    assert Customer.objects.filter(qq="").count() == 2


def test_one_enrollment_per_customer_and_class():
    enrollment = factories.EnrollmentFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrollment.objects.create(
            customer=enrollment.customer, class_grade=enrollment.class_grade, consultant=enrollment.consultant
        )


def test_one_class_per_course_campus_and_semester():
    class_grade = factories.ClassGradeFactory()
    duplicate = ClassGrade(
        branch=class_grade.branch,
        course=class_grade.course,
        semester=class_grade.semester,
        class_type=ClassGrade.ClassType.ONLINE,
        start_date=class_grade.start_date,
    )
    with pytest.raises(ValidationError):
        duplicate.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_class_cannot_end_before_it_starts():
    class_grade = factories.ClassGradeFactory.build(
        branch=factories.BranchFactory(), course=factories.CourseFactory(), contract_template=None
    )
    class_grade.end_date = class_grade.start_date - datetime.timedelta(days=1)
    with pytest.raises(ValidationError) as error:
        class_grade.full_clean()
    assert "The end date cannot be before the start date." in error.value.messages


def test_payment_amount_must_be_positive():
    payment = factories.PaymentFactory.build(
        customer=factories.CustomerFactory(), course=factories.CourseFactory(), amount=0
    )
    payment.consultant = payment.customer.consultant
    with pytest.raises(ValidationError) as error:
        payment.full_clean()
    assert "The amount must be greater than zero." in error.value.messages


def test_one_study_record_per_student_and_lesson():
    record = factories.StudyRecordFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        StudyRecord.objects.create(student=record.student, course_record=record.course_record)


def test_lesson_day_is_unique_within_a_class():
    lesson = factories.CourseRecordFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.CourseRecordFactory(class_grade=lesson.class_grade, day_num=lesson.day_num)


def test_history_is_kept_for_customers_follow_ups_enrollments_payments():
    follow_up = factories.FollowUpFactory()
    enrollment = factories.EnrollmentFactory()
    payment = factories.PaymentFactory()
    follow_up.customer.name = "Renamed"
    follow_up.customer.save()
    assert follow_up.customer.history.count() == 2
    assert follow_up.history.count() == 1
    assert enrollment.history.count() == 1
    assert payment.history.count() == 1


def test_fast_mobile_path_agrees_with_the_full_parse():
    import random

    import phonenumbers

    from crm.phones import _normalize_mobile

    rng = random.Random(1)
    samples = [f"1{rng.randrange(10**10):010d}" for _ in range(3000)] + [
        f"+86 1{rng.randrange(10**10):010d}" for _ in range(500)
    ]
    for text in samples:
        fast = _normalize_mobile(text, "CN")
        try:
            parsed = phonenumbers.parse(text, "CN")
        except phonenumbers.NumberParseException:
            assert fast is None, text
            continue
        full = (
            phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
            if phonenumbers.is_valid_number(parsed)
            else None
        )
        assert fast in (None, full), text  # the fast path never disagrees; None just means "take the full path"
        if full and full.startswith("+86") and phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE:
            assert fast == full, text
