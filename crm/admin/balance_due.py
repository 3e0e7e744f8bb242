from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import BadRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from crm import access, ledger
from crm.models import BalanceDue
from crm.money_format import format_money
from crm.resources import BalanceDueResource

from .base import CRMAdmin
from .exports import SpreadsheetExportMixin


@admin.register(BalanceDue)
class BalanceDueAdmin(SpreadsheetExportMixin, CRMAdmin):
    """Who owes what: every approved enrollment with a balance due, the overdue part first; CSV/XLSX export."""

    resource_classes = [BalanceDueResource]
    list_display = [
        "customer_link",
        "class_grade",
        "consultant",
        "price_display",
        "paid_display",
        "refunded_display",
        "balance_due_display",
        "overdue_display",
        "next_due",
    ]
    list_display_links = None
    list_filter = [("consultant", admin.RelatedOnlyFieldListFilter), "class_grade__branch", "class_grade__course"]
    list_select_related = ["customer", "class_grade__course", "class_grade__branch", "consultant"]
    search_fields = ["customer__name", "customer__phone"]

    def get_ordering(self, request):
        return ["-overdue_amount", "-balance_due", "pk"]  # annotations of crm.ledger.owing

    def get_queryset(self, request):
        # Not ModelAdmin's: it orders the plain rows by get_ordering before the money figures exist.
        return access.restrict(request.user, ledger.owing(BalanceDue.objects.all()))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_export_queryset(self, request):
        try:
            queryset = super().get_export_queryset(request)
        except IncorrectLookupParameters:  # as on the customer list: filters the list refuses are a bad request
            raise BadRequest("The list filters in the address are not valid.") from None
        return queryset.select_related("customer", "consultant")

    @admin.display(description=_("customer"), ordering="customer__name")
    def customer_link(self, row):
        return format_html('<a href="{}">{}</a>', reverse("admin:crm_enrollment_change", args=[row.pk]), row.customer)

    @admin.display(description=_("price"), ordering="price")
    def price_display(self, row):
        return format_money(row.price)

    @admin.display(description=_("paid"), ordering="paid")
    def paid_display(self, row):
        return format_money(row.paid)

    @admin.display(description=_("refunded"), ordering="refunded")
    def refunded_display(self, row):
        return format_money(row.refunded)

    @admin.display(description=_("balance due"), ordering="balance_due")
    def balance_due_display(self, row):
        return format_money(row.balance_due)

    @admin.display(description=_("overdue"), ordering="overdue_amount")
    def overdue_display(self, row):
        return format_money(row.overdue_amount) if row.overdue_amount else "—"

    @admin.display(description=_("next due date"), ordering="next_due")
    def next_due(self, row):
        return row.next_due or "—"
