"""factory_boy factories for the domain; users get their role through `role=`."""

import datetime
import itertools
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from crm import models

_phones = itertools.count(1)


def next_phone() -> str:
    return f"+86137{next(_phones):08d}"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@school.example")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "pass-for-tests-1")

    @factory.post_generation
    def role(self, create, role_name, **kwargs):
        if role_name:
            self.groups.add(Group.objects.get(name=role_name))
        self.save()


class BranchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Branch
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Campus {n}")


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Course
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Course {n}")
    price = Decimal("9800.00")
    period = 12


class ContractTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ContractTemplate

    name = factory.Sequence(lambda n: f"Contract {n}")
    content = "I, {student_name}, enroll in {class_name}."


class ClassGradeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ClassGrade

    branch = factory.SubFactory(BranchFactory)
    course = factory.SubFactory(CourseFactory)
    semester = factory.Sequence(lambda n: n + 1)
    class_type = models.ClassGrade.ClassType.FULL_TIME
    start_date = factory.LazyFunction(timezone.localdate)
    capacity = 30
    contract_template = factory.SubFactory(ContractTemplateFactory)


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Tag

    name = factory.Sequence(lambda n: f"tag {n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Customer

    name = factory.Faker("name")
    phone = factory.LazyFunction(next_phone)
    source = models.Customer.Source.WEBSITE
    consultant = factory.SubFactory(UserFactory, role="sales")


class FollowUpFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.FollowUp

    customer = factory.SubFactory(CustomerFactory)
    consultant = factory.SelfAttribute("customer.consultant")
    content = "Called, interested in the evening class."
    next_follow_up = factory.LazyFunction(timezone.localdate)


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Enrollment

    customer = factory.SubFactory(CustomerFactory)
    class_grade = factory.SubFactory(ClassGradeFactory)
    consultant = factory.SelfAttribute("customer.consultant")


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Payment

    customer = factory.SubFactory(CustomerFactory)
    course = factory.SubFactory(CourseFactory)
    amount = Decimal("9800.00")
    consultant = factory.SelfAttribute("customer.consultant")
    paid_at = factory.LazyFunction(timezone.now)


class StudentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Student

    customer = factory.SubFactory(CustomerFactory, status=models.Customer.Status.ENROLLED)
    user = factory.SubFactory(UserFactory, role="student", is_staff=False)


class CourseRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.CourseRecord

    class_grade = factory.SubFactory(ClassGradeFactory)
    day_num = factory.Sequence(lambda n: n + 1)
    teacher = factory.SubFactory(UserFactory, role="teacher")
    title = factory.Sequence(lambda n: f"Lesson {n}")
    date = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=1))


class StudyRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.StudyRecord

    student = factory.SubFactory(StudentFactory)
    course_record = factory.SubFactory(CourseRecordFactory)


def student_data(**overrides):
    """What a student types on the enrollment form (a valid mainland ID), as the service receives it."""
    from crm.services.enrollment import StudentData

    values = {
        "name": "Wang Fang",
        "phone": "+8613900139000",
        "email": "wang@example.com",
        "id_type": models.Enrollment.IdType.MAINLAND_ID,
        "id_number": "11010519491231002X",
        "birthday": None,
        "address": "1 Changan Ave, Beijing",
        "emergency_contact": "Wang Lei",
        "emergency_phone": "+86 138 0013 8001",
    }
    return StudentData(**{**values, **overrides})


def submit_enrollment(enrollment, **data):
    """Submit the form as the student would: the contract as shown, agreed."""
    from crm.services import enrollment as enrollments

    shown = enrollments.contract_digest(enrollment)
    return enrollments.enrollment_submit(
        enrollment=enrollment, data=student_data(**data), agreed=True, shown_digest=shown
    )


def enrollment_form_post(contract_digest: str, **overrides) -> dict:
    """What the student's browser posts to submit the enrollment form (None drops a field)."""
    data = {
        "name": "Wang Fang",
        "phone": "139 0013 9000",
        "email": "wang@example.com",
        "id_type": "mainland_id",
        "id_number": "11010519491231002x",
        "birthday": "",
        "address": "1 Changan Ave",
        "emergency_contact": "Wang Lei",
        "emergency_phone": "13800138001",
        "agree": "on",
        "contract_digest": contract_digest,
        "submit": "1",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


class InstallmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Installment

    enrollment = factory.SubFactory(EnrollmentFactory, status=models.Enrollment.Status.APPROVED)
    due_date = factory.LazyFunction(timezone.localdate)
    amount = Decimal("1000.00")


class RefundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Refund

    enrollment = factory.SubFactory(EnrollmentFactory, status=models.Enrollment.Status.APPROVED)
    amount = Decimal("500.00")
    reason = "Moved to another city."
    requested_by = factory.SelfAttribute("enrollment.consultant")


def job_schedules():
    """The jobs' schedules as migration 0014_job_schedules makes them (it leaves existing ones alone): a
    transactional test that ran before in the same worker empties every table, migration rows included."""
    import importlib

    from django.apps import apps

    importlib.import_module("crm.migrations.0014_job_schedules").create_schedules(apps, None)
