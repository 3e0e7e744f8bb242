"""Reference data kept by the school admin: campuses, courses, contract templates, tags."""

from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from crm.models import Branch, ContractTemplate, Course, Tag

from .base import CRMAdmin, money_column


@admin.register(Branch)
class BranchAdmin(CRMAdmin):
    list_display = ["name", "address"]
    search_fields = ["name", "address"]


@admin.register(Course)
class CourseAdmin(CRMAdmin):
    list_display = ["name", money_column(Course, "price"), "period", "lessons"]
    search_fields = ["name"]
    fieldsets = [(None, {"fields": ["name", "price", "period", "lessons", "outline"]})]


@admin.register(ContractTemplate)
class ContractTemplateAdmin(CRMAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name", "content"]
    readonly_fields = ["created_at"]


@admin.register(Tag)
class TagAdmin(CRMAdmin):
    list_display = ["name", "customer_count"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(customer_count=Count("customers"))

    @admin.display(description=_("customers"), ordering="customer_count")
    def customer_count(self, tag):
        return tag.customer_count
