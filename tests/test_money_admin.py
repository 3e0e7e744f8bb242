"""The money pages in the admin: receipts and contracts as PDFs (text read back with pypdf), the refund decision
(actions `approve` and `reject` for finance, managers and school admins only), approval asking for the plan,
who owes what with its export, and list pages whose query count does not grow with their rows."""

import io
from decimal import Decimal

import pytest
from django import forms
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from crm import ledger
from crm.models import Refund
from tests import factories, files

pytestmark = pytest.mark.django_db
D = Decimal


def pdf_text(response) -> str:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.fixture
def approved(sales):
    """王芳's approved enrollment in a ¥19,800 course: ¥12,000 paid, ¥7,800 due."""
    course = factories.CourseFactory(name="Python 全栈开发", price=D("19800.00"), lessons=40)
    customer = factories.CustomerFactory(consultant=sales, name="王芳")
    class_grade = factories.ClassGradeFactory(course=course)
    enrollment = factories.EnrollmentFactory(
        customer=customer,
        class_grade=class_grade,
        status="approved",
        id_number="11010519491231002X",
        contract_text="甲方：培训学校\n乙方：王芳\n学费人民币壹万玖仟捌佰元整。",
        contract_agreed=True,
        contract_agreed_at=timezone.now(),
    )
    factories.PaymentFactory(customer=customer, enrollment=enrollment, course=course, amount=D("12000.00"))
    return enrollment


def receipt_url(payment):
    return reverse("admin:crm_payment_receipt", args=[payment.pk])


def test_the_receipt_holds_the_students_name_and_the_amount(client_for, sales, approved, settings):
    settings.SCHOOL_NAME = "北京示例培训学校"
    text = pdf_text(client_for(sales).get(receipt_url(approved.payments.get())))
    assert "王芳" in text and "¥12,000.00" in text and "北京示例培训学校" in text
    assert "Python 全栈开发" in text


def test_the_receipt_in_chinese(client_for, sales, approved):
    client = client_for(sales)
    text = pdf_text(client.get(receipt_url(approved.payments.get()), HTTP_ACCEPT_LANGUAGE="zh-hans"))
    assert "王芳" in text and "¥12,000.00" in text


def test_the_receipt_has_the_payments_access(client_for, approved, other_sales, teacher, finance, manager):
    url = receipt_url(approved.payments.get())
    assert client_for(other_sales).get(url).status_code == 404
    assert client_for(teacher).get(url).status_code in (403, 404)
    for user in (finance, manager):
        assert client_for(user).get(url).status_code == 200


def test_the_signed_contract_as_agreed_with_the_id_number_masked(client_for, sales, approved):
    text = pdf_text(client_for(sales).get(reverse("admin:crm_enrollment_contract", args=[approved.pk])))
    for line in approved.contract_text.splitlines():
        assert line in text
    assert "1101**********002X" in text and "11010519491231002X" not in text
    assert "王芳" in text
    agreed = timezone.localtime(approved.contract_agreed_at)
    assert str(agreed.year) in text


def test_no_contract_before_the_student_agreed(client_for, sales):
    enrollment = factories.EnrollmentFactory(customer=factories.CustomerFactory(consultant=sales))
    assert client_for(sales).get(reverse("admin:crm_enrollment_contract", args=[enrollment.pk])).status_code == 404


# --- refunds


def refund_for(enrollment, amount="1000.00"):
    return factories.RefundFactory(enrollment=enrollment, amount=D(amount))


def act(client, action, refund):
    return client.post(
        reverse("admin:crm_refund_changelist"), {"action": action, ACTION_CHECKBOX_NAME: [refund.pk]}, follow=True
    )


@pytest.mark.parametrize("decider", ["finance", "manager", "school_admin"])
def test_finance_managers_and_admins_approve_refunds(client_for, approved, decider, request):
    refund = refund_for(approved)
    act(client_for(request.getfixturevalue(decider)), "approve", refund)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.APPROVED
    assert ledger.account(approved).balance_due == D("8800.00")


def test_reject_action(client_for, approved, finance):
    refund = refund_for(approved)
    act(client_for(finance), "reject", refund)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.REJECTED and refund.decided_by == finance


