from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm import access, ledger
from crm.models import Enrollment, Refund
from crm.money_forms import NoteForm
from crm.services import money

from .base import CRMHistoryAdmin, money_column


class RefundForm(forms.ModelForm):
    """What the salesperson asks: checked against what is left to refund here, and again under the lock."""

    class Meta:
        model = Refund
        fields = ["enrollment", "amount", "reason", "ends_place"]

    def clean(self):
        data = super().clean()
        if data.get("enrollment") and data.get("amount") is not None:
            try:
                money.refund_check(Refund(enrollment=data["enrollment"], amount=data["amount"]))
            except ValidationError as error:
                self.add_error(None, error)
        return data


@admin.register(Refund)
class RefundAdmin(CRMHistoryAdmin):
    history_revert = False  # written through services only
    form = RefundForm
    list_display = [
        "customer",
        "class_grade",
        money_column(Refund, "amount"),
        "status",
        "requested_by",
        "requested_at",
        "decided_by",
    ]
    list_filter = ["status", "ends_place", "requested_at"]
    list_select_related = [
        "enrollment__customer",
        "enrollment__class_grade__course",
        "enrollment__class_grade__branch",
        "requested_by",
        "decided_by",
    ]
    search_fields = ["enrollment__customer__name", "enrollment__customer__phone", "reason"]
    autocomplete_fields = ["enrollment"]
    actions = ["approve", "reject"]
    change_form_template = "admin/crm/refund/change_form.html"
    fieldsets = [
        (None, {"fields": ["enrollment", "amount", "reason", "ends_place"]}),
        (_("Decision"), {"fields": ["status", "requested_by", "requested_at", "decided_by", "decided_at"]}),
        (None, {"fields": ["decision_note"]}),
    ]
    readonly_fields = ["status", "requested_by", "requested_at", "decided_by", "decided_at", "decision_note"]

    def has_change_permission(self, request, obj=None):
        return False  # a refund is asked once and then decided (approve, reject), never edited

    def has_delete_permission(self, request, obj=None):
        return False  # money is never deleted

    def has_decide_permission(self, request):
        return request.user.has_perm("crm.decide_refund")

    def get_fieldsets(self, request, obj=None):
        return self.fieldsets if obj else self.fieldsets[:1]

    def get_changeform_initial_data(self, request):
        """From an enrollment's page: the suggested amount (paid − revenue recognized − the fee)."""
        initial = super().get_changeform_initial_data(request)
        enrollment = access.visible(request.user, Enrollment).filter(pk=initial.get("enrollment")).first()
        if enrollment is not None:
            initial.setdefault("amount", ledger.account(enrollment).suggested_refund)
        return initial

    def save_model(self, request, obj, form, change):
        money.refund_request(refund=obj, by=request.user)

    def get_urls(self):
        decide = path(
            "<path:object_id>/decide/", self.admin_site.admin_view(self.decide_view), name="crm_refund_decide"
        )
        return [decide, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        refund = self.get_object(request, object_id)
        extra = {}
        if refund is not None and self.has_view_permission(request, refund):
            extra = {
                "refund": refund,
                "account": ledger.account(refund.enrollment),
                "may_decide": self.has_decide_permission(request) and refund.status == Refund.Status.REQUESTED,
            }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def decide_view(self, request, object_id):
        """Approve or reject one refund with a note."""
        refund = self.reachable_object(request, object_id)
        if not self.has_decide_permission(request):
            raise PermissionDenied
        form = NoteForm(request.POST or None)
        if request.method == "POST" and form.is_valid() and request.POST.get("decision") in ("approve", "reject"):
            decide = money.refund_approve if request.POST["decision"] == "approve" else money.refund_reject
            try:
                decide(refund=refund, by=request.user, note=form.cleaned_data["note"])
            except (ValidationError, PermissionDenied) as error:
                self.message_user(request, " ".join(getattr(error, "messages", [str(error)])), messages.ERROR)
            else:
                self.message_user(request, _("The refund is decided."), messages.SUCCESS)
            return redirect("admin:crm_refund_change", refund.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Decide the refund"),
            "opts": self.opts,
            "original": refund,
            "refund": refund,
            "account": ledger.account(refund.enrollment),
            "form": form,
        }
        return TemplateResponse(request, "admin/crm/refund/decide.html", context)

    @admin.display(description=_("customer"), ordering="enrollment__customer__name")
    def customer(self, refund):
        return refund.enrollment.customer

    @admin.display(description=_("class"))
    def class_grade(self, refund):
        return refund.enrollment.class_grade

    def _decide(self, request, queryset, decide, done_message):
        done = 0
        for refund in queryset:  # the admin's queryset: rows this user reaches
            try:
                decide(refund=refund, by=request.user)
            except (ValidationError, PermissionDenied) as error:
                detail = " ".join(getattr(error, "messages", [str(error)]))
                self.message_user(request, f"{refund}: {detail}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, done_message(done) % {"count": done}, messages.SUCCESS)

    @admin.action(description=_("Approve the selected refunds"), permissions=["decide"])
    def approve(self, request, queryset):
        self._decide(
            request,
            queryset,
            money.refund_approve,
            lambda n: ngettext("%(count)d refund approved.", "%(count)d refunds approved.", n),
        )

    @admin.action(description=_("Reject the selected refunds"), permissions=["decide"])
    def reject(self, request, queryset):
        self._decide(
            request,
            queryset,
            money.refund_reject,
            lambda n: ngettext("%(count)d refund rejected.", "%(count)d refunds rejected.", n),
        )
