"""Amounts as people read them: the currency symbol and the active language's number format (¥19,800.00)."""

from decimal import Decimal

from django.conf import settings
from django.utils.formats import number_format


def format_money(amount) -> str:
    if amount is None:
        return "—"
    amount = Decimal(amount)
    figure = number_format(abs(amount), decimal_pos=2, use_l10n=True, force_grouping=True)
    return f"{'-' if amount < 0 else ''}{settings.CURRENCY_SYMBOL}{figure}"
