"""Issue 18's points 1, 2, 3, 5, 9 and 10 in Chromium, in Simplified Chinese, on a desktop and a phone: the export of
a filtered list read back from the downloaded file, reassigning from a filtered list, the follow-up's local date, the
top bar's search by role, and the admin frame (sidebar name, footer, history heading, money)."""

import csv
import datetime
import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from crm.models import Customer, FollowUp, Payment
from tests.browser.conftest import ARTIFACTS, login

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
SIDEBAR_TOP = {"x": 0, "y": 0, "width": 260, "height": 160}

# Contrast ratio (WCAG 2) of an element's text, its opacity applied, against the first opaque background behind it.
CONTRAST = """(element) => {
  const rgb = (css) => css.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const luminance = (css) => { const [r, g, b] = rgb(css).map(channel); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const opaque = (css) => !/^rgba\\(.*, 0\\)$/.test(css) && css !== "transparent";
  let behind = element;
  while (behind && !opaque(getComputedStyle(behind).backgroundColor)) behind = behind.parentElement;
  const alpha = Number(getComputedStyle(element).opacity);  // dimmed text blends into what is behind it
  const back = rgb(getComputedStyle(behind).backgroundColor);
  const text = rgb(getComputedStyle(element).color).map((c, i) => alpha * c + (1 - alpha) * back[i]);
  const [a, b] = [luminance(`rgb(${text.join(",")})`), luminance(`rgb(${back.join(",")})`)];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


@pytest.fixture
def open_page(chromium, live_server):
    """Pages in Simplified Chinese (the browser asks for zh-CN), at a viewport; no script may be blocked or fail."""
    contexts, problems = [], []

    def open_at(viewport: str):
        context = chromium.new_context(
            base_url=live_server.url, viewport=VIEWPORTS[viewport], locale="zh-CN", accept_downloads=True
        )
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


def users(demo_data) -> dict:
    """The demo's logins by username (admin, manager, sales, sales2, teacher, student)."""
    return {user["username"]: user for user in demo_data["users"]}


def sign_in(page, user):
    login(page, user["username"], user["password"])


def shown_names(page) -> list[str]:
    return [
        name.strip()
        for name in page.locator("#result_list tbody td.field-name, #result_list tbody th.field-name").all_inner_texts()
    ]


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_export_downloads_exactly_the_filtered_list(open_page, screenshot, demo_data, viewport):
    page = open_page(viewport)
    sign_in(page, users(demo_data)["manager"])
    page.goto("/admin/crm/customer/?status__exact=following&o=1")
    names = shown_names(page)
    assert 0 < len(names) < Customer.objects.count()
    screenshot(page, f"export-1-filtered-list-{viewport}")

    page.click("a.export_link")
    assert "status__exact=following" in page.url
    assert page.locator("#id_format").input_value() == "0"  # CSV for Excel, chosen already
    screenshot(page, f"export-2-export-page-{viewport}")
    with page.expect_download() as download_info:
        page.click("#export-form button[type=submit]")
    download = download_info.value
    assert download.suggested_filename == f"Customer-{timezone.localdate():%Y-%m-%d}.csv"
    content = open(download.path(), "rb").read()
    assert content.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    header, *rows = csv.reader(io.StringIO(content.decode("utf-8-sig")))
    assert header[:3] == ["姓名", "电话", "QQ"]
    assert [row[0] for row in rows] == names
    assert all(re.fullmatch(r"1\d\d \d{4} \d{4}", row[1]) for row in rows), [row[1] for row in rows]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", row[-1]) for row in rows)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_reassign_from_a_list_filtered_by_the_old_owner(open_page, screenshot, demo_data, viewport):
    page = open_page(viewport)
    sign_in(page, users(demo_data)["manager"])
    seller = get_user_model().objects.get(username="sales2")
    page.goto(f"/admin/crm/customer/?consultant__id__exact={seller.pk}")
    page.locator("#result_list tbody input.action-select").nth(0).check()
    page.locator("#result_list tbody input.action-select").nth(1).check()
    page.select_option("select[name=action]", "reassign")
    page.click("button[name=index]")

    options = page.locator("select[name=user] option").all_inner_texts()
    assert any(re.fullmatch(r"Sam Sales ?[(（].*\d+.*[)）]", option) for option in options), options
    page.select_option("select[name=user]", label=next(o for o in options if o.startswith("Sam Sales")))
    screenshot(page, f"reassign-1-picker-{viewport}")
    page.click("button[type=submit].btn-primary")
    message = page.locator(".alert-success").inner_text()
    assert "2" in message and "Sam Sales" in message, message
    screenshot(page, f"reassign-2-done-{viewport}")


