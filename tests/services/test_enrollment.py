"""The enrollment flow's services: each step, and each refusal leaving the database as it was."""

import re
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core import mail, signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from crm import links, roles
from crm.models import Customer, Enrollment, EnrollmentDocument, Payment, Student
from crm.services import enrollment as enrollments
from tests import factories, files

pytestmark = pytest.mark.django_db
Status = Enrollment.Status


@pytest.fixture
def enrollment(sales):
    customer = factories.CustomerFactory(consultant=sales, name="Wang Fang", email="wang@example.com")
    class_grade = factories.ClassGradeFactory(capacity=2)
    return enrollments.enrollment_start(customer=customer, class_grade=class_grade, by=sales)


def submit(enrollment, **overrides):
    shown = enrollments.contract_digest(enrollment)
    kwargs = {"enrollment": enrollment, "data": factories.student_data(), "agreed": True, "shown_digest": shown}
    return enrollments.enrollment_submit(**{**kwargs, **overrides})


def submitted(enrollment):
    enrollments.documents_add(enrollment=enrollment, uploads=[files.png()])
    return submit(enrollment)


def approve(enrollment, by, **overrides):
    kwargs = {
        "enrollment": enrollment,
        "by": by,
        "amount": Decimal("9800.00"),
        "method": "alipay",
        "set_password_url": lambda user: f"https://school.example{enrollments.set_password_path(user)}",
        **overrides,
    }
    return enrollments.enrollment_approve(**kwargs)


# --- start and link


def test_start_creates_once_and_reuses(enrollment, sales):
    again = enrollments.enrollment_start(customer=enrollment.customer, class_grade=enrollment.class_grade, by=sales)
    assert again.pk == enrollment.pk
    assert enrollment.consultant == sales
    assert enrollment.status == Status.LINK_SENT
    assert enrollment.history.get().history_user == sales


def test_start_refuses_another_salespersons_customer(other_sales):
    customer = factories.CustomerFactory()
    with pytest.raises(PermissionDenied):
        enrollments.enrollment_start(customer=customer, class_grade=factories.ClassGradeFactory(), by=other_sales)
    assert not Enrollment.objects.exists()


def test_start_refuses_a_full_class(sales):
    full = factories.ClassGradeFactory(capacity=1)
    factories.StudentFactory().classes.add(full)
    with pytest.raises(ValidationError, match="full"):
        enrollments.enrollment_start(customer=factories.CustomerFactory(consultant=sales), class_grade=full, by=sales)
    assert not Enrollment.objects.exists()


def test_link_names_the_random_id_never_the_sequential_one(enrollment):
    token = links.link_token(enrollment)
    payload = signing.loads(token, salt=links.SALT)
    assert payload == {"e": enrollment.public_id.hex, "v": 1}
    assert enrollment.get_public_url().startswith("/enroll/") and token.count(":") == 2  # payload:time:signature
    assert links.enrollment_for_token(token, Enrollment.objects) == enrollment


def test_expired_link_is_gone(enrollment, settings, monkeypatch):
    token = links.link_token(enrollment)
    later = time.time() + (settings.ENROLLMENT_LINK_MAX_AGE_DAYS * 86400 + 60)
    monkeypatch.setattr(signing.time, "time", lambda: later)
    with pytest.raises(links.LinkError) as error:
        links.enrollment_for_token(token, Enrollment.objects)
    assert error.value.gone and error.value.message == links.LINK_EXPIRED


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # signature changed
        lambda token: "x" + token,  # payload changed
        lambda token: token.split(":")[0],  # cut short when copied
        lambda token: signing.dumps({"e": "0" * 32, "v": 1}, salt="another.purpose"),  # another purpose's salt
    ],
)
def test_tampered_link_is_invalid(enrollment, tamper):
    with pytest.raises(links.LinkError) as error:
        links.enrollment_for_token(tamper(links.link_token(enrollment)), Enrollment.objects)
    assert not error.value.gone


