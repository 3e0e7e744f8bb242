"""Simplified Chinese number formats as Chinese invoices and receipts write amounts: 1,234,567.50."""

DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
