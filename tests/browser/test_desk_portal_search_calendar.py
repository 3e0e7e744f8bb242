"""Issue 18's points 6, 8, 11 and 12 in Chromium, in Simplified Chinese, on a desktop and a phone: the audit desk, the
portal's login by phone and its progress, the one search by role, and the lesson calendars with their .ics feeds."""

import re

import icalendar
import pytest
from django.utils import timezone, translation

from crm.models import ClassGrade, CourseRecord, Customer, Enrollment, Student
from crm.services import enrollment as enrollments
from tests import factories, files
from tests.browser.test_export_and_polish import VIEWPORTS, sign_in, users

STUDENT_PHONE_AS_TYPED = "138 0013 8000"  # the demo student's phone, +8613800138000, as a person types it


@pytest.fixture
def open_page(chromium, live_server):
    """Pages in Simplified Chinese (the browser asks for zh-CN), at a viewport; no script may be blocked or fail."""
    contexts, problems = [], []

    def open_at(viewport: str):
        context = chromium.new_context(base_url=live_server.url, viewport=VIEWPORTS[viewport], locale="zh-CN")
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
        page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        return page

    yield open_at
    for context in contexts:
        context.close()
    assert not problems, "\n".join(problems)


def submitted_enrollment(sales_username: str) -> Enrollment:
    customer = Customer.objects.filter(consultant__username=sales_username, student__isnull=True).first()
    enrollment = enrollments.enrollment_start(
        customer=customer, class_grade=ClassGrade.objects.first(), by=customer.consultant
    )
    enrollments.documents_add(enrollment=enrollment, uploads=[files.png("id-front.png")])
    return factories.submit_enrollment(enrollment, phone=customer.phone, id_type="passport", id_number="E1234567")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_audit_desk_one_screen_and_only_the_decision(open_page, screenshot, demo_data, viewport):
    enrollment = submitted_enrollment("sales")
    page = open_page(viewport)
    sign_in(page, users(demo_data)["sales"])
    page.goto(f"/admin/crm/enrollment/{enrollment.pk}/change/")
    for part in ["#student-data", "#contract-text", "#enrollment-documents img", "#approve-form", "#reject-form"]:
        assert page.locator(part).first.is_visible(), part
    assert page.inner_text("#id-number") == "E1234567"  # the customer's own salesperson sees it in full
    assert page.locator("input[name=_save], input[name=_addanother], input[name=_continue]").count() == 0
    assert page.locator(".nav-tabs").count() == 0
    screenshot(page, f"audit-desk-{viewport}")
    page.click("#confirm-reject")  # no reason: refused on the same screen
    assert page.locator("#reject-form .text-danger").is_visible()
    page.select_option("#id_method", "alipay")
    page.click("#confirm-approve")
    page.wait_for_selector("#enrollment-status")
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.APPROVED
    assert page.locator("#enrollment-payments li").count() == 1 and page.locator("#approve-form").count() == 0
    screenshot(page, f"audit-desk-approved-{viewport}")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_portal_login_by_phone_progress_and_school_name(open_page, screenshot, demo_data, viewport, settings):
    student = Student.objects.get(user__username="student")
    password = users(demo_data)["student"]["password"]
    page = open_page(viewport)
    page.goto("/portal/login/")
    nav = page.inner_text("nav")
    names = set()
    for language in ("en", "zh-hans"):  # the page speaks the browser's language; the name is translated
        with translation.override(language):
            names.add(str(settings.SCHOOL_NAME))
    assert any(name in nav for name in names) and "CRM" not in nav, (names, nav)
    page.fill("#id_username", STUDENT_PHONE_AS_TYPED)
    page.fill("#id_password", "not-the-password")
    page.click("button.btn-primary")
    error = page.inner_text(".alert-danger")
    assert page.inner_text("label[for=id_username]") in error or "phone" in error.lower() or "手机" in error
    screenshot(page, f"portal-login-error-{viewport}")
    page.fill("#id_username", STUDENT_PHONE_AS_TYPED)
    page.fill("#id_password", password)
    page.click("button.btn-primary")
    page.wait_for_url(re.compile(r".*/portal/$"))
    class_grade = student.classes.get()
    held = CourseRecord.objects.filter(class_grade=class_grade, date__lte=timezone.localdate()).count()
    assert page.inner_text("#my-classes .badge") == f"{held} / {class_grade.course.lessons}"
    width = page.locator("#my-classes .progress-bar").evaluate("e => e.style.width")
    assert width == f"{round(100 * held / class_grade.course.lessons)}%"
    screenshot(page, f"portal-home-progress-{viewport}")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_one_search_by_role(open_page, screenshot, demo_data, viewport):
    everyone = users(demo_data)
    # The teacher finds the student of their class; no customers, no 403.
    page = open_page(viewport)
    sign_in(page, everyone["teacher"])
    page.goto("/admin/search/?q=Stella")
    assert page.locator("#results-students a").count() == 1 and page.locator("#results-customers").count() == 0
    screenshot(page, f"search-teacher-{viewport}")
    page.click("#results-students a")
    page.wait_for_load_state("networkidle")
    assert "/admin/crm/student/" in page.url
    # The salesperson finds their own customer by phone as typed; the other salesperson's leads never show.
    page = open_page(viewport)
    sign_in(page, everyone["sales"])
    page.goto(f"/admin/search/?q={STUDENT_PHONE_AS_TYPED}")
    assert "Stella" in page.inner_text("#results-customers")
    screenshot(page, f"search-sales-phone-{viewport}")
    theirs = Customer.objects.filter(consultant__username="sales2").first()
    page.goto(f"/admin/search/?q={theirs.phone}")
    assert page.locator("#no-results").is_visible()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_lesson_calendars_and_feeds(open_page, screenshot, demo_data, viewport):
    everyone = users(demo_data)
    lesson = CourseRecord.objects.order_by("date").first()
    day = lesson.date.isoformat()
    page = open_page(viewport)
    sign_in(page, everyone["teacher"])
    page.goto(f"/admin/crm/courserecord/calendar/?view=month&date={day}")
    assert page.locator(f"td[data-date='{day}'] .crm-calendar-lesson").count() >= 1
    screenshot(page, f"calendar-teacher-month-{viewport}")
    page.goto(f"/admin/crm/courserecord/calendar/?view=week&date={day}&class_grade={lesson.class_grade_id}")
    assert page.locator(".crm-calendar-lesson").count() >= 1
    page.click("#calendar-feed-issue")
    page.wait_for_selector("#calendar-feed-url")
    screenshot(page, f"calendar-teacher-week-{viewport}")
    feed_url = page.input_value("#calendar-feed-url")
    feed = page.request.get(feed_url)
    assert feed.status == 200 and feed.headers["content-type"].startswith("text/calendar")
    assert len(icalendar.Calendar.from_ical(feed.body()).walk("VEVENT")) >= 1
    page.click("#calendar-feed-revoke")
    page.wait_for_load_state("networkidle")
    assert page.request.get(feed_url).status == 404

    student = open_page(viewport)
    student.goto("/portal/login/")
    student.fill("#id_username", "student")
    student.fill("#id_password", everyone["student"]["password"])
    student.click("button.btn-primary")
    student.click("#my-calendar")
    student.goto(f"/portal/calendar/?view=month&date={day}")
    assert student.locator(f"td[data-date='{day}'] .crm-calendar-lesson").count() == 1
    screenshot(student, f"calendar-student-month-{viewport}")
