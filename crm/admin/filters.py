"""List filters that more than one admin list takes."""

from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from crm import reports
from crm.forms import DashboardFilterForm


class DashboardFilter(admin.ListFilter):
    """The dashboard's own filter, on the lists its figures link to: a link shows the rows its figure counts.

    It reads the dashboard's parameters (the leads' date range, campus, course) as the dashboard's form does,
    and narrows by what the figures count (reports.counted). It only narrows: crm.access chose the rows already.
    """

    title = _("dashboard")
    # Hidden inputs keep the parameters when the list's filter bar is submitted; jazzmin's select would keep one.
    template = "admin/crm/dashboard_filter.html"
    parameters = [reports.COUNTED_PARAMETER, *DashboardFilterForm.base_fields]

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        for name in self.parameters:
            if name in params:
                self.used_parameters[name] = params.pop(name)[-1]

    def expected_parameters(self):
        return self.parameters

    def has_output(self):
        return bool(self.used_parameters)  # shown, and applied, only on a list opened from the dashboard

    def choices(self, changelist):
        cleared = changelist.get_query_string(dict.fromkeys(self.parameters))
        yield {"selected": True, "query_string": cleared, "display": _("as counted on your dashboard")}

    def queryset(self, request, queryset):
        filters = DashboardFilterForm(self.used_parameters).filters()
        return queryset.filter(reports.counted(request.user, queryset.model, filters))


class OwnerFilter(admin.RelatedFieldListFilter):
    """The people who own (or wrote) at least one row, as RelatedOnlyFieldListFilter offers them, found by one
    index probe per person instead of a DISTINCT over the whole table."""

    def field_choices(self, field, request, model_admin):
        rows = model_admin.model._default_manager.filter(**{field.name: OuterRef("pk")})
        people = field.related_model._default_manager.filter(Exists(rows)).values("pk")
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(include_blank=False, limit_choices_to={"pk__in": people}, ordering=ordering)
