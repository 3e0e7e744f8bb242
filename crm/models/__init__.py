"""The CRM's domain, one module per area, re-exported here."""

from .academics import CalendarFeed, CourseRecord, Student, StudyRecord
from .enrollment import Enrollment, EnrollmentDocument, Payment
from .imports import LeadImport, LeadImportRow
from .leads import Customer, CustomerUserObjectPermission, FollowUp, PoolReason
from .money import BalanceDue, Installment, Refund
from .org import Branch, ClassGrade, ContractTemplate, Course, Tag
from .pool import PoolCustomer, PoolMove
from .privacy import PersonalDataAccess
from .staff import StaffProfile
from .tallies import DueTally, LeadTally, PaymentTally, install_tallies

__all__ = [
    "BalanceDue",
    "Installment",
    "Refund",
    "Branch",
    "CalendarFeed",
    "ClassGrade",
    "ContractTemplate",
    "Course",
    "CourseRecord",
    "Customer",
    "CustomerUserObjectPermission",
    "DueTally",
    "Enrollment",
    "EnrollmentDocument",
    "FollowUp",
    "LeadImport",
    "LeadImportRow",
    "LeadTally",
    "Payment",
    "PaymentTally",
    "PersonalDataAccess",
    "StaffProfile",
    "PoolCustomer",
    "PoolMove",
    "PoolReason",
    "Student",
    "StudyRecord",
    "Tag",
    "install_tallies",
]
