"""The salesperson's side: Start enrollment, the audit desk, documents behind access checks."""

import logging
import re
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from crm import links
from crm.models import Enrollment, Payment, Student
from crm.services import enrollment as enrollments
from tests import factories, files

pytestmark = pytest.mark.django_db
Status = Enrollment.Status


@pytest.fixture
def customer(sales):
    return factories.CustomerFactory(consultant=sales, name="Wang Fang", email="wang@example.com")


@pytest.fixture
def submitted(customer, sales):
    enrollment = enrollments.enrollment_start(customer=customer, class_grade=factories.ClassGradeFactory(), by=sales)
    enrollments.documents_add(enrollment=enrollment, uploads=[files.png("front.png")])
    enrollments.documents_add(enrollment=enrollment, uploads=[files.upload("back.pdf", files.PDF_WITH_JAVASCRIPT)])
    return factories.submit_enrollment(enrollment, phone=customer.phone, id_type="passport", id_number="E1234567")


def url(name, *args):
    return reverse(f"admin:crm_enrollment_{name}", args=args)


def test_start_enrollment_shows_seats_and_disables_full_classes(client_for, sales, customer):
    open_class = factories.ClassGradeFactory(capacity=3, course__name="Java")
    full = factories.ClassGradeFactory(capacity=1, course__name="Go")
    factories.StudentFactory().classes.add(full)
    client = client_for(sales)
    change = client.get(reverse("admin:crm_customer_change", args=[customer.pk]))
    start_url = reverse("admin:crm_customer_start_enrollment", args=[customer.pk])
    assert start_url in change.content.decode()

    page = client.get(start_url).content.decode()
    assert "3 of 3 seats left" in page
    assert f'value="{full.pk}" disabled' in page and "Go" in page

    forged = client.post(start_url, {"class_grade": full.pk})
    assert "full" in forged.content.decode() and not Enrollment.objects.exists()

    response = client.post(start_url, {"class_grade": open_class.pk})
    enrollment = Enrollment.objects.get()
    assert response.url == url("change", enrollment.pk)
    desk = client.get(response.url).content.decode()
    shown = re.search(r'id="public-link" value="[^"]*/enroll/([^/"]+)/"', desk).group(1)  # the link, ready to copy
    assert links.enrollment_for_token(shown, Enrollment.objects) == enrollment  # signed at render time: same meaning
    assert client.post(start_url, {"class_grade": open_class.pk}).url == url("change", enrollment.pk)  # reused
    assert Enrollment.objects.count() == 1


def test_another_salespersons_customer_cannot_be_enrolled(client_for, other_sales, customer):
    client = client_for(other_sales)
    start_url = reverse("admin:crm_customer_start_enrollment", args=[customer.pk])
    assert client.get(start_url).status_code == 404
    assert client.post(start_url, {"class_grade": factories.ClassGradeFactory().pk}).status_code == 404
    assert not Enrollment.objects.exists()


def test_teacher_cannot_start_an_enrollment(client_for, teacher, customer):
    response = client_for(teacher).get(reverse("admin:crm_customer_start_enrollment", args=[customer.pk]))
    assert response.status_code in (403, 404)


def test_desk_shows_documents_and_serves_them_safely(client_for, sales, submitted):
    client = client_for(sales)
    desk = client.get(url("change", submitted.pk)).content.decode()
    front, back = submitted.documents.order_by("original_name").reverse()
    assert url("document", submitted.pk, front.public_id) in desk
    assert "front.png" in desk and "back.pdf" in desk and "Approve" in desk

    image = client.get(url("document", submitted.pk, front.public_id))
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert not image.get("Content-Disposition", "").startswith("attachment")
    assert "sandbox" in image["Content-Security-Policy"]

    pdf = client.get(url("document", submitted.pk, back.public_id))
    assert pdf["Content-Disposition"].startswith("attachment")  # a PDF (with JavaScript here) is never shown inline


def test_documents_are_not_reachable_by_others(client_for, other_sales, teacher, submitted):
    document = submitted.documents.first()
    document_url = url("document", submitted.pk, document.public_id)
    assert client_for(other_sales).get(document_url).status_code == 404
    assert client_for(teacher).get(document_url).status_code in (403, 404)
    # No public URL serves uploads: the storage's would-be URL answers 404 even to the owner's colleagues.
    assert client_for(other_sales).get("/media/" + document.file.name).status_code == 404


def test_approve_from_the_desk(client_for, sales, submitted, django_capture_on_commit_callbacks):
    client = client_for(sales)
    desk = client.get(url("change", submitted.pk))
    assert desk.context["approve_form"].initial["amount"] == Decimal("9800.00")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("approve", submitted.pk), {"amount": "9800.00", "method": "wechat_pay"})
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == Status.APPROVED
    assert Payment.objects.get().method == "wechat_pay"
    assert Student.objects.get().user.username == submitted.customer.phone
    assert "/portal/password/set/" in mail.outbox[0].body and mail.outbox[0].body.count("http://testserver/") == 1

    again = client.post(url("approve", submitted.pk), {"amount": "9800.00", "method": "cash"}, follow=True)
    assert "Only a submitted enrollment" in again.content.decode()
    assert Payment.objects.count() == 1


