"""The admin site: its front page is the dashboard of the person signed in, with each table as CSV."""

import csv

from django.contrib import admin
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from crm import reports, search
from crm.forms import AdminLoginForm, DashboardFilterForm
from crm.resources import escape_formula


class CRMAdminSite(admin.AdminSite):
    index_title = _("Dashboard")
    login_form = AdminLoginForm

    def get_urls(self):
        export = path("dashboard/<slug:key>.csv", self.admin_view(self.dashboard_export), name="dashboard_export")
        one_search = path("search/", self.admin_view(self.search), name="search")
        return [export, one_search, *super().get_urls()]

    def index(self, request, extra_context=None):
        form = DashboardFilterForm(request.GET or None)
        board = reports.dashboard(request.user, form.filters())
        extra_context = {**(extra_context or {}), "dashboard": board, "filter_form": form}
        return super().index(request, extra_context)

    def dashboard_export(self, request, key):
        """One dashboard table, with the same filters, as CSV (Excel opens the UTF-8 BOM correctly)."""
        table = reports.table(request.user, key, DashboardFilterForm(request.GET or None).filters())
        if table is None:
            raise Http404(_("There is no such table on your dashboard."))
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{key}.csv"'
        response.write("\ufeff")
        writer = csv.writer(response)
        writer.writerow([str(header) for header in table.headers])
        for row in table.rows:
            writer.writerow([escape_formula(str(cell.value if cell.value is not None else "")) for cell in row])
        return response

    def search(self, request):
        """The top bar's one search: what the person may reach, grouped; open to every member of staff."""
        query = search.clean_query(request.GET.get("q", ""))
        context = {
            **self.each_context(request),
            "title": _("Search"),
            "query": query,
            "too_short": 0 < len(query) < search.MIN_LENGTH,
            "min_length": search.MIN_LENGTH,
            "groups": search.search(request.user, query),
            "searched": [source.title for source in search.searchable(request.user)],
        }
        return TemplateResponse(request, "admin/search.html", context)
