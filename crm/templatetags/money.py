"""{{ amount|money }}: an amount as crm.money_format writes it (¥29,800.00)."""

from django import template

from crm.money_format import format_money

register = template.Library()
register.filter("money", format_money)
