"""Exports for people who open them in Excel (django-import-export): what each cell holds, and how files are written.

A resource decides the values: headers are the model's verbose names in the reader's language, times are the
school's clock to the minute, phones read as they are dialled. A format decides the spelling: CSV in UTF-8 with a
byte order mark (or GBK) with formulas defused, or XLSX whose text cells stay text.
"""

import csv
import datetime
import io

import tablib
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export import resources, widgets
from import_export.fields import Field
from import_export.formats.base_formats import CSV, XLSX
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from crm.lead_files import COLUMNS
from crm.ledger import cents
from crm.models import BalanceDue, Customer
from crm.phones import dialable_phone

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MINUTES = "%Y-%m-%d %H:%M"


def escape_formula(value):
    """A CSV cell a spreadsheet would run as a formula is written as text (a leading apostrophe)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


# --- values -----------------------------------------------------------------------------------------------------


class LocalTimeWidget(widgets.Widget):
    """A moment as the school's clock shows it, to the minute (naive: a spreadsheet cell has no time zone)."""

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return None
        return timezone.localtime(value).replace(tzinfo=None, second=0, microsecond=0)


def column(model, name: str, attribute: str | None = None) -> Field:
    """A column headed by the model field's verbose name (translated when the file is written)."""
    model_field = model._meta.get_field(attribute or name)
    widget = LocalTimeWidget() if isinstance(model_field, models.DateTimeField) else None
    return Field(attribute=attribute or name, column_name=model_field.verbose_name, widget=widget)


class CustomerResource(resources.ModelResource):
    # The importer's columns (crm.lead_files.COLUMNS, whose headers include these), so an export can be imported
    # again, then two for reading.
    name = column(Customer, "name")
    phone = column(Customer, "phone")
    qq = column(Customer, "qq")
    wechat = column(Customer, "wechat")
    email = column(Customer, "email")
    source = column(Customer, "source")
    courses = column(Customer, "courses", "consult_courses")
    branch = column(Customer, "branch")
    tags = column(Customer, "tags")
    consultant = column(Customer, "consultant")
    content = column(Customer, "content")
    status = column(Customer, "status")
    created_at = column(Customer, "created_at")

    class Meta:
        model = Customer
        name = _("customers")
        fields = [c.field for c in COLUMNS] + ["status", "created_at"]
        export_order = fields

    def dehydrate_phone(self, customer):
        return dialable_phone(customer.phone)

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
        return customer.consultant.username if customer.consultant else ""


# --- files ------------------------------------------------------------------------------------------------------


class ExcelCSV(CSV):
    """CSV that Excel opens correctly on Chinese Windows: UTF-8 with a byte order mark."""

    label = _("CSV for Excel (UTF-8)")
    charset = "utf-8"
    codec = "utf-8-sig"  # writes the byte order mark

    def export_data(self, dataset, **kwargs) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(dataset.headers)
        writer.writerows([self.cell(value) for value in row] for row in dataset)
        return out.getvalue().encode(self.codec)

    @staticmethod
    def cell(value):
        if isinstance(value, datetime.datetime):
            return value.strftime(MINUTES)
        return "" if value is None else escape_formula(value)

    def get_content_type(self):
        return f"text/csv; charset={self.charset}"


class GBKCSV(ExcelCSV):
    """CSV in GBK, for Excel versions that ignore the byte order mark. Written as GB18030, which spells every GBK
    character the same way and can also spell the rare ones GBK lacks (instead of failing on them)."""

    label = _("CSV for older Excel (GBK)")
    charset = "gbk"
    codec = "gb18030"


class TextXLSX(XLSX):
    """An Excel workbook whose text cells are text (a phone stays as typed; "=…" is never run as a formula) and
    whose times are date cells shown to the minute. Written row by row, so large exports stay small in memory."""

    label = _("Excel workbook (.xlsx)")

    def export_data(self, dataset, **kwargs) -> bytes:
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet()
        sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        sheet.append([self.cell(sheet, header, font=bold) for header in dataset.headers])
        for row in dataset:
            sheet.append([self.cell(sheet, value) for value in row])
        out = io.BytesIO()
        workbook.save(out)
        return out.getvalue()

    @staticmethod
    def cell(sheet, value, font=None):
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            cell.data_type = "s"
        elif isinstance(value, datetime.datetime):
            cell.number_format = "yyyy-mm-dd hh:mm"
        if font:
            cell.font = font
        return cell


EXPORT_FORMATS = [ExcelCSV, GBKCSV, TextXLSX]  # the first is the default choice


# --- money ------------------------------------------------------------------------------------------------------


class BalanceDueResource(resources.ModelResource):
    """Who owes what, as the finance list shows it (its rows come annotated by crm.ledger.owing)."""

    customer = Field(attribute="customer__name", column_name=_("customer"))
    phone = Field(attribute="customer__phone", column_name=_("phone"))
    class_grade = Field(attribute="class_grade", column_name=_("class"))
    consultant = Field(attribute="consultant__username", column_name=_("consultant"))
    price = Field(attribute="price", column_name=_("price"))
    paid = Field(attribute="paid", column_name=_("paid"))
    refunded = Field(attribute="refunded", column_name=_("refunded"))
    balance_due = Field(attribute="balance_due", column_name=_("balance due"))
    overdue = Field(attribute="overdue_amount", column_name=_("overdue"))
    next_due = Field(attribute="next_due", column_name=_("next due date"))

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

    def dehydrate_phone(self, enrollment):
        return dialable_phone(enrollment.customer.phone)

    def export_field(self, field, instance, **kwargs):
        if field.attribute in self.AMOUNTS:  # to the cent, as every page shows them; numbers in a workbook
            return cents(getattr(instance, field.attribute))
        return super().export_field(field, instance, **kwargs)


def finance_report_dataset(rows) -> tablib.Dataset:
    """The finance report's rows (crm.finance_report) for ExcelCSV/TextXLSX to write: months as 2026-11, amounts as
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
                row.campus,
                row.course,
                row.teacher or gettext("(all teachers)"),
                row.lessons_used,
                row.recognized,
                "" if row.refunds is None else row.refunds,
                "" if row.deferred is None else row.deferred,
            ]
        )
    return data
