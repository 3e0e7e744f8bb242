from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm import access, ledger, selectors
from crm.forms import StartEnrollmentForm
from crm.models import Customer, FollowUp
from crm.phones import format_phone, normalize_phone
from crm.resources import CustomerResource
from crm.services import enrollment as enrollments
from crm.services import leads, pool, privacy

from . import actions
from .actions import person_name
from .base import CRMHistoryAdmin, CRMStackedInline, PhoneSearchMixin, SortedIdsPaginator
from .exports import SpreadsheetExportMixin
from .filters import DashboardFilter, OwnerFilter
from .lead_import import LeadImportViewsMixin


class CustomerAdminForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = [
            "name",
            "phone",
            "qq",
            "wechat",
            "email",
            "source",
            "branch",
            "referrer",
            "consult_courses",
            "tags",
            "content",
            "status",
            "consultant",
        ]

    def clean_consultant(self):
        consultant = self.cleaned_data.get("consultant")
        if self.instance.consultant_id and consultant is None:
            raise forms.ValidationError(leads.USE_POOL_ACTIONS, code="use_pool_actions")
        return consultant

    def clean_phone(self):
        phone = normalize_phone(self.cleaned_data["phone"])
        existing = Customer.objects.select_related("consultant").filter(phone=phone).exclude(pk=self.instance.pk)
        if existing:
            raise forms.ValidationError(leads.duplicate_phone_message(existing[0]), code="duplicate_phone")
        return phone


class FollowUpInline(CRMStackedInline):
    model = FollowUp
    fields = ["content", "intention", "next_follow_up", "consultant", "created_at"]
    readonly_fields = ["consultant", "created_at"]
    ordering = ["-created_at", "-id"]  # newest first
    extra = 1
    classes = ["collapse-entry"]


