"""Teaching in Chromium: a teacher adds the next lesson with homework, the student hands it in through the
portal, the teacher grades it in the editable list, and the student sees the score."""

import re

from crm.models import CourseRecord, StudyRecord
from tests import files
from tests.browser.conftest import login


def test_lesson_homework_grade_round_trip(chromium, live_server, page, screenshot, demo_data, tmp_path, settings):
    settings.PUBLIC_RATE_LIMIT_PER_MINUTE = 1000
    users = {u["role"]: u for u in demo_data["users"]}

    # The teacher adds the next lesson of their class, with homework.
    login(page, users["teacher"]["username"], users["teacher"]["password"])
    page.goto("/admin/crm/classgrade/")
    page.click("a.add-next-lesson >> nth=0")
    assert page.input_value("#id_day_num") == "4"  # the demo class has lessons 1 to 3
    page.fill("#id_title", "Views and templates")
    page.fill("#id_outline", "Function views, class-based views, the template language.")
    page.click("a.nav-link:has-text('Homework')")
    page.check("#id_has_homework")
    page.fill("#id_homework_title", "A blog front page")
    page.fill("#id_homework_brief", "List the posts with their authors.")
    page.fill("#id_homework_deadline_0", "2099-12-31")
    page.fill("#id_homework_deadline_1", "23:00:00")
    screenshot(page, "teaching-1-new-lesson")
    page.click("input[name=_save]")
    lesson = CourseRecord.objects.get(title="Views and templates")
    record = StudyRecord.objects.get(course_record=lesson)

    # The student hands the homework in through the portal, on a phone.
    student = chromium.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    student_page = student.new_page()
    student_page.goto("/portal/login/")
    student_page.fill("#id_username", users["student"]["username"])
    student_page.fill("#id_password", users["student"]["password"])
    student_page.click("button:has-text('Log in')")
    student_page.wait_for_url(re.compile(r".*/portal/$"))
    screenshot(student_page, "teaching-2-portal-home")
    student_page.click("#my-classes a >> nth=0")
    homework = tmp_path / "front-page.pdf"
    homework.write_bytes(files.PDF)
    lesson_card = student_page.locator("#lesson-4")
    lesson_card.locator("input[name=homework]").set_input_files(str(homework))
    lesson_card.locator("button:has-text('Hand in my homework')").click()
    assert "front-page.pdf" in student_page.locator("#lesson-4 .homework-status").inner_text()
    screenshot(student_page, "teaching-3-homework-handed-in")

    # The teacher grades it in the list of the lesson's records.
    page.goto(f"/admin/crm/studyrecord/?course_record__id__exact={lesson.pk}&graded=no")
    assert page.locator("#result_list a:has-text('front-page.pdf')").count() == 1
    page.select_option("select[name='form-0-score']", "A")
    screenshot(page, "teaching-4-grading")
    page.click("input[name=_save]")
    page.wait_for_load_state("networkidle")
    record.refresh_from_db()
    assert record.score == "A"

    # The student sees the score; the homework can no longer be replaced.
    student_page.reload()
    assert student_page.locator("#lesson-4 .score").inner_text() == "A"
    assert student_page.locator("#lesson-4 input[name=homework]").count() == 0
    screenshot(student_page, "teaching-5-score")
    student.close()