def test_link_of_a_deleted_enrollment_is_invalid(enrollment):
    token = links.link_token(enrollment)
    enrollment.delete()
    with pytest.raises(links.LinkError) as error:
        links.enrollment_for_token(token, Enrollment.objects)
    assert not error.value.gone


def test_fresh_link_voids_the_old_one(enrollment, sales):
    old = links.link_token(enrollment)
    enrollment = enrollments.link_renew(enrollment=enrollment, by=sales)
    with pytest.raises(links.LinkError) as error:
        links.enrollment_for_token(old, Enrollment.objects)
    assert error.value.message == links.LINK_REPLACED and error.value.gone
    assert links.enrollment_for_token(links.link_token(enrollment), Enrollment.objects) == enrollment


def test_only_the_owner_renews_or_sends(enrollment, other_sales):
    with pytest.raises(PermissionDenied):
        enrollments.link_renew(enrollment=enrollment, by=other_sales)
    with pytest.raises(PermissionDenied):
        enrollments.link_send(enrollment=enrollment, link_url="https://x", by=other_sales)


def test_send_link_emails_the_customer(enrollment, sales, settings, django_capture_on_commit_callbacks):
    settings.SCHOOL_NAME = "Bright Future IT"
    with django_capture_on_commit_callbacks(execute=True):  # queued for after the commit (crm.emails)
        enrollments.link_send(enrollment=enrollment, link_url="https://school.example/enroll/abc/", by=sales)
    (message,) = mail.outbox
    assert message.to == ["wang@example.com"] and "Bright Future IT" in message.subject
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html" and 'href="https://school.example/enroll/abc/"' in html
    for text in (message.body, html):
        assert "https://school.example/enroll/abc/" in text and "Wang Fang" in text and "Bright Future IT" in text


def test_the_link_email_is_in_the_language_staff_work_in(enrollment, sales, django_capture_on_commit_callbacks):
    with translation.override("zh-hans"), django_capture_on_commit_callbacks(execute=True):
        enrollments.link_send(enrollment=enrollment, link_url="https://school.example/enroll/abc/", by=sales)
    (message,) = mail.outbox
    ((html, _),) = message.alternatives
    assert "报名表" in message.subject and "您好" in message.body
    assert 'lang="zh-hans"' in html and "您好" in html


def test_send_link_without_email_says_so(enrollment, sales):
    Customer.objects.filter(pk=enrollment.customer_id).update(email="")
    enrollment.customer.refresh_from_db()
    with pytest.raises(ValidationError, match="no email"):
        enrollments.link_send(enrollment=enrollment, link_url="https://x", by=sales)


# --- documents


def test_documents_are_stored_privately_under_random_names(enrollment, private_media):
    (document,) = enrollments.documents_add(enrollment=enrollment, uploads=[files.png("../../etc/我的身份证.png")])
    assert document.original_name == "我的身份证.png"
    assert document.content_type == "image/png"
    stored = Path(document.file.path)
    assert stored.is_relative_to(private_media) and stored.exists()
    assert "身份证" not in stored.name and ".." not in document.file.name


def test_a_refused_file_stores_none_of_the_batch(enrollment, private_media):
    with pytest.raises(ValidationError):
        enrollments.documents_add(
            enrollment=enrollment, uploads=[files.png(), files.upload("virus.jpg", b"MZ\x90\x00" + b"\0" * 100)]
        )
    assert not EnrollmentDocument.objects.exists()
    assert not any(p.is_file() for p in Path(private_media).rglob("*"))


def test_at_most_two_documents(enrollment):
    enrollments.documents_add(enrollment=enrollment, uploads=[files.png(), files.png("back.png")])
    with pytest.raises(ValidationError, match="At most 2"):
        enrollments.documents_add(enrollment=enrollment, uploads=[files.png("third.png")])
    assert enrollment.documents.count() == 2


