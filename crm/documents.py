"""PDFs: a payment's receipt and an enrollment's signed contract.

Text, Chinese included, is embedded as text (a subset of WenQuanYi Micro Hei, shipped in crm/fonts/ under the
Apache License 2.0), so it can be searched, copied and read back; the school's name and logo come from settings.
"""

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from fpdf import FPDF

from crm.id_numbers import mask_id_number
from crm.models import Enrollment, Payment
from crm.money_format import format_money

FONT_FILE = Path(__file__).resolve().parent / "fonts" / "wqy-microhei.ttc"
FONT = "wqy-microhei"


def _when(moment) -> str:
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT") if moment else "—"


class _Document(FPDF):
    """An A4 page with the school's letterhead and a footer naming the document."""

    def __init__(self, title: str):
        super().__init__(format="A4")
        self.doc_title = title
        self.set_title(title)
        self.set_author(settings.SCHOOL_NAME)
        self.set_creator(settings.SCHOOL_NAME)
        self.add_font(FONT, fname=str(FONT_FILE), collection_font_number=0)
        self.set_auto_page_break(auto=True, margin=20)
        self.add_page()

    def header(self):
        logo = finders.find(settings.SCHOOL_LOGO) if settings.SCHOOL_LOGO else None
        if logo:
            self.image(logo, x=self.l_margin, y=10, h=14)
        self.set_font(FONT, size=15)
        self.set_xy(self.l_margin + (18 if logo else 0), 12)
        self.cell(0, 10, settings.SCHOOL_NAME, new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(160, 160, 160)
        self.line(self.l_margin, 27, self.w - self.r_margin, 27)
        self.set_y(32)

    def footer(self):
        self.set_y(-14)
        self.set_font(FONT, size=8)
        self.set_text_color(120, 120, 120)
        self.cell(0, 6, f"{self.doc_title} · {self.page_no()}/{{nb}}", align="C")
        self.set_text_color(0, 0, 0)

    def heading(self, text: str):
        self.set_font(FONT, size=18)
        self.cell(0, 12, text, align="C", new_x="LMARGIN", new_y="NEXT")
        self.ln(4)

    def rows(self, rows):
        """Label and value lines; long values wrap under their value column."""
        for label, value in rows:
            self.set_font(FONT, size=10)
            self.set_text_color(90, 90, 90)
            self.cell(45, 8, str(label))
            self.set_text_color(0, 0, 0)
            self.set_font(FONT, size=11)
            self.multi_cell(0, 8, str(value), new_x="LMARGIN", new_y="NEXT")

    def paragraph(self, text: str, size: int = 11):
        self.set_font(FONT, size=size)
        self.multi_cell(0, 6.5, text, new_x="LMARGIN", new_y="NEXT")

    def bytes(self) -> bytes:
        return bytes(self.output())


def receipt_pdf(payment: Payment) -> bytes:
    """The receipt of one payment (a reversal's receipt says which payment it undoes)."""
    payment = Payment.objects.select_related(
        "customer", "course", "consultant", "enrollment__class_grade", "reverses"
    ).get(pk=payment.pk)
    title = _("Receipt") if not payment.reverses_id else _("Reversal receipt")
    document = _Document(title)
    document.heading(title)
    rows = [
        (_("Receipt number"), f"{payment.pk:08d}"),
        (_("Received from"), payment.customer.name),
        (_("Course"), payment.course.name),
    ]
    if payment.enrollment_id:
        rows.append((_("Class"), str(payment.enrollment.class_grade)))
    rows += [
        (_("Amount"), format_money(payment.amount)),
        (_("Payment method"), payment.get_method_display()),
        (_("Paid at"), _when(payment.paid_at)),
        (_("Received by"), payment.consultant.get_full_name() or payment.consultant.get_username()),
    ]
    if payment.reverses_id:
        rows.append((_("Reverses receipt"), f"{payment.reverses_id:08d}"))
    if payment.note:
        rows.append((_("Note"), payment.note))
    document.rows(rows)
    document.ln(10)
    document.paragraph(_("Printed %(when)s") % {"when": _when(timezone.now())}, size=9)
    return document.bytes()


def contract_pdf(enrollment: Enrollment) -> bytes:
    """The contract exactly as the student agreed to it, when they agreed, their name and ID number (masked)."""
    enrollment = Enrollment.objects.select_related(
        "customer", "class_grade__course", "class_grade__branch", "approved_by"
    ).get(pk=enrollment.pk)
    title = _("Enrollment contract")
    document = _Document(title)
    document.heading(title)
    document.rows(
        [
            (_("Student"), enrollment.customer.name),
            (enrollment.get_id_type_display(), mask_id_number(enrollment.id_number)),
            (_("Class"), str(enrollment.class_grade)),
            (_("Price"), format_money(enrollment.price)),
            (_("Agreed at"), _when(enrollment.contract_agreed_at)),
            (_("Approved at"), _when(enrollment.approved_at)),
        ]
    )
    document.ln(6)
    document.paragraph(enrollment.contract_text)
    return document.bytes()


def pdf_response(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response