def test_a_salesperson_cannot_approve_a_refund(client_for, approved, sales):
    refund = refund_for(approved)
    client = client_for(sales)
    changelist = client.get(reverse("admin:crm_refund_changelist"))
    action_form = changelist.context["action_form"]
    assert action_form is None or "approve" not in dict(action_form.fields["action"].choices)
    act(client, "approve", refund)
    client.post(reverse("admin:crm_refund_decide", args=[refund.pk]), {"decision": "approve"})
    refund.refresh_from_db()
    assert refund.status == Refund.Status.REQUESTED


def test_the_salesperson_asks_for_a_refund_with_the_suggested_amount(client_for, approved, sales):
    client = client_for(sales)
    add = reverse("admin:crm_refund_add")
    page = client.get(add, {"enrollment": approved.pk})
    assert page.context["adminform"].form.initial["amount"] == D("12000.00")  # nothing used yet, no fee
    too_much = client.post(add, {"enrollment": approved.pk, "amount": "12000.01", "reason": "moving"})
    assert too_much.status_code == 200 and not Refund.objects.exists()
    assert client.post(add, {"enrollment": approved.pk, "amount": "2000", "reason": "moving"}).status_code == 302
    assert Refund.objects.get().requested_by == sales


def test_the_decision_page_takes_a_note(client_for, approved, finance):
    refund = refund_for(approved)
    client = client_for(finance)
    client.post(reverse("admin:crm_refund_decide", args=[refund.pk]), {"decision": "reject", "note": "Past 30 days"})
    refund.refresh_from_db()
    assert (refund.status, refund.decision_note) == (Refund.Status.REJECTED, "Past 30 days")


def test_money_rows_are_never_deleted_nor_edited_by_viewers(client_for, approved, finance, school_admin):
    refund, payment = refund_for(approved), approved.payments.get()
    for user in (finance, school_admin):
        client = client_for(user)
        for model, obj in (("refund", refund), ("payment", payment)):
            assert client.get(reverse(f"admin:crm_{model}_delete", args=[obj.pk])).status_code == 403
    before = payment.amount
    client_for(finance).post(reverse("admin:crm_payment_change", args=[payment.pk]), {"note": "x", "amount": "1"})
    payment.refresh_from_db()
    assert payment.amount == before and payment.note != "x"


# --- approving with a partial payment, from the desk


def test_the_desk_asks_for_the_plan_when_the_payment_is_partial(client_for, sales):
    customer = factories.CustomerFactory(consultant=sales, email="wang@example.com")
    enrollment = factories.EnrollmentFactory(customer=customer)
    from crm.services import enrollment as enrollments

    enrollments.documents_add(enrollment=enrollment, uploads=[files.png()])
    factories.submit_enrollment(enrollment)
    client = client_for(sales)
    url = reverse("admin:crm_enrollment_approve", args=[enrollment.pk])
    management = {"plan-TOTAL_FORMS": "2", "plan-INITIAL_FORMS": "0"}
    response = client.post(url, {"amount": "5000", "method": "cash", **management})
    assert response.status_code == 400 and b"plan installments" in response.content
    due = (timezone.localdate() + timezone.timedelta(days=30)).isoformat()
    plan = {**management, "plan-0-due_date": due, "plan-0-amount": "4800"}
    response = client.post(url, {"amount": "5000", "method": "cash", **plan})
    assert response.status_code == 302
    enrollment.refresh_from_db()
    assert enrollment.status == "approved"
    assert [i.amount for i in enrollment.installments.order_by("due_date")] == [D("5000.00"), D("4800.00")]


def test_who_owes_what_and_its_export(client_for, approved, finance):
    client = client_for(finance)
    page = client.get(reverse("admin:crm_balancedue_changelist"))
    assert [row.balance_due for row in page.context["cl"].result_list] == [D("7800.00")]
    url = reverse("admin:crm_balancedue_export")
    form = client.get(url).context["form"]
    data = {"format": "0", "resource": "0"}
    data.update({name: "on" for name, field in form.fields.items() if isinstance(field, forms.BooleanField)})
    export = client.post(url, data)
    body = export.content.decode("utf-8-sig")
    assert "王芳" in body and "7800.00" in body


# --- constant query counts


@pytest.mark.parametrize("model", ["installment", "refund", "balancedue"])
def test_money_lists_do_not_grow_with_rows(client_for, finance, sales, django_assert_max_num_queries, model):
    client = client_for(finance)
    url = reverse(f"admin:crm_{model}_changelist") + "?all="

    def add(n):
        for _ in range(n):
            enrollment = factories.EnrollmentFactory(
                customer=factories.CustomerFactory(consultant=sales), status="approved"
            )
            factories.InstallmentFactory(enrollment=enrollment)
            factories.RefundFactory(enrollment=enrollment)

    def count():
        with django_assert_max_num_queries(40) as captured:
            assert client.get(url).status_code == 200
        return len(captured.captured_queries)

    add(3)
    small = count()
    add(30)
    assert count() == small


