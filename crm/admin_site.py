"""The admin site: its front page is the dashboard of the person signed in."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from crm import reports


class CRMAdminSite(admin.AdminSite):
    index_title = _("Dashboard")

    def index(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "dashboard": reports.dashboard(request.user)}
        return super().index(request, extra_context)
