import datetime

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from crm import selectors
from crm.models import FollowUp
from crm.phones import format_phone
from crm.services import leads

from .base import CRMHistoryAdmin
from .filters import OwnerFilter


class DueFilter(admin.SimpleListFilter):
    """Follow-ups still to keep, by their next date (only the latest follow-up of a customer counts)."""

    title = _("next follow-up")
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [
            ("now", _("Due today or overdue")),
            ("today", _("Due today")),
            ("overdue", _("Overdue")),
            ("week", _("Due in the next 7 days")),
        ]

    def queryset(self, request, queryset):
        within = selectors.reachable_calls(request.user)
        if self.value() == "now":
            return selectors.due_now(queryset, within)
        if self.value() == "today":
            return selectors.due_today(queryset, within)
        if self.value() == "overdue":
            return selectors.overdue(queryset, within)
        if self.value() == "week":
            return selectors.due_within(queryset, 7, within)
        return queryset


@admin.register(FollowUp)
class FollowUpAdmin(CRMHistoryAdmin):
    list_display = [
        "customer",
        "customer_phone",
        "intention",
        "next_follow_up",
        "consultant",
        "created_at",
        "short_content",
    ]
    list_filter = [DueFilter, "intention", ("consultant", OwnerFilter), "created_at"]
    list_select_related = ["customer", "consultant"]
    search_fields = ["customer__name", "customer__phone", "content"]
    autocomplete_fields = ["customer"]
    readonly_fields = ["consultant", "created_at"]
    # The top bar's count of a person's calls to make links here narrowed to the leads they own.
    OWNER_LOOKUP = "customer__consultant__id__exact"
    fieldsets = [
        (None, {"fields": ["customer", "content", "intention", "next_follow_up"]}),
        (_("Record"), {"fields": ["consultant", "created_at"]}),
    ]

    def get_ordering(self, request):
        # Calls to make come soonest due first, in the order of the customers' due-date indexes: a page of them is
        # read from the index, not sorted out of every call still to make.
        if request.GET.get(DueFilter.parameter_name):
            return ["latest_of__next_follow_up", "latest_of__id"]
        return super().get_ordering(request)

    def lookup_allowed(self, lookup, value, request=None):
        return lookup == self.OWNER_LOOKUP or super().lookup_allowed(lookup, value, request)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("next_follow_up", timezone.localdate() + datetime.timedelta(days=3))
        return initial

    def save_model(self, request, obj, form, change):
        leads.follow_up_save(follow_up=obj, by=request.user)

    # The list is where calls are made from: the number dials on a phone (or a softphone) with one tap. The rows are
    # already the ones whose lead the person may reach (crm.access), and the customer is fetched with them.
    @admin.display(description=_("phone"), ordering="customer__phone")
    def customer_phone(self, follow_up):
        phone = follow_up.customer.phone
        return format_html('<a href="tel:{}">{}</a>', phone, format_phone(phone))

    @admin.display(description=_("notes"))
    def short_content(self, follow_up):
        text = follow_up.content
        return text if len(text) <= 60 else text[:57] + "…"
