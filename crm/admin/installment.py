from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm import ledger
from crm.models import Installment

from .base import CRMHistoryAdmin, money_column
from .filters import DashboardFilter


class InstallmentStateFilter(admin.SimpleListFilter):
    """Overdue first: what finance and the salesperson chase."""

    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("overdue", _("overdue")),
            ("open", _("to pay")),
            ("settled", _("settled")),
            ("cancelled", _("cancelled")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "overdue":
            return ledger.overdue(queryset)
        if value == "open":
            return ledger.open_installments(queryset)
        if value == "settled":
            return queryset.exclude(payment=None)
        if value == "cancelled":
            return queryset.exclude(cancelled_at=None)
        return queryset


@admin.register(Installment)
class InstallmentAdmin(CRMHistoryAdmin):
    """The plan's due dates, read-only: a plan is made on its enrollment's page, and payments settle it."""

    history_revert = False
    list_display = ["customer", "class_grade", "due_date", money_column(Installment, "amount"), "state", "payment"]
    list_filter = [DashboardFilter, InstallmentStateFilter, "due_date"]
    list_select_related = [
        "enrollment__customer",
        "enrollment__class_grade__course",
        "enrollment__class_grade__branch",
        "payment",
    ]
    search_fields = ["enrollment__customer__name", "enrollment__customer__phone"]
    ordering = ["due_date", "id"]
    fields = ["enrollment", "due_date", "amount", "payment", "cancelled_at", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # plans are made on the enrollment's page (crm.services.money.plan_set)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("customer"), ordering="enrollment__customer__name")
    def customer(self, installment):
        return installment.enrollment.customer

    @admin.display(description=_("class"))
    def class_grade(self, installment):
        return installment.enrollment.class_grade

    @admin.display(description=_("state"))
    def state(self, installment):
        if installment.cancelled_at:
            return _("cancelled")
        if installment.payment_id:
            return _("settled")
        return _("overdue") if installment.due_date < timezone.localdate() else _("to pay")
