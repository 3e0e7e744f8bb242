"""The personal-data access log, for school administrators to read; nobody writes or deletes it here."""

from django.contrib import admin

from crm.models import PersonalDataAccess

from .base import CRMAdmin


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(CRMAdmin):
    list_display = ["at", "username", "action", "customer", "rows", "detail"]
    list_filter = ["action", "at"]
    list_select_related = ["customer"]
    search_fields = ["username", "detail"]
    date_hierarchy = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
