"""The customer list's Import button: upload, preview (dry run), confirm; and the list of past imports."""

import csv

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField, Case, Value, When
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm import access, selectors
from crm.lead_files import LeadFileError, template_csv
from crm.models import LeadImport
from crm.resources import escape_formula
from crm.services import lead_import as service
from crm.services import lead_import_jobs as jobs

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
            path("import/<uuid:token>/status/", wrap(self.import_status_view), name="%s_%s_import_status" % info),
            path(
                "import/<uuid:token>/invalid-rows.csv",
                wrap(self.import_invalid_rows_view),
                name="%s_%s_import_invalid_rows" % info,
            ),
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
                lead_import = jobs.lead_import_start(
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

    def _own_import(self, request, token) -> LeadImport:
        if not self.has_import_permission(request):
            raise PermissionDenied
        jobs.lead_import_mark_stale()
        # Another's import is a 404: say nothing of it.
        return get_object_or_404(access.own_imports(request.user), token=token)

    def import_preview_view(self, request, token):
        """The import's one page: its progress while the worker reads or imports it, then the preview and the
        decision, or why it failed and a way to try again."""
        lead_import = self._own_import(request, token)
        if request.method == "POST":
            return self._decide(request, lead_import)
        context = self._context(
            request,
            title=_("Import preview: %(file)s") % {"file": lead_import.original_name},
            lead_import=lead_import,
            status_url=reverse(self._url_name("import_status"), args=[token]),
        )
        if lead_import.status in (LeadImport.Status.PREVIEWED, LeadImport.Status.IMPORTED):
            context.update(
                invalid_rows=list(service.invalid_rows(lead_import, limit=PREVIEW_ROWS)),
                invalid_rows_url=reverse(self._url_name("import_invalid_rows"), args=[token]),
                duplicate_rows=list(service.duplicate_rows(lead_import, limit=PREVIEW_ROWS)),
                preview_rows=PREVIEW_ROWS,
                # The first rows as decoded: a wrong guess at the file's encoding shows here as garbled names.
                sample_rows=lead_import.rows.order_by("row_number").values_list("row_number", "name", "phone")[:5],
            )
        return TemplateResponse(request, "admin/crm/customer/import_preview.html", context)

    def import_status_view(self, request, token):
        """What the page's progress bar polls (crm/static/crm/import_progress.js)."""
        lead_import = self._own_import(request, token)
        return JsonResponse(
            {
                "status": lead_import.status,
                "label": lead_import.get_status_display(),
                "running": lead_import.is_running,
                "rows_read": lead_import.rows_read,
                "expected_rows": lead_import.expected_rows,
                "percent": lead_import.percent_read,
                "failure": lead_import.failure,
            }
        )

    def import_invalid_rows_view(self, request, token):
        """The invalid rows as a CSV to fix the file by: row number, column, reason (UTF-8 with a BOM, for Excel)."""
        lead_import = self._own_import(request, token)
        writer = csv.writer(_Echo())

        def lines():
            yield "\ufeff" + writer.writerow([gettext("Row"), gettext("Column"), gettext("Problem")])
            for number, column, reason in service.invalid_rows(lead_import):
                yield writer.writerow([number, escape_formula(column), escape_formula(reason)])

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="invalid-rows-{lead_import.pk}.csv"'
        return response

    def _decide(self, request, lead_import):
        changelist = reverse(self._url_name("changelist"))
        if "cancel" in request.POST:
            if service.lead_import_cancel(lead_import=lead_import, by=request.user):
                self.message_user(request, _("The import was cancelled; nothing was changed."), messages.INFO)
                return HttpResponseRedirect(changelist)
            self.message_user(request, _("This import can no longer be cancelled."), messages.ERROR)
            return HttpResponseRedirect(self._preview_url(lead_import))
        try:
            if "retry" in request.POST:
                jobs.lead_import_retry(lead_import=lead_import, by=request.user)
                return HttpResponseRedirect(self._preview_url(lead_import))
            if lead_import.in_background:
                jobs.lead_import_confirm_later(lead_import=lead_import, by=request.user)
                self.message_user(
                    request,
                    _("The leads are being imported. You may leave this page: your imports list shows how it goes."),
                    messages.INFO,
                )
                return HttpResponseRedirect(self._preview_url(lead_import))
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

    def _url_name(self, view: str) -> str:
        return f"admin:{self.opts.app_label}_{self.opts.model_name}_{view}"

    def _preview_url(self, lead_import):
        return reverse(self._url_name("import_preview"), args=[lead_import.token])


class _Echo:
    """csv.writer's file, handing back each line for streaming."""

    def write(self, line):
        return line


@admin.register(LeadImport)
class LeadImportAdmin(CRMAdmin):
    """Past and running imports, read-only: who imported which file, when, how far it is and what it did."""

    list_display = [
        "original_name",
        "created_by",
        "created_at",
        "state",
        "new",
        "updated",
        "unchanged",
        "duplicate",
        "invalid",
        "page",
    ]
    list_filter = ["status", ("created_by", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["created_by"]
    search_fields = ["original_name"]
    exclude = ["file", "attempt"]

    def changelist_view(self, request, extra_context=None):
        jobs.lead_import_mark_stale()
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("status"), ordering="status")
    def state(self, obj):
        if obj.status == LeadImport.Status.READING and obj.expected_rows:
            return _("%(status)s: %(percent)d%%") % {"status": obj.get_status_display(), "percent": obj.percent_read}
        if obj.status == LeadImport.Status.FAILED:
            return format_html("{}<br><small>{}</small>", obj.get_status_display(), obj.failure)
        return obj.get_status_display()

    @admin.display(description=_("import page"))
    def page(self, obj):
        """The importer's way back to an import they left: its progress, preview or failure."""
        if not getattr(obj, "is_mine", False):
            return ""
        url = reverse("admin:crm_customer_import_preview", args=[obj.token])
        return format_html('<a href="{}">{}</a>', url, gettext("Open"))

    def get_queryset(self, request):
        mine = Case(
            When(access.own_import_scope(request.user), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
        return super().get_queryset(request).annotate(is_mine=mine)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
