"""The customer list's Import button: upload, preview (dry run), confirm; and the list of past imports."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from crm import selectors
from crm.lead_files import LeadFileError, template_csv
from crm.models import LeadImport
from crm.services import lead_import as service

from .base import CRMAdmin

MAX_IMPORT_SIZE = 50 * 1024 * 1024
PREVIEW_ROWS = 200  # problems listed on the page; the rest are counted
TOO_LARGE = _("The file is larger than 50 MB. Split it, or use `manage.py import_leads` for very large files.")


class LeadImportForm(forms.Form):
    file = forms.FileField(label=_("CSV or Excel file"), help_text=_("UTF-8, GBK/GB18030 CSV, or .xlsx"))
    owner_mode = forms.ChoiceField(label=_("New leads belong to"), choices=LeadImport.OwnerMode.choices)
    consultant = forms.ModelChoiceField(label=_("Consultant"), queryset=selectors.consultants(), required=False)

    def __init__(self, *args, may_assign: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_assign:  # a salesperson's imports are theirs
            del self.fields["owner_mode"]
            del self.fields["consultant"]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_SIZE:
            raise forms.ValidationError(TOO_LARGE)
        return upload

    def clean(self):
        data = super().clean()
        if data.get("owner_mode") == LeadImport.OwnerMode.CHOSEN and not data.get("consultant"):
            self.add_error("consultant", service.CHOOSE_CONSULTANT)
        return data


class LeadImportViewsMixin:
    """Import views for the customer admin (import-export's row-by-row import is replaced by crm.services)."""

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_view), name="%s_%s_import" % info),
            path("import/template.csv", wrap(self.import_template_view), name="%s_%s_import_template" % info),
            path("import/<uuid:token>/", wrap(self.import_preview_view), name="%s_%s_import_preview" % info),
        ] + super().get_urls()

    def has_import_permission(self, request):
        return request.user.has_perm("crm.import_customer")

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "has_import_permission": self.has_import_permission(request)}
        return super().changelist_view(request, extra_context)

    def _context(self, request, **kwargs):
        return {**self.admin_site.each_context(request), "opts": self.opts, **kwargs}

    def import_view(self, request):
        if not self.has_import_permission(request):
            raise PermissionDenied
        may_assign = request.user.has_perm("crm.reassign_customer")
        form = LeadImportForm(request.POST or None, request.FILES or None, may_assign=may_assign)
        if request.method == "POST" and form.is_valid():
            try:
                lead_import = service.lead_import_preview(
                    upload=form.cleaned_data["file"],
                    by=request.user,
                    owner_mode=form.cleaned_data.get("owner_mode", LeadImport.OwnerMode.IMPORTER),
                    consultant=form.cleaned_data.get("consultant"),
                    name=form.cleaned_data["file"].name,
                )
            except (LeadFileError, service.ImportRefused) as error:
                form.add_error("file", str(error))
            else:
                return HttpResponseRedirect(self._preview_url(lead_import))
        context = self._context(request, title=_("Import leads"), form=form)
        return TemplateResponse(request, "admin/crm/customer/import.html", context)

    def import_template_view(self, request):
        if not self.has_import_permission(request):
            raise PermissionDenied
        response = HttpResponse(template_csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="leads-template.csv"'
        return response

    def import_preview_view(self, request, token):
        if not self.has_import_permission(request):
            raise PermissionDenied
        lead_import = get_object_or_404(LeadImport, token=token)
        if lead_import.created_by_id != request.user.pk:
            raise Http404  # an import is its importer's alone; say nothing of others'
        if request.method == "POST":
            return self._decide(request, lead_import)
        context = self._context(
            request,
            title=_("Import preview: %(file)s") % {"file": lead_import.original_name},
            lead_import=lead_import,
            invalid_rows=list(service.invalid_rows(lead_import, limit=PREVIEW_ROWS)),
            duplicate_rows=list(service.duplicate_rows(lead_import, limit=PREVIEW_ROWS)),
            preview_rows=PREVIEW_ROWS,
            # The first rows as decoded: a wrong guess at the file's encoding shows here as garbled names.
            sample_rows=lead_import.rows.order_by("row_number").values_list("row_number", "name", "phone")[:5],
        )
        return TemplateResponse(request, "admin/crm/customer/import_preview.html", context)

    def _decide(self, request, lead_import):
        changelist = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        if "cancel" in request.POST:
            service.lead_import_cancel(lead_import=lead_import, by=request.user)
            self.message_user(request, _("The import was cancelled; nothing was changed."), messages.INFO)
            return HttpResponseRedirect(changelist)
        try:
            done = service.lead_import_confirm(lead_import=lead_import, by=request.user)
        except service.ImportRefused as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(self._preview_url(lead_import))
        self.message_user(
            request,
            _("Imported: %(new)d new, %(updated)d existing updated, %(unchanged)d unchanged; %(skipped)d rows skipped.")
            % {
                "new": done.new,
                "updated": done.updated,
                "unchanged": done.unchanged,
                "skipped": done.duplicate + done.invalid,
            },
            messages.SUCCESS,
        )
        return HttpResponseRedirect(changelist)

    def _preview_url(self, lead_import):
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_import_preview", args=[lead_import.token])


@admin.register(LeadImport)
class LeadImportAdmin(CRMAdmin):
    """Past imports, read-only: who imported which file, when, and what it did."""

    list_display = [
        "original_name",
        "created_by",
        "created_at",
        "status",
        "new",
        "updated",
        "unchanged",
        "duplicate",
        "invalid",
    ]
    list_filter = ["status", ("created_by", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["created_by"]
    search_fields = ["original_name"]
    exclude = ["file"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
