"""The lead pool (公海): leads without a consultant, shown without their contacts, to claim or to assign.

Its rows open nowhere: a salesperson reaches a lead (its contacts, follow-ups, history) once they claim it;
managers open it on the customer list, as any customer.
"""

import datetime
import re

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm import access
from crm.models import PoolCustomer
from crm.phones import mask_phone
from crm.services import pool

from . import actions
from .base import CRMAdmin, PhoneSearchMixin

# In a follow-up's summary: runs of digits long enough to be a phone, QQ or ID number, and email addresses.
CONTACT_LIKE = re.compile(r"\d[\d\s-]{3,}\d|\S+@\S+")
SUMMARY_LENGTH = 80


class DaysInPoolFilter(admin.SimpleListFilter):
    title = _("days in the pool")
    parameter_name = "days"
    BANDS = {"1": (0, 1), "7": (1, 7), "30": (7, 30), "more": (30, None)}

    def lookups(self, request, model_admin):
        return [
            ("1", _("less than a day")),
            ("7", _("1 to 7 days")),
            ("30", _("7 to 30 days")),
            ("more", _("more than 30 days")),
        ]

    def queryset(self, request, queryset):
        if self.value() not in self.BANDS:
            return queryset
        least, most = self.BANDS[self.value()]
        now = timezone.now()
        queryset = queryset.filter(pooled_at__lte=now - datetime.timedelta(days=least))
        return queryset.filter(pooled_at__gt=now - datetime.timedelta(days=most)) if most else queryset


@admin.register(PoolCustomer)
class PoolCustomerAdmin(PhoneSearchMixin, CRMAdmin):
    list_display = [
        "name",
        "masked_phone",
        "source",
        "courses",
        "branch",
        "status",
        "pooled_at",
        "why",
        "previous_consultant",
        "last_follow_up",
    ]
    list_display_links = None
    list_filter = ["branch", "consult_courses", "source", DaysInPoolFilter, "status"]
    list_select_related = ["branch", "previous_consultant", "latest_follow_up"]  # the kept latest follow-up
    # Names only: a part of a phone would tell its hidden digits; a whole phone is matched exactly (PhoneSearchMixin).
    search_fields = ["name"]
    search_help_text = _("Search by name, or by a whole phone number in any spelling.")
    actions = ["claim", "assign"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("consult_courses")

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        if access.sees_all_customers(request.user):
            columns[0] = "customer_link"  # managers open the lead as any customer
        if self.has_claim_permission(request):
            columns.append("claim_button")
        return columns

    def has_view_permission(self, request, obj=None):
        return obj is None and super().has_view_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_claim_permission(self, request):
        return request.user.has_perm("crm.claim_customer")

    def has_assign_permission(self, request):
        return request.user.has_perm("crm.reassign_customer")

    # --- columns

    @admin.display(description=_("name"), ordering="name")
    def customer_link(self, lead):
        url = reverse("admin:crm_customer_change", args=[lead.pk])
        return format_html('<a href="{}">{}</a>', url, lead)

    @admin.display(description=_("phone"))
    def masked_phone(self, lead):
        return mask_phone(lead.phone)

    @admin.display(description=_("courses of interest"))
    def courses(self, lead):
        return ", ".join(course.name for course in lead.consult_courses.all())

    @admin.display(description=_("why it returned"))
    def why(self, lead):
        reason = lead.get_pool_reason_display()
        return f"{reason}: {lead.pool_note}" if lead.pool_note else reason

    @admin.display(description=_("last follow-up"))
    def last_follow_up(self, lead):
        """When, how it stood, and the notes without anything that looks like a contact."""
        follow_up = lead.latest_follow_up
        if follow_up is None:
            return "—"
        notes = follow_up.content
        for contact in (lead.qq, lead.wechat, lead.email):
            if contact:
                notes = notes.replace(contact, "***")
        notes = CONTACT_LIKE.sub("***", notes)
        if len(notes) > SUMMARY_LENGTH:
            notes = notes[: SUMMARY_LENGTH - 1] + "…"
        when = date_format(timezone.localtime(follow_up.created_at), "SHORT_DATE_FORMAT")
        return f"{when} · {follow_up.get_intention_display()} · {notes}"

    @admin.display(description="")
    def claim_button(self, lead):
        # Submits the page's one-row claim form (templates/admin/crm/poolcustomer/change_list.html).
        return format_html(
            '<button type="submit" form="pool-claim" name="{}" value="{}" class="btn btn-sm btn-outline-primary">'
            "{}</button>",
            ACTION_CHECKBOX_NAME,
            lead.pk,
            _("Claim"),
        )

    # --- actions

    @admin.action(description=_("Claim the selected leads"), permissions=["claim"])
    def claim(self, request, queryset):
        # Leads taken since the list was shown are not among the rows: say so, naming none.
        gone = set(request.POST.getlist(ACTION_CHECKBOX_NAME)) - {
            str(pk) for pk in queryset.values_list("pk", flat=True)
        }
        if gone:
            message = ngettext(
                "%(count)d of the leads you chose is no longer in the pool: someone took it a moment ago.",
                "%(count)d of the leads you chose are no longer in the pool: someone took them a moment ago.",
                len(gone),
            )
            self.message_user(request, message % {"count": len(gone)}, messages.WARNING)
        actions.apply_each(
            self,
            request,
            queryset,
            lambda lead: pool.pool_claim(customer=lead, by=request.user),
            lambda count: (
                ngettext(
                    "You claimed %(count)d lead: it is among your customers now.",
                    "You claimed %(count)d leads: they are among your customers now.",
                    count,
                )
                % {"count": count}
            ),
            stop_codes={"claim_limit"},
        )

    @admin.action(description=_("Assign the selected leads to a consultant"), permissions=["assign"])
    def assign(self, request, queryset):
        data, page = actions.ask(
            self,
            request,
            queryset,
            actions.PickUserForm,
            action="assign",
            title=_("Assign from the lead pool"),
            intro=_("These leads will belong to the consultant you choose:"),
            submit_label=_("Assign"),
        )
        if page:
            return page
        to = data["user"]
        actions.apply_each(
            self,
            request,
            queryset,
            lambda lead: pool.pool_assign(customer=lead, to=to, by=request.user),
            lambda count: (
                ngettext("%(count)d lead now belongs to %(user)s.", "%(count)d leads now belong to %(user)s.", count)
                % {"count": count, "user": to}
            ),
        )
        return None