def test_a_follow_up_made_in_the_small_hours_is_dated_by_the_school(open_page, screenshot, demo_data):
    follow_up = FollowUp.objects.filter(customer__consultant__username="sales").first()
    small_hours = datetime.datetime(2026, 11, 25, 18, 44, tzinfo=datetime.UTC)  # 02:44 on the 26th in Shanghai
    FollowUp.objects.filter(pk=follow_up.pk).update(created_at=small_hours)
    for viewport in VIEWPORTS:
        page = open_page(viewport)
        sign_in(page, users(demo_data)["sales"])
        page.goto(f"/admin/crm/followup/{follow_up.pk}/change/")
        assert "2026-11-26" in page.locator(".breadcrumb").inner_text()
        screenshot(page, f"time-zone-follow-up-{viewport}")


@pytest.mark.parametrize(
    "username, query, group", [("teacher", "Stella", "students"), ("sales", "138 0013 8000", "customers")]
)
def test_top_bar_search_opens_for_every_role(open_page, screenshot, demo_data, username, query, group):
    """The top bar's one search (issue 18, point 11, which replaced point 9's per-model box): never a 403."""
    for viewport in VIEWPORTS:
        page = open_page(viewport)
        sign_in(page, users(demo_data)[username])
        search = page.locator("#jazzy-navbar input[name=q]")
        assert search.count() == 1
        screenshot(page, f"top-bar-{username}-{viewport}")
        search.fill(query)
        search.press("Enter")
        page.wait_for_load_state("networkidle")
        assert page.locator(f"#results-{group}").is_visible()
        screenshot(page, f"top-bar-{username}-results-{viewport}")


def test_admin_frame_is_legible_and_money_is_grouped(open_page, screenshot, demo_data):
    customer = Customer.objects.filter(consultant__username="sales").first()
    Payment.objects.update(paid_at=timezone.now())  # the demo's payment counts as this month's
    for viewport, username in [("desktop", "sales"), ("phone", "sales"), ("desktop", "admin")]:
        page = open_page(viewport)
        sign_in(page, users(demo_data)[username])
        if viewport == "phone":
            page.click("[data-lte-toggle=sidebar]")  # the sidebar is folded away on a phone
            page.wait_for_timeout(400)
        # The name is plain text for most people (it was dark grey on the dark sidebar), a link for admins.
        name = page.locator("#jazzy-sidebar .user-panel .info a, #jazzy-sidebar .user-panel .info span").first
        assert name.is_visible()
        assert name.evaluate(CONTRAST) >= 4.5  # WCAG AA for text
        page.screenshot(path=str(ARTIFACTS / f"frame-0-sidebar-{username}-{viewport}.png"), clip=SIDEBAR_TOP)
        if username != "sales":
            continue
        assert "Jazzmin" not in page.locator("footer").inner_text()
        assert re.search(r"¥\d{1,3}(,\d{3})+\.\d\d", page.locator("#paid-this-month").inner_text())
        screenshot(page, f"frame-1-dashboard-{viewport}")

        page.goto("/admin/crm/payment/")
        assert re.search(r"¥\d{1,3}(,\d{3})+\.\d\d", page.locator("#result_list td.field-amount").first.inner_text())
        screenshot(page, f"frame-2-payments-{viewport}")

        page.goto(f"/admin/crm/customer/{customer.pk}/history/")
        assert customer.name in page.locator("h3").first.inner_text()
        screenshot(page, f"frame-3-history-{viewport}")
