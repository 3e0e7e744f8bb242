"""Money as people read it, in one place: ¥29,800.00.

Grouping and decimals follow the reader's language (django.utils.formats); for Chinese that is CLDR's comma every
three digits, as for English (config/formats/zh_Hans corrects Django's Chinese format, which has no grouping).
"""

from decimal import Decimal

from django.conf import settings
from django.utils.formats import number_format


def format_money(amount: Decimal | int | None) -> str:
    """An amount in the school's currency (settings.CURRENCY_SYMBOL) with two decimals, grouped as the reader's
    language groups numbers."""
    if amount is None:
        return ""
    digits = number_format(abs(amount), decimal_pos=2, force_grouping=True)
    symbol = settings.CURRENCY_SYMBOL
    return f"-{symbol}{digits}" if amount < 0 else f"{symbol}{digits}"