def test_remove_a_document_before_submitting(enrollment, django_capture_on_commit_callbacks):
    (document,) = enrollments.documents_add(enrollment=enrollment, uploads=[files.png()])
    path = Path(document.file.path)
    with django_capture_on_commit_callbacks(execute=True):
        enrollments.document_remove(enrollment=enrollment, document_id=document.public_id)
    assert not enrollment.documents.exists()
    assert not path.exists()


# --- submit


def test_submit_records_the_data_and_the_contract_as_shown(enrollment):
    enrollments.documents_add(enrollment=enrollment, uploads=[files.png()])
    shown = enrollments.contract_text(enrollment)
    result = submit(enrollment, data=factories.student_data(name="王芳 Wang Fang"))
    assert result.status == Status.SUBMITTED
    # The contract as shown, with the name the student gave (the lead's name may have been a nickname).
    assert result.contract_text == shown.replace("Wang Fang", "王芳 Wang Fang")
    assert result.contract_agreed and result.contract_agreed_at and result.submitted_at
    assert result.id_number == "11010519491231002X"
    result.customer.refresh_from_db()
    assert result.customer.phone == "+8613900139000"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"agreed": False}, "agree"),
        ({"shown_digest": "not what was shown"}, "agree"),
    ],
)
def test_submit_refusals_change_nothing(enrollment, overrides, field):
    enrollments.documents_add(enrollment=enrollment, uploads=[files.png()])
    with pytest.raises(ValidationError) as error:
        submit(enrollment, **overrides)
    assert field in error.value.error_dict
    enrollment.refresh_from_db()
    assert enrollment.status == Status.LINK_SENT and not enrollment.contract_agreed


def test_submit_needs_a_document(enrollment):
    with pytest.raises(ValidationError) as error:
        submit(enrollment)
    assert error.value.error_dict["documents"][0].message == enrollments.NEEDS_DOCUMENT


def test_submit_refuses_a_phone_of_another_customer(enrollment):
    factories.CustomerFactory(phone="+8613900139000")
    enrollments.documents_add(enrollment=enrollment, uploads=[files.png()])
    with pytest.raises(ValidationError) as error:
        submit(enrollment)
    assert "phone" in error.value.error_dict


def test_second_submit_is_refused_and_the_first_stays(enrollment):
    submitted(enrollment)
    with pytest.raises(ValidationError) as error:
        submit(enrollment, data=factories.student_data(address="changed"))
    assert error.value.code == "not_open"
    enrollment.refresh_from_db()
    assert enrollment.address == "1 Changan Ave, Beijing"
    with pytest.raises(ValidationError):
        enrollments.documents_add(enrollment=enrollment, uploads=[files.png("late.png")])


# --- audit


def test_approve_does_every_step_once(enrollment, sales, django_capture_on_commit_callbacks):
    submitted(enrollment)
    with django_capture_on_commit_callbacks(execute=True):
        payment = approve(enrollment, sales)

    enrollment.refresh_from_db()
    assert enrollment.status == Status.APPROVED and enrollment.approved_by == sales and enrollment.contract_approved
    assert payment.amount == Decimal("9800.00") and payment.enrollment == enrollment and payment.consultant == sales
    student = Student.objects.get(customer=enrollment.customer)
    assert list(student.classes.all()) == [enrollment.class_grade]
    assert student.user.username == "+8613900139000"
    assert student.user.groups.filter(name=roles.STUDENT).exists()
    assert not student.user.has_usable_password() and not student.user.is_staff
    assert Customer.objects.get(pk=enrollment.customer_id).status == Customer.Status.ENROLLED
    (message,) = mail.outbox
    assert message.to == ["wang@example.com"] and "/portal/password/set/" in message.body
    assert enrollment.history.first().history_user == sales
    assert payment.history.get().history_user == sales
    assert enrollment.customer.history.first().history_user == sales

    with pytest.raises(ValidationError, match="approved"):
        approve(enrollment, sales)
    assert Payment.objects.count() == 1


