"""The whole enrollment in Chromium: a salesperson starts it, the student fills the form and drops their ID into
Dropzone, the salesperson approves with the payment, and the student sets a password and logs in to the portal."""

import base64
import re

from django.core import mail

from crm.models import Customer, Enrollment, Payment, Student
from tests import files
from tests.browser.conftest import login

DROP_FILE = """([element, b64, name]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], name, {type: "image/png"}));
    for (const type of ["dragenter", "dragover", "drop"]) {
        element.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true, cancelable: true}));
    }
}"""


def test_enrollment_from_link_to_portal(chromium, live_server, page, screenshot, demo_data, settings):
    settings.PUBLIC_RATE_LIMIT_PER_MINUTE = 1000
    sales = next(u for u in demo_data["users"] if u["username"] == "sales")
    customer = Customer.objects.filter(consultant__username="sales", student__isnull=True).order_by("pk").first()
    Customer.objects.filter(pk=customer.pk).update(email="new.student@example.com")

    # The salesperson starts the enrollment from the customer's page and copies the link.
    login(page, sales["username"], sales["password"])
    page.goto(f"/admin/crm/customer/{customer.pk}/change/")
    page.click("#start-enrollment-button")
    option = page.locator("select[name=class_grade] option", has_text="Linux Operations")
    page.select_option("select[name=class_grade]", value=option.get_attribute("value"))
    screenshot(page, "enrollment-1-start")
    page.click("#start-enrollment")
    link = page.input_value("#public-link")
    assert "/enroll/" in link and f"/{customer.pk}/" not in link
    screenshot(page, "enrollment-2-link")

    # The student, without any login, opens the link in their own browser.
    student = chromium.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})  # a phone
    student_page = student.new_page()
    student_page.goto(link)
    assert "Linux Operations" in student_page.inner_text("h1")
    assert customer.name in student_page.inner_text("#contract")
    student_page.fill("#id_phone", customer.phone)
    student_page.select_option("#id_id_type", "mainland_id")
    student_page.fill("#id_id_number", "11010519491231002X")
    student_page.fill("#id_address", "Zhongguancun Street 5, Beijing")
    student_page.fill("#id_emergency_contact", "Wang Lei")
    student_page.fill("#id_emergency_phone", "138 0013 8001")
    dropzone = student_page.locator("#dropzone")
    assert dropzone.is_visible() and not student_page.locator("#plain-upload").is_visible()
    png = base64.b64encode(files.png_bytes((600, 400))).decode()
    student_page.evaluate(DROP_FILE, [dropzone.element_handle(), png, "id-front.png"])
    student_page.locator("#documents li", has_text="id-front.png").wait_for()
    student_page.check("#id_agree")
    screenshot(student_page, "enrollment-3-student-form")
    student_page.click("#submit-enrollment")
    student_page.wait_for_url(re.compile(r".*/thanks/$"))
    assert "submitted" in student_page.inner_text("h1")
    screenshot(student_page, "enrollment-4-thanks")

    # The salesperson audits: the document is there; approve with the payment.
    enrollment = Enrollment.objects.get(customer=customer)
    assert enrollment.status == Enrollment.Status.SUBMITTED
    page.goto(f"/admin/crm/enrollment/{enrollment.pk}/change/")
    assert page.locator("#enrollment-documents img").count() == 1
    screenshot(page, "enrollment-5-audit-desk")
    assert page.input_value("#id_amount") == "12800.00"
    page.select_option("#id_method", "alipay")
    screenshot(page, "enrollment-6-approve")
    page.click("#confirm-approve")
    page.wait_for_selector("#enrollment-status")
    assert "approved" in page.inner_text("#enrollment-status").lower()
    screenshot(page, "enrollment-7-approved")

    student_record = Student.objects.get(customer=customer)
    assert student_record.user.username == customer.phone
    assert Payment.objects.get(enrollment=enrollment).method == "alipay"

    # The student sets their password from the email and sees their class in the portal.
    (set_password,) = re.findall(r"http://\S+/portal/password/set/\S+", mail.outbox[-1].body)
    student_page.goto(set_password)
    student_page.fill("#id_new_password1", "a-good-student-pass-2026")
    student_page.fill("#id_new_password2", "a-good-student-pass-2026")
    student_page.click("button")
    student_page.click("text=Log in to the student portal")
    student_page.fill("#id_username", customer.phone)
    student_page.fill("#id_password", "a-good-student-pass-2026")
    student_page.click("button:has-text('Log in')")
    student_page.wait_for_url(re.compile(r".*/portal/$"))
    assert "Linux Operations" in student_page.inner_text("main")
    screenshot(student_page, "enrollment-8-portal")
    student.close()
