"""Export of customers (django-import-export), with the same columns the importer reads."""

import tablib
from django.utils.translation import gettext
from import_export import resources
from import_export.fields import Field

from crm.lead_files import COLUMNS
from crm.ledger import cents
from crm.models import BalanceDue, Customer

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value):
    """A cell a spreadsheet would run as a formula is exported as text (a leading apostrophe)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _column(field: str) -> Field:
    header = next(c.english for c in COLUMNS if c.field == field)
    return Field(attribute=field, column_name=header)


class CustomerResource(resources.ModelResource):
    # The importer's columns (crm.lead_files.COLUMNS), so an export can be imported again, then two for reading.
    name = _column("name")
    phone = _column("phone")
    qq = _column("qq")
    wechat = _column("wechat")
    email = _column("email")
    source = _column("source")
    courses = _column("courses")
    branch = _column("branch")
    tags = _column("tags")
    consultant = _column("consultant")
    content = _column("content")
    status = Field(attribute="status", column_name="status")
    created_at = Field(attribute="created_at", column_name="created at")

    class Meta:
        model = Customer
        fields = [c.field for c in COLUMNS] + ["status", "created_at"]
        export_order = fields

    def dehydrate_source(self, customer):
        return customer.get_source_display()

    def dehydrate_status(self, customer):
        return customer.get_status_display()

    def dehydrate_courses(self, customer):
        return ", ".join(course.name for course in customer.consult_courses.all())

    def dehydrate_branch(self, customer):
        return customer.branch.name if customer.branch else ""

    def dehydrate_tags(self, customer):
        return ", ".join(tag.name for tag in customer.tags.all())

    def dehydrate_consultant(self, customer):
        return customer.consultant.username

    def export_field(self, field, instance, **kwargs):
        return escape_formula(super().export_field(field, instance, **kwargs))


class BalanceDueResource(resources.ModelResource):
    """Who owes what, as the finance list shows it (its rows come annotated by crm.ledger.owing)."""

    customer = Field(attribute="customer__name", column_name="customer")
    phone = Field(attribute="customer__phone", column_name="phone")
    class_grade = Field(attribute="class_grade", column_name="class")
    consultant = Field(attribute="consultant__username", column_name="consultant")
    price = Field(attribute="price", column_name="price")
    paid = Field(attribute="paid", column_name="paid")
    refunded = Field(attribute="refunded", column_name="refunded")
    balance_due = Field(attribute="balance_due", column_name="balance due")
    overdue = Field(attribute="overdue_amount", column_name="overdue")
    next_due = Field(attribute="next_due", column_name="next due date")

    class Meta:
        model = BalanceDue
        fields = [
            "customer",
            "phone",
            "class_grade",
            "consultant",
            "price",
            "paid",
            "refunded",
            "balance_due",
            "overdue",
            "next_due",
        ]
        export_order = fields

    AMOUNTS = {"price", "paid", "refunded", "balance_due", "overdue_amount"}

    def dehydrate_class_grade(self, enrollment):
        return str(enrollment.class_grade)

    def export_field(self, field, instance, **kwargs):
        if field.attribute in self.AMOUNTS:  # to the cent, as every page shows them
            return str(cents(getattr(instance, field.attribute)))
        return escape_formula(super().export_field(field, instance, **kwargs))


def finance_report_dataset(rows) -> tablib.Dataset:
    """The finance report's rows (crm.finance_report) as CSV/XLSX write them: months as 2026-11, amounts as
    numbers, the course's total row named "(all teachers)"."""
    data = tablib.Dataset(
        headers=[
            gettext("month"),
            gettext("campus"),
            gettext("course"),
            gettext("teacher"),
            gettext("lessons used"),
            gettext("revenue recognized"),
            gettext("refunds"),
            gettext("deferred revenue"),
        ]
    )
    for row in rows:
        data.append(
            [
                row.month.strftime("%Y-%m"),
                escape_formula(row.campus),
                escape_formula(row.course),
                escape_formula(row.teacher) or gettext("(all teachers)"),
                row.lessons_used,
                row.recognized,
                "" if row.refunds is None else row.refunds,
                "" if row.deferred is None else row.deferred,
            ]
        )
    return data