def test_the_welcome_email_is_in_the_language_of_the_approval(
    enrollment, sales, settings, django_capture_on_commit_callbacks
):
    settings.SCHOOL_NAME = "Bright Future IT"
    submitted(enrollment)
    with django_capture_on_commit_callbacks() as callbacks, translation.override("zh-hans"):
        approve(enrollment, sales)
    for callback in callbacks:  # sent after the commit, when the approval's language may no longer be active
        callback()
    (message,) = mail.outbox
    ((html, mimetype),) = message.alternatives
    assert message.to == ["wang@example.com"] and mimetype == "text/html"
    assert "欢迎" in message.subject and "Bright Future IT" in message.subject
    link = re.search(r"https://school\.example/portal/password/set/\S+/", message.body).group()
    for text in (message.body, html):
        assert link in text and "您好" in text and "Bright Future IT" in text and "+8613900139000" in text


def test_approve_refused_for_another_salesperson(enrollment, other_sales):
    submitted(enrollment)
    with pytest.raises(PermissionDenied):
        approve(enrollment, other_sales)
    assert not Payment.objects.exists() and not Student.objects.exists()


def test_approve_refused_before_submission(enrollment, sales):
    with pytest.raises(ValidationError, match="submitted"):
        approve(enrollment, sales)


def test_approve_refused_when_the_class_filled_up_meanwhile(enrollment, sales):
    submitted(enrollment)
    for _ in range(2):
        factories.StudentFactory().classes.add(enrollment.class_grade)
    with pytest.raises(ValidationError, match="full"):
        approve(enrollment, sales)
    assert not Payment.objects.exists()
    enrollment.refresh_from_db()
    assert enrollment.status == Status.SUBMITTED


def test_approve_reuses_an_existing_login(enrollment, sales):
    submitted(enrollment)
    existing = factories.UserFactory(username="+8613900139000", is_staff=False)
    approve(enrollment, sales)
    assert Student.objects.get().user == existing
    assert get_user_model().objects.filter(username="+8613900139000").count() == 1


def test_reject_needs_a_reason_then_reopen_lets_the_student_correct(enrollment, sales):
    submitted(enrollment)
    with pytest.raises(ValidationError):
        enrollments.enrollment_reject(enrollment=enrollment, by=sales, reason="  ")
    enrollment.refresh_from_db()
    assert enrollment.status == Status.SUBMITTED

    enrollments.enrollment_reject(enrollment=enrollment, by=sales, reason="The ID photo is blurred.")
    enrollment.refresh_from_db()
    assert enrollment.status == Status.REJECTED and enrollment.reject_reason == "The ID photo is blurred."
    assert not enrollments.is_open(enrollment)

    enrollments.enrollment_reopen(enrollment=enrollment, by=sales)
    enrollment.refresh_from_db()
    assert enrollments.is_open(enrollment) and not enrollment.contract_agreed
    assert submit(enrollment).status == Status.SUBMITTED
    assert enrollment.history.filter(status=Status.REJECTED).exists()


def test_reopen_only_a_rejected_enrollment(enrollment, sales):
    with pytest.raises(ValidationError):
        enrollments.enrollment_reopen(enrollment=enrollment, by=sales)


def test_approve_refuses_a_login_that_belongs_to_someone_else(enrollment, sales):
    submitted(enrollment)
    factories.UserFactory(username="+8613900139000", is_staff=True)  # a colleague named by this phone
    with pytest.raises(ValidationError, match="already belongs to another person"):
        approve(enrollment, sales)
    assert not Payment.objects.exists() and not Student.objects.exists()
    enrollment.refresh_from_db()
    assert enrollment.status == Status.SUBMITTED


def test_no_link_is_sent_for_an_approved_enrollment(enrollment, sales):
    submitted(enrollment)
    approve(enrollment, sales)
    with pytest.raises(ValidationError, match="already approved"):
        enrollments.link_send(enrollment=enrollment, link_url="https://x", by=sales)
    assert not mail.outbox
