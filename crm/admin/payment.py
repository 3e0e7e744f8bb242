from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import Payment

from .base import CRMHistoryAdmin, money_column
from .filters import DashboardFilter


@admin.register(Payment)
class PaymentAdmin(CRMHistoryAdmin):
    history_revert = False  # written through services only
    list_display = ["customer", "course", money_column(Payment, "amount"), "method", "consultant", "paid_at"]
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
    readonly_fields = ["consultant"]
    date_hierarchy = "paid_at"
    fieldsets = [
        (None, {"fields": ["customer", "enrollment", "course", "amount", "method", "paid_at"]}),
        (_("Record"), {"fields": ["consultant", "note"]}),
    ]

    def has_delete_permission(self, request, obj=None):
        return False  # money is never deleted; a mistake is corrected by a change recorded in the history

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("paid_at", timezone.now())
        return initial

    def save_model(self, request, obj, form, change):
        if obj.consultant_id is None:
            obj.consultant = request.user
        super().save_model(request, obj, form, change)
