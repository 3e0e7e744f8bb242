"""Each demo role logs in through the real login page and sees its own menu and customer list."""

import pytest

from tests.browser.conftest import login

# role -> (menu entries it must show, entries it must not show, opens the customer list?)
EXPECTED = {
    "sales": ({"Customers", "Follow-ups", "Enrollments", "Payments"}, {"Classes", "Lessons", "Users"}, True),
    "sales_manager": ({"Customers", "Follow-ups", "Enrollments", "Payments"}, {"Lessons", "Users"}, True),
    "teacher": ({"Classes", "Lessons", "Study records"}, {"Customers", "Payments", "Users"}, False),
    "school_admin": ({"Customers", "Classes", "Lessons", "Campuses", "Users", "Groups"}, set(), True),
}


@pytest.mark.parametrize("role", EXPECTED)
def test_role_logs_in_and_sees_its_menu(page, screenshot, demo_data, role):
    user = next(u for u in demo_data["users"] if u["role"] == role)
    login(page, user["username"], user["password"])
    assert page.locator("#crm-dashboard").is_visible()
    menu = {text.strip() for text in page.locator("#jazzy-navigation .nav-item p").all_inner_texts()}
    shown, hidden, opens_customers = EXPECTED[role]
    assert shown <= menu, menu
    assert not (hidden & menu), menu
    if opens_customers:  # the sales side's figures are drawn as charts, over tables that hold the same numbers
        assert page.locator("canvas[data-chart]").count() >= 3
        assert page.evaluate("Object.keys(window.Chart.instances).length") >= 3
        assert page.locator("#table-funnel td").count() >= 8
    screenshot(page, f"{role}-dashboard")

    response = page.goto("/admin/crm/customer/")
    if opens_customers:
        assert response.status == 200
        assert page.locator("#result_list").is_visible()
    else:
        assert response.status == 403
    screenshot(page, f"{role}-customers")


def test_student_is_refused_the_admin(page, demo_data):
    user = next(u for u in demo_data["users"] if u["role"] == "student")
    login(page, user["username"], user["password"])
    assert page.locator("#crm-dashboard").count() == 0
    assert "/admin/login/" in page.url
