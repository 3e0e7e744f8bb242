from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from crm.models import Enrollment, EnrollmentDocument

from .base import CRMHistoryAdmin, CRMTabularInline


class EnrollmentDocumentInline(CRMTabularInline):
    model = EnrollmentDocument
    fields = ["original_name", "content_type", "size", "uploaded_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # documents come from the student's form only


@admin.register(Enrollment)
class EnrollmentAdmin(CRMHistoryAdmin):
    list_display = ["customer", "class_grade", "status", "consultant", "submitted_at", "created_at"]
    list_filter = [
        "status",
        ("class_grade", admin.RelatedOnlyFieldListFilter),
        ("consultant", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["customer", "class_grade__course", "class_grade__branch", "consultant"]
    search_fields = ["customer__name", "customer__phone", "id_number"]
    autocomplete_fields = ["customer", "class_grade"]
    readonly_fields = [
        "consultant",
        "contract_text",
        "contract_agreed",
        "contract_agreed_at",
        "contract_approved",
        "approved_by",
        "approved_at",
        "submitted_at",
        "created_at",
    ]
    inlines = [EnrollmentDocumentInline]
    fieldsets = [
        (None, {"fields": ["customer", "class_grade", "status", "consultant"]}),
        (
            _("Student's data"),
            {"fields": ["id_type", "id_number", "birthday", "address", "emergency_contact", "emergency_phone"]},
        ),
        (_("Contract"), {"fields": ["contract_text", "contract_agreed", "contract_agreed_at", "submitted_at"]}),
        (_("Audit"), {"fields": ["contract_approved", "approved_by", "approved_at", "reject_reason", "created_at"]}),
    ]

    def save_model(self, request, obj, form, change):
        if obj.consultant_id is None:
            obj.consultant = obj.customer.consultant
        super().save_model(request, obj, form, change)
