"""The student's enrollment page: what it shows, what it refuses, and that the server enforces every rule."""

import time

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from crm.models import Enrollment, EnrollmentDocument
from crm.services import enrollment as enrollments
from tests import factories, files

pytestmark = pytest.mark.django_db
Status = Enrollment.Status


@pytest.fixture
def enrollment(sales):
    customer = factories.CustomerFactory(consultant=sales, name="Wang Fang", phone="+8613900139000")
    template = factories.ContractTemplateFactory(content="I, {student_name}, enroll in {course_name} for ¥{price}.")
    class_grade = factories.ClassGradeFactory(contract_template=template, course__name="Python Web")
    return enrollments.enrollment_start(customer=customer, class_grade=class_grade, by=sales)


@pytest.fixture
def link(enrollment):
    return enrollment.get_public_url()


def form_data(client, link, **overrides):
    """The form as the student submits it, with the contract fingerprint the page gave them."""
    digest = client.get(link).context["form"].initial["contract_digest"]
    return factories.enrollment_form_post(digest, **overrides)


def test_page_shows_class_course_price_and_the_filled_contract(client, link, enrollment):
    response = client.get(link)
    assert response.status_code == 200
    text = response.content.decode()
    assert "Python Web" in text and "9,800.00" in text
    assert "I, Wang Fang, enroll in Python Web for ¥9,800.00." in text
    assert f"/{enrollment.pk}/" not in link


def test_no_javascript_submission_with_a_file(client, link, enrollment):
    data = form_data(client, link, documents=files.png())
    response = client.post(link, data)
    assert response.status_code == 302 and response.url.endswith("/thanks/")
    enrollment.refresh_from_db()
    assert enrollment.status == Status.SUBMITTED
    assert enrollment.id_number == "11010519491231002X"
    assert enrollment.birthday.isoformat() == "1949-12-31"  # taken from the ID number
    assert enrollment.emergency_phone == "+86 138 0013 8001"
    assert enrollment.documents.count() == 1

    thanks = client.get(response.url)
    assert "your enrollment is submitted" in thanks.content.decode()
    after = client.get(link)
    assert after.status_code == 200
    assert b'name="submit"' not in after.content  # read-only now
    assert "What you submitted" in after.content.decode()


def test_agreement_and_document_are_enforced_by_the_server(client, link, enrollment):
    response = client.post(link, form_data(client, link, agree=None))
    assert response.status_code == 400
    text = response.content.decode()
    assert str(enrollments.MUST_AGREE).replace("“", "&ldquo;")[:20] in text or "I have read and agree" in text
    assert str(enrollments.NEEDS_DOCUMENT) in text
    enrollment.refresh_from_db()
    assert enrollment.status == Status.LINK_SENT


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id_number", "110105194912310021", "does not match"),
        ("id_number", "11010519491331002X", "not a real date"),
        ("id_number", "12345", "18 characters"),
        ("phone", "12345", "valid phone"),
        ("birthday", "1990-01-01", "does not match the one in the ID"),
        ("name", "", "required"),
    ],
)
def test_field_errors_show_next_to_the_field(client, link, enrollment, field, value, message):
    enrollments.documents_add(enrollment=enrollment, uploads=[files.png()])
    response = client.post(link, form_data(client, link, **{field: value}))
    assert response.status_code == 400
    assert message in str(response.context["form"].errors[field])
    enrollment.refresh_from_db()
    assert enrollment.status == Status.LINK_SENT


def test_passport_numbers_are_not_checked_as_mainland_ids(client, link, enrollment):
    enrollments.documents_add(enrollment=enrollment, uploads=[files.png()])
    response = client.post(link, form_data(client, link, id_type="passport", id_number="E12345678", birthday=""))
    assert response.status_code == 302


def test_a_refused_upload_says_why_and_keeps_what_was_typed(client, link, enrollment):
    data = form_data(client, link, address="Typed address", documents=files.upload("id.jpg", b"MZ" + b"\0" * 99))
    response = client.post(link, data)
    assert response.status_code == 400
    text = response.content.decode()
    assert "Windows program" in text
    assert "Typed address" in text
    assert not EnrollmentDocument.objects.exists()


def test_upload_then_remove_without_javascript(client, link, enrollment):
    response = client.post(link, form_data(client, link, submit=None, upload="1", documents=files.png()))
    assert response.status_code == 200
    document = enrollment.documents.get()
    assert document.original_name in response.content.decode()
    assert client.post(link, {"remove": "../not-an-id"}).status_code == 302  # a forged value removes nothing
    assert enrollment.documents.count() == 1
    response = client.post(link, {"remove": document.public_id.hex})
    assert response.status_code == 302
    assert not enrollment.documents.exists()


