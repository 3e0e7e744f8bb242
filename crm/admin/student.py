from django.contrib import admin

from crm.models import Student

from .base import CRMAdmin


@admin.register(Student)
class StudentAdmin(CRMAdmin):
    list_display = ["customer", "user"]
    list_select_related = ["customer", "user"]
    list_filter = [("classes", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["customer__name", "customer__phone", "user__username"]
    autocomplete_fields = ["customer", "user", "classes"]
