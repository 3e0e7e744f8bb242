"""One ModelAdmin module per model (reference data together in org), all over crm.admin.base."""

from . import (
    balance_due,
    class_grade,
    course_record,
    customer,
    enrollment,
    follow_up,
    installment,
    org,
    payment,
    personal_data_access,
    pool,
    refund,
    student,
    study_record,
    topbar,
    users,
)

__all__ = [
    "balance_due",
    "class_grade",
    "course_record",
    "customer",
    "enrollment",
    "follow_up",
    "installment",
    "org",
    "payment",
    "personal_data_access",
    "pool",
    "refund",
    "student",
    "study_record",
    "topbar",
    "users",
]
