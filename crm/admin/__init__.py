"""One ModelAdmin module per model (reference data together in org), all over crm.admin.base."""

from . import (
    class_grade,
    course_record,
    customer,
    enrollment,
    follow_up,
    org,
    payment,
    personal_data_access,
    pool,
    student,
    study_record,
    topbar,
    users,
)

__all__ = [
    "class_grade",
    "course_record",
    "customer",
    "enrollment",
    "follow_up",
    "org",
    "payment",
    "personal_data_access",
    "pool",
    "student",
    "study_record",
    "topbar",
    "users",
]
