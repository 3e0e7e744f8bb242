"""The finance report, exact on a known data set: lessons used (课消), revenue recognized, refunds and deferred
revenue by month × campus × course × teacher; a constant number of queries; CSV and XLSX."""

import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from crm import finance_report
from crm.models import Refund, StudyRecord
from crm.reports import Filters
from tests import factories

pytestmark = pytest.mark.django_db
D = Decimal


def at(day: str) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.fromisoformat(day + "T10:00"))


@pytest.fixture
def school(make_user):
    """Campus 海淀, course Java (¥12,000 for 10 lessons); 张 pays in full, 李 at ¥9,000 in two parts and is
    refunded ¥1,000 in October. September: two lessons by T1, both present. October: one by T2 (李 absent),
    one by T1 (张 late, 李 left early)."""
    t1, t2 = make_user("teacher", "t1", first_name="T1"), make_user("teacher", "t2", first_name="T2")
    course = factories.CourseFactory(name="Java", price=D("12000.00"), lessons=10)
    class_grade = factories.ClassGradeFactory(course=course, branch=factories.BranchFactory(name="海淀"))
    zhang, li = (factories.StudentFactory(customer=factories.CustomerFactory(name=name)) for name in ("张", "李"))
    full = factories.EnrollmentFactory(customer=zhang.customer, class_grade=class_grade, status="approved")
    discounted = factories.EnrollmentFactory(
        customer=li.customer, class_grade=class_grade, status="approved", price=D("9000.00"), discount_reason="x"
    )
    for enrollment, amount, day in ((full, "12000", "2025-09-01"), (discounted, "5000", "2025-09-02")):
        factories.PaymentFactory(
            customer=enrollment.customer, enrollment=enrollment, course=course, amount=D(amount), paid_at=at(day)
        )
    factories.PaymentFactory(
        customer=li.customer, enrollment=discounted, course=course, amount=D("4000"), paid_at=at("2025-10-05")
    )
    refund = factories.RefundFactory(enrollment=discounted, amount=D("1000.00"), status=Refund.Status.APPROVED)
    Refund.objects.filter(pk=refund.pk).update(decided_at=at("2025-10-20"))
    factories.RefundFactory(enrollment=discounted, amount=D("50.00"))  # requested only: counts nowhere yet
    lessons = [
        ("2025-09-10", t1, {zhang: "present", li: "present"}),
        ("2025-09-17", t1, {zhang: "present", li: "present"}),
        ("2025-10-08", t2, {zhang: "present", li: "absent"}),
        ("2025-10-15", t1, {zhang: "late", li: "left_early"}),
    ]
    for day_num, (day, teacher, attendance) in enumerate(lessons, start=1):
        lesson = factories.CourseRecordFactory(
            class_grade=class_grade, teacher=teacher, day_num=day_num, date=datetime.date.fromisoformat(day)
        )
        for student, value in attendance.items():
            StudyRecord.objects.create(student=student, course_record=lesson, attendance=value)
    # Another campus's class, not enrolled through the CRM: its lessons recognize nothing.
    factories.StudyRecordFactory(course_record__date=datetime.date(2025, 9, 10))
    return class_grade


def figures(rows):
    return [
        (r.month.isoformat()[:7], r.campus, r.course, r.teacher, r.lessons_used, r.recognized, r.refunds, r.deferred)
        for r in rows
    ]


EXPECTED = [
    ("2025-09", "海淀", "Java", "T1", 4, D("4200.00"), None, None),
    ("2025-09", "海淀", "Java", "", 4, D("4200.00"), D("0.00"), D("12800.00")),  # 17,000 paid − 4,200
    ("2025-10", "海淀", "Java", "T1", 2, D("2100.00"), None, None),  # (12,000 + 9,000) ÷ 10
    ("2025-10", "海淀", "Java", "T2", 1, D("1200.00"), None, None),
    ("2025-10", "海淀", "Java", "", 3, D("3300.00"), D("1000.00"), D("12500.00")),  # 12,800 + 4,000 − 1,000 − 3,300
]


def test_the_report_is_exact(school, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):  # lessons used, payments, refunds, teachers' names
        rows = finance_report.report(Filters())
    assert figures(rows) == EXPECTED


def test_a_range_keeps_the_balance_carried_in(school):
    rows = finance_report.report(Filters(date_from=datetime.date(2025, 10, 1), date_to=datetime.date(2025, 10, 31)))
    assert figures(rows) == EXPECTED[2:]


def test_the_page_and_its_exports(client_for, finance, school, teacher):
    client = client_for(finance)
    url = reverse("admin:crm_finance_report")
    assert client.get(url).status_code == 200
    csv = client.get(url, {"export": "csv"}).content.decode("utf-8-sig").splitlines()
    assert csv[0].startswith("month,campus,course,teacher")
    assert "2025-10,海淀,Java,(all teachers),3,3300.00,1000.00,12500.00" in csv
    book = openpyxl.load_workbook(io.BytesIO(client.get(url, {"export": "xlsx"}).content))
    assert book.active.max_row == 1 + len(EXPECTED)
    assert client_for(teacher).get(url).status_code == 403