# --- where the figures show


def test_overdue_installments_on_the_dashboards(client_for, approved, sales, other_sales, finance):
    factories.InstallmentFactory(enrollment=approved, due_date=timezone.localdate() - timezone.timedelta(days=2))
    for user, count in ((sales, 1), (finance, 1), (other_sales, 0)):
        board = client_for(user).get(reverse("admin:index")).context["dashboard"]
        assert board.overdue_installments.value == count
    listed = client_for(sales).get(
        client_for(sales).get(reverse("admin:index")).context["dashboard"].overdue_installments.url
    )
    assert listed.status_code == 200 and len(listed.context["cl"].result_list) == 1


def test_the_customer_page_shows_the_balance_and_the_payments(client_for, approved, finance):
    page = client_for(finance).get(reverse("admin:crm_customer_change", args=[approved.customer_id]))
    assert page.context["balance_due"] == D("7800.00")
    assert [p.amount for p in page.context["customer_payments"]] == [D("12000.00")]
    assert "¥7,800.00" in page.content.decode()


def test_lessons_left_for_the_student_the_teacher_and_the_salesperson(client, client_for, approved, sales, teacher):
    from crm.models import Student, StudyRecord

    student = factories.StudentFactory(customer=approved.customer)
    student.classes.add(approved.class_grade)
    approved.class_grade.teachers.add(teacher)
    lesson = factories.CourseRecordFactory(
        class_grade=approved.class_grade, teacher=teacher, date=timezone.localdate() - timezone.timedelta(days=1)
    )
    StudyRecord.objects.create(student=student, course_record=lesson, attendance="present")

    rows = client_for(teacher).get(reverse("admin:crm_studyrecord_changelist")).context["cl"].result_list
    assert [row.lessons_left_value for row in rows] == [39]
    desk = client_for(sales).get(reverse("admin:crm_enrollment_change", args=[approved.pk]))
    assert desk.context["account"].lessons_left == 39
    client.force_login(Student.objects.get(pk=student.pk).user)
    assert "39 lessons left" in client.get(reverse("portal:home")).content.decode()


def test_a_new_plan_from_the_enrollment_page(client_for, approved, sales):
    client = client_for(sales)
    url = reverse("admin:crm_enrollment_plan", args=[approved.pk])
    assert client.get(url).status_code == 200
    due = (timezone.localdate() + timezone.timedelta(days=30)).isoformat()
    rows = {"plan-TOTAL_FORMS": "2", "plan-INITIAL_FORMS": "0", "plan-0-due_date": due, "plan-0-amount": "7000"}
    assert client.post(url, rows).status_code == 400  # 7,800 are due
    assert client.post(url, {**rows, "plan-1-due_date": due, "plan-1-amount": "800"}).status_code == 302
    assert sorted(i.amount for i in approved.installments.all()) == [D("800.00"), D("7000.00")]


def test_a_manager_approves_a_discount_from_the_desk(client_for, sales, manager, settings):
    settings.DISCOUNT_APPROVAL_PERCENT = 10
    enrollment = factories.EnrollmentFactory(customer=factories.CustomerFactory(consultant=sales))
    change = reverse("admin:crm_enrollment_change", args=[enrollment.pk])
    price = reverse("admin:crm_enrollment_price", args=[enrollment.pk])
    client = client_for(sales)
    form = client.get(change).context["price_form"]
    assert {"price", "discount_reason"} <= set(form.fields)
    assert client.post(price, {"price": "5000", "discount_reason": ""}).status_code == 400  # why?
    assert client.post(price, {"price": "5000", "discount_reason": "Alumni"}).status_code == 302
    enrollment.refresh_from_db()
    assert enrollment.price == D("5000.00") and enrollment.discount_approved_by is None
    client_for(sales).post(reverse("admin:crm_enrollment_approve_discount", args=[enrollment.pk]))
    enrollment.refresh_from_db()
    assert enrollment.discount_approved_by is None
    client_for(manager).post(reverse("admin:crm_enrollment_approve_discount", args=[enrollment.pk]))
    enrollment.refresh_from_db()
    assert enrollment.discount_approved_by == manager
