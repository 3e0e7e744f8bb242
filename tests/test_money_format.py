"""Money reads ¥29,800.00 in every language the school uses, wherever it is shown."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from crm.money_format import format_money
from tests import factories

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize(
    "amount, text",
    [
        (Decimal("29800"), "¥29,800.00"),
        (Decimal("1234567.5"), "¥1,234,567.50"),
        (Decimal("0"), "¥0.00"),
        (Decimal("-100.00"), "-¥100.00"),
        (None, ""),
    ],
)
def test_format_money(language, amount, text):
    with translation.override(language):
        assert format_money(amount) == text


@pytest.mark.django_db
def test_payment_list_course_list_and_dashboard_show_money(client, school_admin):
    factories.PaymentFactory(amount=Decimal("29800.00"), course__price=Decimal("19800.00"))
    client.force_login(school_admin)
    for url, amount in [
        (reverse("admin:crm_payment_changelist"), "¥29,800.00"),
        (reverse("admin:crm_course_changelist"), "¥19,800.00"),
        (reverse("admin:index"), "¥29,800.00"),  # paid this month, and the payments table
    ]:
        page = client.get(url, **ZH).content.decode()
        assert amount in page, url
        assert "29800.00" not in page, url


@pytest.mark.django_db
def test_a_payment_is_titled_with_its_amount_as_money():
    payment = factories.PaymentFactory(amount=Decimal("29800.00"), customer__name="Wang Fang")
    with translation.override("en"):
        assert str(payment) == "¥29,800.00 from Wang Fang"


@pytest.mark.django_db
def test_dashboard_csv_keeps_plain_numbers_for_spreadsheets(client, school_admin):
    factories.PaymentFactory(amount=Decimal("29800.00"))
    client.force_login(school_admin)
    csv = client.get(reverse("admin:dashboard_export", args=["payments"])).content.decode("utf-8-sig")
    assert re.search(r",29800(\.00)?\r\n", csv) and "¥" not in csv
