"""Export of customers (django-import-export), with the same columns the importer reads."""

from import_export import resources
from import_export.fields import Field

from crm.lead_files import COLUMNS
from crm.models import Customer

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value):
    """A cell a spreadsheet would run as a formula is exported as text (a leading apostrophe)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _column(field: str) -> Field:
    header = next(c.english for c in COLUMNS if c.field == field)
    return Field(attribute=field, column_name=header)


class CustomerResource(resources.ModelResource):
    # The importer's columns (crm.lead_files.COLUMNS), so an export can be imported again, then two for reading.
    name = _column("name")
    phone = _column("phone")
    qq = _column("qq")
    wechat = _column("wechat")
    email = _column("email")
    source = _column("source")
    courses = _column("courses")
    branch = _column("branch")
    tags = _column("tags")
    consultant = _column("consultant")
    content = _column("content")
    status = Field(attribute="status", column_name="status")
    created_at = Field(attribute="created_at", column_name="created at")

    class Meta:
        model = Customer
        fields = [c.field for c in COLUMNS] + ["status", "created_at"]
        export_order = fields

    def dehydrate_source(self, customer):
        return customer.get_source_display()

    def dehydrate_status(self, customer):
        return customer.get_status_display()

    def dehydrate_courses(self, customer):
        return ", ".join(course.name for course in customer.consult_courses.all())

    def dehydrate_branch(self, customer):
        return customer.branch.name if customer.branch else ""

    def dehydrate_tags(self, customer):
        return ", ".join(tag.name for tag in customer.tags.all())

    def dehydrate_consultant(self, customer):
        return customer.consultant.username if customer.consultant else ""

    def export_field(self, field, instance, **kwargs):
        return escape_formula(super().export_field(field, instance, **kwargs))
