"""Exports from an admin list: the rows the list shows (its filters, search and order, through the changelist and
so through crm.access), written for Excel (crm.resources).

The export page is reached from the list with its query string (?status__exact=following&q=…&o=2) and its form
posts back to that same address (templates/admin/import_export/export.html), so import-export's changelist reads the
list's parameters when the file is made.
"""

from django.utils import timezone
from import_export.admin import ExportMixin
from import_export.forms import SelectableFieldsExportForm

from crm.resources import EXPORT_FORMATS


class SpreadsheetExportForm(SelectableFieldsExportForm):
    """import-export's form in words people use: formats by name (the first chosen), columns by their headers."""

    def _init_formats(self, formats):
        super()._init_formats(formats)
        self.fields["format"].choices = [(str(i), file_format.label) for i, file_format in enumerate(formats)]
        self.initial.setdefault("format", "0")

    def _get_field_label(self, resource, field_name):
        return resource.fields[field_name].column_name


class SpreadsheetExportMixin(ExportMixin):
    export_formats = EXPORT_FORMATS
    export_form_class = SpreadsheetExportForm

    def get_export_filename(self, request, queryset, file_format):
        return f"{self.model.__name__}-{timezone.localdate():%Y-%m-%d}.{file_format.get_extension()}"