def test_reject_needs_a_reason_and_reopen(client_for, sales, submitted):
    client = client_for(sales)
    empty = client.post(url("reject", submitted.pk), {"reason": ""})
    assert empty.status_code == 400
    submitted.refresh_from_db()
    assert submitted.status == Status.SUBMITTED
    client.post(url("reject", submitted.pk), {"reason": "ID photo blurred"})
    submitted.refresh_from_db()
    assert submitted.status == Status.REJECTED
    client.post(url("reopen", submitted.pk))
    submitted.refresh_from_db()
    assert submitted.status == Status.LINK_SENT


def linked_enrollment(text: str, prefix: str = "/enroll/"):
    """The enrollment the link in `text` opens (links are signed with a timestamp: compared by meaning)."""
    token = re.search(re.escape(prefix) + r"([^/\s]+)/", text).group(1)
    return links.enrollment_for_token(token, Enrollment.objects)


def test_emailed_links_use_the_schools_public_address(
    client_for, sales, customer, settings, django_capture_on_commit_callbacks
):
    settings.PUBLIC_BASE_URL = "https://crm.school.example/"
    enrollment = enrollments.enrollment_start(customer=customer, class_grade=factories.ClassGradeFactory(), by=sales)
    with django_capture_on_commit_callbacks(execute=True):
        client_for(sales).post(url("send_link", enrollment.pk))
    assert linked_enrollment(mail.outbox[0].body, "https://crm.school.example/enroll/") == enrollment


def test_fresh_link_and_email_from_the_desk(client_for, sales, customer, django_capture_on_commit_callbacks):
    enrollment = enrollments.enrollment_start(customer=customer, class_grade=factories.ClassGradeFactory(), by=sales)
    old = enrollment.get_public_url()
    client = client_for(sales)
    client.post(url("renew_link", enrollment.pk))
    enrollment.refresh_from_db()
    assert enrollment.get_public_url() != old and client.get(old).status_code == 410
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("send_link", enrollment.pk))
    assert linked_enrollment(mail.outbox[0].body) == enrollment


@pytest.mark.parametrize("step", ["approve", "reject", "reopen", "renew_link", "send_link"])
def test_another_salesperson_reaches_no_step(client_for, other_sales, submitted, step):
    client = client_for(other_sales)
    assert client.get(url(step, submitted.pk)).status_code == 404
    response = client.post(url(step, submitted.pk), {"amount": "1", "method": "cash", "reason": "x"})
    assert response.status_code == 404
    submitted.refresh_from_db()
    assert submitted.status == Status.SUBMITTED and not Payment.objects.exists() and not mail.outbox


def test_admin_add_page_goes_through_the_service(client_for, sales, customer):
    full = factories.ClassGradeFactory(capacity=1)
    factories.StudentFactory().classes.add(full)
    client = client_for(sales)
    refused = client.post(reverse("admin:crm_enrollment_add"), {"customer": customer.pk, "class_grade": full.pk})
    assert refused.status_code == 200 and "full" in refused.content.decode()
    other = factories.ClassGradeFactory()
    client.post(reverse("admin:crm_enrollment_add"), {"customer": customer.pk, "class_grade": other.pk})
    enrollment = Enrollment.objects.get()
    assert enrollment.consultant == sales and enrollment.history.get().history_user == sales


def test_a_mail_server_that_is_down_neither_blocks_the_desk_nor_is_forgotten(
    client_for, sales, customer, settings, caplog, django_capture_on_commit_callbacks
):
    """The send is queued: the desk says so at once; the task tries again, then logs the address it gave up on."""
    settings.EMAIL_BACKEND = "tests.email_backends.DownEmailBackend"
    enrollment = enrollments.enrollment_start(customer=customer, class_grade=factories.ClassGradeFactory(), by=sales)
    with caplog.at_level(logging.ERROR, logger="crm.emails"), django_capture_on_commit_callbacks(execute=True):
        response = client_for(sales).post(url("send_link", enrollment.pk), follow=True)
    assert response.status_code == 200 and "is queued for the student" in response.content.decode()
    assert Enrollment.objects.get(pk=enrollment.pk).status == Status.LINK_SENT and not mail.outbox
    (failure,) = [r for r in caplog.records if r.name == "crm.emails"]
    tries = settings.EMAIL_MAX_RETRIES + 1
    assert customer.email in failure.getMessage() and f"after {tries} tries" in failure.getMessage()


def test_approval_stands_when_the_welcome_email_fails(
    client_for, sales, submitted, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.email_backends.DownEmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(sales).post(url("approve", submitted.pk), {"amount": "9800.00", "method": "cash"})
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == Status.APPROVED and Payment.objects.count() == 1