class ArchivedFilter(admin.SimpleListFilter):
    """The working list shows customers in use; archived ones are one click away, never gone."""

    title = _("archive")
    parameter_name = "archived"

    def lookups(self, request, model_admin):
        return [("no", _("In use")), ("yes", _("Archived")), ("all", _("All"))]

    def choices(self, changelist):
        for value, label in self.lookup_choices:
            selected = (self.value() or "no") == value
            yield {
                "selected": selected,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.value() or "no"
        if value == "all":
            return queryset
        return queryset.filter(archived_at__isnull=value == "no")


@admin.register(Customer)
class CustomerAdmin(PhoneSearchMixin, LeadImportViewsMixin, SpreadsheetExportMixin, CRMHistoryAdmin):
    history_revert = False  # written through services only
    form = CustomerAdminForm
    import_export_change_list_template = "admin/import_export/change_list_import_export.html"
    resource_classes = [CustomerResource]
    list_display = ["name", "phone_display", "source", "status", "consultant", "created_at"]
    list_display_links = ["name", "phone_display"]
    list_filter = [
        DashboardFilter,
        ArchivedFilter,
        "status",
        "source",
        ("consultant", OwnerFilter),
        "branch",
        "consult_courses",
        "tags",
        "created_at",
    ]
    list_select_related = ["consultant"]
    # A salesperson's leads and those shared with them cannot be walked in the list's order: sort their ids first.
    paginator = SortedIdsPaginator
    # No date_hierarchy: its distinct-years query grows with the rows shown; the created_at filter covers dates.
    search_fields = ["name", "phone", "qq", "wechat", "email"]
    phone_search_also = ("qq",)  # a QQ number can look like a phone
    search_help_text = _("Search by name, phone, QQ, WeChat or email.")
    autocomplete_fields = ["referrer", "consult_courses", "tags"]
    readonly_fields = [
        "channel",
        "created_at",
        "updated_at",
        "archived_at",
        "assigned_at",
        "previous_consultant",
        "pooled_at",
        "pool_reason",
        "pool_note",
    ]
    inlines = [FollowUpInline]
    actions = ["reassign", "share", "unshare", "release", "merge", "archive", "restore"]
    fieldsets = [
        (_("Contact"), {"fields": ["name", "phone", "qq", "wechat", "email"]}),
        (
            _("Lead"),
            {"fields": ["source", "channel", "branch", "referrer", "consult_courses", "tags", "content", "status"]},
        ),
        (_("Owner"), {"fields": ["consultant", "assigned_at", "created_at", "updated_at", "archived_at"]}),
        (
            _("Lead pool"),
            {"fields": ["previous_consultant", "pooled_at", "pool_reason", "pool_note"], "classes": ["collapse"]},
        ),
    ]

    def get_urls(self):
        return [
            path(
                "<path:object_id>/enroll/",
                self.admin_site.admin_view(self.start_enrollment_view),
                name="crm_customer_start_enrollment",
            ),
            path(
                "<path:object_id>/personal-data/",
                self.admin_site.admin_view(self.personal_data_view),
                name="crm_customer_personal_data",
            ),
            path(
                "<path:object_id>/erase/",
                self.admin_site.admin_view(self.erase_view),
                name="crm_customer_erase",
            ),
        ] + super().get_urls()

    def can_start_enrollment(self, request, customer) -> bool:
        return request.user.has_perm("crm.add_enrollment") and self.has_change_permission(request, customer)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        customer = self.get_object(request, object_id)
        extra = {
            "can_start_enrollment": customer is not None and self.can_start_enrollment(request, customer),
            "can_export_person": customer is not None and access.sees_personal_data(request.user, customer),
            "can_erase": customer is not None and privacy.may_erase(request.user),
            "balance_due": customer is not None and ledger.customer_balance(customer),
            # Read-only here (a table, not an inline formset): money is recorded and reversed on its own pages.
            "customer_payments": customer is not None
            and customer.payments.select_related("course", "enrollment__class_grade").order_by("-paid_at", "-id"),
        }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def start_enrollment_view(self, request, object_id):
        """Pick a class (seats left shown, full ones disabled); the enrollment page then shows the link."""
        customer = self.reachable_object(request, object_id, change=True)
        if not request.user.has_perm("crm.add_enrollment"):
            raise PermissionDenied
        form = StartEnrollmentForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                enrollment = enrollments.enrollment_start(
                    customer=customer, class_grade=form.cleaned_data["class_grade"], by=request.user
                )
            except ValidationError as error:
                form.add_error("class_grade", error.messages)
            else:
                self.message_user(
                    request, _("The enrollment is ready: copy the link below and send it to the student.")
                )
                return redirect("admin:crm_enrollment_change", enrollment.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Start enrollment"),
            "opts": self.opts,
            "customer": customer,
            "original": customer,
            "form": form,
        }
        return TemplateResponse(request, "admin/crm/customer/start_enrollment.html", context)

    # --- personal data (PIPL): a person's data on request, and erasure

    def personal_data_view(self, request, object_id):
        """Everything held about this person, as a ZIP (the access is logged)."""
        customer = self.reachable_object(request, object_id)
        data = privacy.person_export(customer=customer, by=request.user)
        response = HttpResponse(data, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}-personal-data.zip"'
        response["Cache-Control"] = "private, no-store"
        return response

    def erase_view(self, request, object_id):
        customer = self.reachable_object(request, object_id)
        if not privacy.may_erase(request.user):
            raise PermissionDenied
        if request.method == "POST" and request.POST.get("confirm") == customer.phone:
            privacy.customer_erase(customer=customer, by=request.user)
            self.message_user(request, _("The person's data was erased; their payments and classes are kept."))
            return redirect("admin:crm_customer_change", customer.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Erase personal data"),
            "opts": self.opts,
            "original": customer,
            "wrong_confirmation": request.method == "POST",
        }
        return TemplateResponse(request, "admin/crm/customer/erase.html", context)

    def get_data_for_export(self, request, queryset, **kwargs):
        dataset = super().get_data_for_export(request, queryset, **kwargs)
        # Counted from the rows written, not by another COUNT over the export's query.
        privacy.access_record(
            by=request.user, action=privacy.Action.EXPORT, detail=request.GET.urlencode(), rows=len(dataset)
        )
        return dataset

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:  # a lead being added has no channel yet: the database fills it (no value to show before)
            without = [(name, [f for f in opts["fields"] if f != "channel"], opts) for name, opts in fieldsets]
            fieldsets = [(name, {**opts, "fields": fields}) for name, fields, opts in without]
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.has_perm("crm.reassign_customer") or (obj and obj.consultant_id is None):
            # A salesperson's customers are theirs; only managers move them. A pooled lead leaves the pool by a
            # claim or an assignment from the pool list.
            fields.append("consultant")
        return fields

    def get_export_queryset(self, request):
        # The changelist's rows (its filters and crm.access), with what each exported row shows, fetched up front.
        try:
            queryset = super().get_export_queryset(request)
        except IncorrectLookupParameters:  # the list answers these with "?e=1"; its export has no page to say so
            raise BadRequest("The list filters in the address are not valid.") from None  # 400 (not shown)
        return queryset.select_related("consultant", "branch").prefetch_related("consult_courses", "tags")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "consultant":
            kwargs["queryset"] = selectors.consultants()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        leads.customer_save(customer=obj, by=request.user)

    def save_formset(self, request, form, formset, change):
        if formset.model is not FollowUp:
            return super().save_formset(request, form, formset, change)
        for follow_up in formset.save(commit=False):
            leads.follow_up_save(follow_up=follow_up, by=request.user)
        for follow_up in formset.deleted_objects:
            follow_up.delete()

    @admin.display(description=_("phone"), ordering="phone")
    def phone_display(self, customer):
        return format_phone(customer.phone)

    # --- actions (managers): each acts only on rows the changelist's queryset lets through

    def has_reassign_permission(self, request):
        return request.user.has_perm("crm.reassign_customer")

    def _pick_user(self, request, queryset, **page):
        """The picked user when the intermediate form was submitted and valid, else the page that asks."""
        data, response = actions.ask(self, request, queryset, actions.PickUserForm, **page)
        return (data["user"], None) if data else (None, response)

    @admin.action(description=_("Reassign selected customers to another consultant"), permissions=["reassign"])
    def reassign(self, request, queryset):
        user, page = self._pick_user(
            request,
            queryset,
            action="reassign",
            title=_("Reassign customers"),
            intro=_("These customers, with their open enrollments, will belong to the consultant you choose:"),
            submit_label=_("Reassign"),
        )
        if page:
            return page
        with transaction.atomic():
            # Counted now: after the move, a list filtered by the old consultant holds none of them.
            customers = list(queryset.select_for_update(of=("self",)))  # not the consultant's row (may be none)
            for customer in customers:
                leads.customer_reassign(customer=customer, to=user, by=request.user)
        count = len(customers)
        self.message_user(
            request,
            ngettext(
                "%(count)d customer now belongs to %(user)s.", "%(count)d customers now belong to %(user)s.", count
            )
            % {"count": count, "user": person_name(user)},
            messages.SUCCESS,
        )
        return None

    @admin.action(description=_("Share selected customers with a consultant"), permissions=["reassign"])
    def share(self, request, queryset):
        user, page = self._pick_user(
            request,
            queryset,
            action="share",
            title=_("Share customers"),
            intro=_("The consultant you choose will see and work on these customers too:"),
            submit_label=_("Share"),
        )
        if page:
            return page
        count = leads.customer_share(customers=list(queryset), with_user=user, by=request.user)
        self.message_user(
            request, _("Shared %(count)d customers with %(user)s.") % {"count": count, "user": person_name(user)}
        )
        return None

    @admin.action(description=_("Stop sharing selected customers with a consultant"), permissions=["reassign"])
    def unshare(self, request, queryset):
        user, page = self._pick_user(
            request,
            queryset,
            action="unshare",
            title=_("Stop sharing customers"),
            intro=_("The consultant you choose will no longer reach these customers (unless they own them):"),
            submit_label=_("Stop sharing"),
        )
        if page:
            return page
        count = leads.customer_unshare(customers=queryset, with_user=user, by=request.user)
        self.message_user(
            request, _("Stopped %(count)d shares with %(user)s.") % {"count": count, "user": person_name(user)}
        )
        return None

    @admin.action(description=_("Release the selected customers to the lead pool"), permissions=["reassign"])
    def release(self, request, queryset):
        data, page = actions.ask(
            self,
            request,
            queryset,
            actions.ReasonForm,
            action="release",
            title=_("Release to the lead pool"),
            intro=_(
                "These customers will have no consultant: any salesperson may claim them from the lead pool. "
                "Students and customers with an enrollment under way stay with their consultant."
            ),
            submit_label=_("Release to the pool"),
        )
        if page:
            return page
        actions.apply_each(
            self,
            request,
            queryset,
            lambda customer: pool.pool_release(customer=customer, reason=data["reason"], by=request.user),
            lambda count: (
                ngettext(
                    "%(count)d customer went back to the lead pool.",
                    "%(count)d customers went back to the lead pool.",
                    count,
                )
                % {"count": count}
            ),
        )
        return None

    def has_merge_permission(self, request):
        return request.user.has_perm("crm.merge_customer")

    @admin.action(description=_("Merge the two selected customers (same person)"), permissions=["merge"])
    def merge(self, request, queryset):
        customers = list(queryset.select_related("consultant")[:3])
        if len(customers) != 2:
            self.message_user(request, _("Select exactly two customers to merge."), messages.WARNING)
            return None
        survivor_id = request.POST.get("survivor") if "apply" in request.POST else None
        if survivor_id not in {str(c.pk) for c in customers}:
            context = {
                **self.admin_site.each_context(request),
                "title": _("Merge customers"),
                "opts": self.model._meta,
                "customers": customers,
                "selected": [c.pk for c in customers],
            }
            return TemplateResponse(request, "admin/crm/customer/merge.html", context)
        survivor, duplicate = sorted(customers, key=lambda c: str(c.pk) != survivor_id)
        try:
            leads.customer_merge(survivor=survivor, duplicate=duplicate, by=request.user)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return None
        self.message_user(request, _("Merged into %(customer)s.") % {"customer": survivor}, messages.SUCCESS)
        return None

    # --- archive instead of delete: a customer's history, payments and documents are never lost by a click

    def has_delete_permission(self, request, obj=None):
        return False

    def has_archive_permission(self, request):
        return request.user.has_perm("crm.archive_customer")

    @admin.action(description=_("Archive the selected customers"), permissions=["archive"])
    def archive(self, request, queryset):
        count = leads.customers_archive(customers=queryset, by=request.user)
        message = _("Archived %(count)d customers; the Archived filter shows them.") % {"count": count}
        self.message_user(request, message)

    @admin.action(description=_("Restore the selected customers from the archive"), permissions=["archive"])
    def restore(self, request, queryset):
        count = leads.customers_restore(customers=queryset, by=request.user)
        self.message_user(request, _("Restored %(count)d customers.") % {"count": count})