def test_dropzone_endpoint_answers_json(client, link, enrollment):
    url = reverse("enrollment_document_upload", args=[link.split("/")[2]])
    ok = client.post(url, {"file": files.png("front.png")})
    assert ok.status_code == 200
    assert ok.json()["documents"][0]["name"] == "front.png"
    refused = client.post(url, {"file": files.upload("x.png", b"<html>hi</html>")})
    assert refused.status_code == 400 and "web page" in refused.json()["error"]
    client.post(url, {"file": files.png("back.png")})
    third = client.post(url, {"file": files.png("third.png")})
    assert third.status_code == 400 and "At most 2" in third.json()["error"]
    assert enrollment.documents.count() == 2


def test_double_submit_leaves_one_submission(client, link, enrollment):
    enrollments.documents_add(enrollment=enrollment, uploads=[files.png()])
    data = form_data(client, link)
    first = client.post(link, data)
    second = client.post(link, {**data, "address": "Second tab"})
    assert first.status_code == 302 and second.status_code == 302
    enrollment.refresh_from_db()
    assert enrollment.address == "1 Changan Ave"
    assert enrollment.history.filter(status=Status.SUBMITTED).count() == 1
    assert "already submitted" in client.get(link).content.decode()


def test_expired_link_gets_a_friendly_gone_page(client, link, settings, monkeypatch):
    later = time.time() + settings.ENROLLMENT_LINK_MAX_AGE_DAYS * 86400 + 60
    monkeypatch.setattr(signing.time, "time", lambda: later)
    response = client.get(link)
    assert response.status_code == 410
    assert "ask your consultant to send you a new enrollment link" in response.content.decode()


def test_tampered_and_replaced_links(client, link, enrollment, sales):
    tampered = client.get(link[:-3] + "xx/")
    assert tampered.status_code == 404 and b"Traceback" not in tampered.content
    assert b"new enrollment link" in tampered.content
    enrollments.link_renew(enrollment=enrollment, by=sales)
    replaced = client.get(link)
    assert replaced.status_code == 410 and b"replaced" in replaced.content
    assert client.post(link, {"submit": "1"}).status_code == 410


def test_rejected_enrollment_shows_the_reason_read_only(client, link, enrollment, sales):
    enrollments.documents_add(enrollment=enrollment, uploads=[files.png()])
    client.post(link, form_data(client, link))
    enrollments.enrollment_reject(enrollment=enrollment, by=sales, reason="Blurred photo of the ID's back.")
    page = client.get(link).content.decode()
    assert "Blurred photo of the ID&#x27;s back." in page and 'name="submit"' not in page


def test_public_posts_need_csrf(link, enrollment):
    client = Client(enforce_csrf_checks=True)
    response = client.post(link, {"submit": "1", "agree": "on"})
    assert response.status_code == 403
    upload = client.post(reverse("enrollment_document_upload", args=[link.split("/")[2]]), {"file": files.png()})
    assert upload.status_code == 403
    assert not EnrollmentDocument.objects.exists()


def test_public_pages_are_rate_limited_per_ip(client, link, settings):
    settings.PUBLIC_RATE_LIMIT_PER_MINUTE = 3
    assert [client.get(link).status_code for _ in range(3)] == [200, 200, 200]
    limited = client.get(link)
    assert limited.status_code == 429 and b"wait a minute" in limited.content
    other_ip = client.get(link, REMOTE_ADDR="10.0.0.2")
    assert other_ip.status_code == 200


def test_student_name_is_escaped(client, sales):
    customer = factories.CustomerFactory(consultant=sales, name="<script>alert(1)</script>")
    enrollment = enrollments.enrollment_start(customer=customer, class_grade=factories.ClassGradeFactory(), by=sales)
    text = client.get(enrollment.get_public_url()).content.decode()
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;" in text


def test_behind_a_proxy_the_limit_counts_the_address_the_proxy_saw(client, link, settings):
    settings.PUBLIC_RATE_LIMIT_PER_MINUTE = 2
    settings.USE_X_FORWARDED_FOR = True
    spoofed = [f"10.9.9.{n}, 203.0.113.7" for n in range(3)]  # a new made-up first address each time
    statuses = [client.get(link, HTTP_X_FORWARDED_FOR=header).status_code for header in spoofed]
    assert statuses == [200, 200, 429]


def test_a_forwarded_hop_that_is_no_address_counts_the_connection(client, link, settings):
    settings.PUBLIC_RATE_LIMIT_PER_MINUTE = 2
    settings.USE_X_FORWARDED_FOR = True  # yet this visitor reached the CRM without the proxy, making up the header
    statuses = [client.get(link, HTTP_X_FORWARDED_FOR=f"not-an-address-{n}").status_code for n in range(3)]
    assert statuses == [200, 200, 429]


def test_an_ipv6_visitor_is_counted_by_its_64_block(client, link, settings):
    settings.PUBLIC_RATE_LIMIT_PER_MINUTE = 1  # one household's /64 holds more addresses than anyone could try
    assert client.get(link, REMOTE_ADDR="2001:db8::1").status_code == 200
    assert client.get(link, REMOTE_ADDR="2001:db8::2").status_code == 429
    assert client.get(link, REMOTE_ADDR="2001:db8:0:1::1").status_code == 200
