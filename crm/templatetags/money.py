from django import template

from crm.currency import format_money

register = template.Library()


@register.filter
def money(amount) -> str:
    """{{ payment.amount|money }}: ¥19,800.00, in the active language's number format."""
    return format_money(amount)
