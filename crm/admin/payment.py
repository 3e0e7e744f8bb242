from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm import documents, finance_report
from crm.forms import DashboardFilterForm
from crm.models import Payment
from crm.money_format import format_money
from crm.resources import ExcelCSV, TextXLSX, finance_report_dataset
from crm.services import money

from .base import CRMHistoryAdmin, money_column
from .filters import DashboardFilter


class PaymentForm(forms.ModelForm):
    """A payment for an enrollment is checked against its balance here, before the service runs."""

    class Meta:
        model = Payment
        fields = ["customer", "enrollment", "course", "amount", "method", "paid_at", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "course" in self.fields:
            self.fields["course"].required = False
            self.fields["course"].help_text = _("Empty for a payment for an enrollment: its course.")

    def clean(self):
        data = super().clean()
        if self.instance.pk is not None:
            return data
        if data.get("enrollment"):
            candidate = Payment(**{name: data.get(name) for name in ("customer", "enrollment", "amount")})
            try:
                money.payment_check(candidate)
            except ValidationError as error:
                self.add_error(None, error)
            else:
                data["course"] = candidate.course
        elif not data.get("course") and "course" not in self.errors:
            self.add_error("course", self.fields["course"].error_messages["required"])
        return data


@admin.register(Payment)
class PaymentAdmin(CRMHistoryAdmin):
    history_revert = False  # written through services only
    form = PaymentForm
    list_display = ["customer", "course", money_column(Payment, "amount"), "method", "consultant", "paid_at", "receipt"]
    list_filter = [
        DashboardFilter,
        "method",
        ("course", admin.RelatedOnlyFieldListFilter),
        ("consultant", admin.RelatedOnlyFieldListFilter),
        "paid_at",
    ]
    list_select_related = ["customer", "course", "consultant"]
    search_fields = ["customer__name", "customer__phone", "note"]
    autocomplete_fields = ["customer", "enrollment", "course"]
    readonly_fields = ["consultant", "reverses"]
    date_hierarchy = "paid_at"
    actions = ["reverse"]
    fieldsets = [
        (None, {"fields": ["customer", "enrollment", "course", "amount", "method", "paid_at"]}),
        (_("Record"), {"fields": ["consultant", "note", "reverses"]}),
    ]

    def has_delete_permission(self, request, obj=None):
        return False  # money is never deleted; a mistake is undone by a reversal

    def has_reverse_permission(self, request):
        return request.user.has_perm("crm.reverse_payment")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        # What was received stays as received: a wrong amount is reversed, not edited.
        return [*self.readonly_fields, "customer", "enrollment", "course", "amount"]

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("paid_at", timezone.now())
        return initial

    def save_model(self, request, obj, form, change):
        if change:
            obj._history_user = request.user
            super().save_model(request, obj, form, change)
        else:
            money.payment_record(payment=obj, by=request.user)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/receipt/",
                self.admin_site.admin_view(self.receipt_view),
                name="crm_payment_receipt",
            ),
            path("finance-report/", self.admin_site.admin_view(self.report_view), name="crm_finance_report"),
            *super().get_urls(),
        ]

    def receipt_view(self, request, object_id):
        """The payment's receipt as a PDF: to whoever may see the payment."""
        payment = self.reachable_object(request, object_id)
        return documents.pdf_response(documents.receipt_pdf(payment), f"receipt-{payment.pk:08d}.pdf")

    def report_view(self, request):
        """The finance report (crm.finance_report); ?export=csv or xlsx downloads the same rows."""
        if not request.user.has_perm("crm.view_finance_report"):
            raise PermissionDenied
        form = DashboardFilterForm(request.GET or None)
        rows = finance_report.report(form.filters())
        kind = request.GET.get("export")
        if kind in ("csv", "xlsx"):
            file_format = ExcelCSV() if kind == "csv" else TextXLSX()  # as every export of the CRM is written
            data = file_format.export_data(finance_report_dataset(rows))
            response = HttpResponse(data, content_type=file_format.get_content_type())
            response["Content-Disposition"] = f'attachment; filename="finance-report.{kind}"'
            return response
        context = {
            **self.admin_site.each_context(request),
            "title": _("Finance report"),
            "opts": self.opts,
            "rows": rows,
            "filter_form": form,
            "query": request.GET.urlencode(),
        }
        return TemplateResponse(request, "admin/crm/finance_report.html", context)

    @admin.display(description=_("receipt"))
    def receipt(self, payment):
        url = reverse("admin:crm_payment_receipt", args=[payment.pk])
        return format_html('<a href="{}" target="_blank" rel="noopener">PDF</a>', url)

    @admin.action(description=_("Reverse the selected payments"), permissions=["reverse"])
    def reverse(self, request, queryset):
        done = 0
        for payment in queryset:  # the admin's queryset: rows this user reaches
            try:
                money.payment_reverse(payment=payment, by=request.user)
            except (ValidationError, PermissionDenied) as error:
                detail = " ".join(getattr(error, "messages", [str(error)]))
                self.message_user(
                    request, f"{format_money(payment.amount)}, {payment.customer}: {detail}", messages.ERROR
                )
            else:
                done += 1
        if done:
            message = ngettext("%(count)d payment reversed.", "%(count)d payments reversed.", done)
            self.message_user(request, message % {"count": done}, messages.SUCCESS)
