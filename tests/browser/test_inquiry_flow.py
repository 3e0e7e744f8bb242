"""A visitor on a phone finds a course in the catalogue and asks about it; the salesperson whose turn it is signs in
and finds the new lead among today's calls, with its follow-up due today."""

import re

from django.utils import timezone
from django.utils.formats import date_format

from crm.models import Customer
from tests.browser.conftest import login

PHONE = {"width": 390, "height": 844}


def test_a_phone_inquiry_reaches_the_salesperson(chromium, live_server, page, screenshot, demo_data, settings):
    settings.PUBLIC_RATE_LIMIT_PER_MINUTE = 1000
    sales = next(u for u in demo_data["users"] if u["username"] == "sales")  # the demo's web-lead taker

    visitor = chromium.new_context(base_url=live_server.url, viewport=PHONE, is_mobile=True, has_touch=True)
    problems = []
    phone_page = visitor.new_page()
    phone_page.on("pageerror", lambda error: problems.append(str(error)))
    phone_page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)

    # The catalogue fits the phone's width: one column of courses, nothing to scroll sideways.
    phone_page.goto("/courses/?utm_source=wechat&utm_campaign=autumn")
    card = phone_page.locator("article.course", has_text="Python Full Stack")
    assert card.locator(".price").inner_text() == "¥19,800"
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    boxes = [box for box in (c.bounding_box() for c in phone_page.locator("article.course").all()) if box]
    assert len({round(box["x"]) for box in boxes}) == 1 and boxes[0]["width"] > PHONE["width"] * 0.8
    screenshot(phone_page, "inquiry-1-catalogue-phone")

    card.locator("a.ask").click()
    phone_page.wait_for_url(re.compile(r".*/inquiry/\?course=\d+&utm_source=wechat&utm_campaign=autumn$"))
    assert phone_page.locator("#id_course option:checked").inner_text() == "Python Full Stack"
    honeypot = phone_page.locator("#id_website").bounding_box()
    assert honeypot["x"] + honeypot["width"] <= 0  # off the screen: not for people
    phone_page.fill("#id_name", "Zhou Xun")
    phone_page.fill("#id_phone", "135 0013 5000")
    phone_page.select_option("#id_campus", label="Beijing Haidian")
    phone_page.fill("#id_message", "Do you have evening classes?")
    screenshot(phone_page, "inquiry-2-form-phone")
    phone_page.click("#send-inquiry")
    phone_page.wait_for_url(re.compile(r".*/inquiry/thanks/$"))
    assert "we received your question" in phone_page.inner_text("#inquiry-thanks")
    screenshot(phone_page, "inquiry-3-thanks-phone")
    visitor.close()
    assert not problems, problems

    lead = Customer.objects.get(phone="+8613500135000")
    assert (lead.consultant.username, lead.channel) == ("sales", "utm_source=wechat, utm_campaign=autumn")

    # The salesperson signs in: the top bar counts today's calls and lists them, the new lead among them.
    login(page, sales["username"], sales["password"])
    calls = page.locator("#calls-to-make")
    assert int(page.inner_text("#calls-to-make-count")) >= 1
    calls.click()
    page.wait_for_url(re.compile(r".*/admin/crm/followup/\?.*due=now.*"))
    row = page.locator("#result_list tr", has_text="Zhou Xun")
    assert row.count() == 1
    assert date_format(timezone.localdate()) in row.inner_text()
    screenshot(page, "inquiry-4-calls-to-make")

    page.goto(f"/admin/crm/customer/{lead.pk}/change/")
    assert page.input_value("#id_name") == "Zhou Xun"
    page.click("a.nav-link:text-is('Lead')")
    assert page.inner_text(".field-channel .readonly") == "utm_source=wechat, utm_campaign=autumn"
    assert "Inquiry from the website about Python Full Stack." in page.content()
    assert "Do you have evening classes?" in page.content()
    screenshot(page, "inquiry-5-lead")
