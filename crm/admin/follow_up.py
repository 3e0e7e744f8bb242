import datetime

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from crm import access, selectors
from crm.models import FollowUp
from crm.phones import format_phone
from crm.services import leads

from .base import CRMHistoryAdmin, SortedIdsPaginator
from .filters import OwnerFilter


class DueFilter(admin.SimpleListFilter):
    """Follow-ups still to keep, by their next date (only the latest follow-up of a customer counts).

    The selection is made by FollowUpAdmin.get_queryset (see there); this filter offers the choices."""

    title = _("next follow-up")
    parameter_name = "due"
    SELECTIONS = {
        "now": selectors.due_now,
        "today": selectors.due_today,
        "overdue": selectors.overdue,
        "week": lambda follow_ups, within: selectors.due_within(follow_ups, 7, within),
    }

    def lookups(self, request, model_admin):
        return [
            ("now", _("Due today or overdue")),
            ("today", _("Due today")),
            ("overdue", _("Overdue")),
            ("week", _("Due in the next 7 days")),
        ]

    @classmethod
    def selection(cls, request):
        return cls.SELECTIONS.get(request.GET.get(cls.parameter_name))

    def queryset(self, request, queryset):
        return queryset  # already selected by the admin's get_queryset


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
    paginator = SortedIdsPaginator
    search_fields = ["customer__name", "customer__phone", "content"]
    autocomplete_fields = ["customer"]
    readonly_fields = ["consultant", "created_at"]
    # The top bar's count of a person's calls to make links here narrowed to the leads they own.
    OWNER_LOOKUP = "customer__consultant__id__exact"
    fieldsets = [
        (None, {"fields": ["customer", "content", "intention", "next_follow_up"]}),
        (_("Record"), {"fields": ["consultant", "created_at"]}),
    ]

    def get_queryset(self, request):
        """The calls to make are the latest follow-ups of due customers: their rows are reached through those
        customers' scope (crm.access), in the same join as the due condition, in place of the follow-up list's
        own scope. Both let through the same rows (a customer's latest follow-up is one of its own), but a scope
        on the follow-up's customer column led SQLite to read every follow-up of the person's customers before
        keeping the due ones; on the customer's columns, their due-date index gives a page directly."""
        due = DueFilter.selection(request)
        if due is None:
            return super().get_queryset(request)
        unrestricted = admin.ModelAdmin.get_queryset(self, request)
        return due(unrestricted, access.latest_follow_up_scope(request.user))

    def get_ordering(self, request):
        # Calls to make come soonest due first, in the order of the customers' due-date indexes: a page of them is
        # read from the index, not sorted out of every call still to make.
        if DueFilter.selection(request):
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
