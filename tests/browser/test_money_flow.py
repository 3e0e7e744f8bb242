"""Money in Chromium: the demo finance login approves the refund waiting on its list (the `approve` action), then
prints the payment's receipt: a one-page PDF whose text names the student and the amount, shown by the browser."""

import io

from pypdf import PdfReader

from crm.models import Payment, Refund
from tests.browser.conftest import login


def test_finance_approves_a_refund_and_prints_a_receipt(page, screenshot, demo_data):
    finance = next(u for u in demo_data["users"] if u["role"] == "finance")
    refund = Refund.objects.get(status=Refund.Status.REQUESTED)
    login(page, finance["username"], finance["password"])
    assert page.locator("#overdue-installments").is_visible()  # the demo plan has an overdue installment
    screenshot(page, "money-1-finance-dashboard")

    page.goto("/admin/crm/refund/")
    page.check(f"#result_list input[name=_selected_action][value='{refund.pk}']")
    page.select_option("select[name=action]", "approve")
    page.click("#changelist-form button[name=index], #changelist-form [type=submit][name=index]")
    page.wait_for_load_state("networkidle")
    assert "1 refund approved." in page.locator(".alert-success, .messagelist").first.inner_text()
    refund.refresh_from_db()
    assert refund.status == Refund.Status.APPROVED and refund.decided_by.username == finance["username"]
    screenshot(page, "money-2-refund-approved")

    payment = Payment.objects.get(enrollment=refund.enrollment)
    page.goto("/admin/crm/payment/")
    link = page.locator(f"#result_list a[href='/admin/crm/payment/{payment.pk}/receipt/']")
    assert link.count() == 1
    receipt = page.request.get(link.get_attribute("href"))  # the browser's own session
    assert receipt.status == 200 and receipt.headers["content-type"] == "application/pdf"
    pdf = PdfReader(io.BytesIO(receipt.body()))
    assert len(pdf.pages) == 1
    text = pdf.pages[0].extract_text()
    assert payment.customer.name in text and f"{payment.amount:,.2f}" in text

    page.goto(link.get_attribute("href"))  # Chromium's PDF viewer draws page 1 (test-artifacts/money-3-receipt.png)
    page.wait_for_timeout(1500)
    screenshot(page, "money-3-receipt")
