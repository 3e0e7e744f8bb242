"""Personal data (PIPL): the record of who looked at what, a person's data on request, and erasure.

Erasure keeps what the school must keep (payments, classes, attendance) and removes what identifies the
person, from the rows and from their history: the name becomes a placeholder, contacts, ID data, documents,
notes and the portal login go.
"""

import io
import json
import zipfile

from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm import access
from crm.models import Customer, Enrollment, FollowUp, LeadImportRow, PersonalDataAccess, StudyRecord

NOT_ALLOWED_TO_EXPORT = _("Only the customer's salesperson and managers may export a person's data.")
NOT_ALLOWED_TO_ERASE = _("Only school administrators may erase a person's data.")
ALREADY_ERASED = _("This person's data has already been erased.")
ERASED_REASON = _("Erased on the person's request")

Action = PersonalDataAccess.Action


def access_record(*, by, action: str, customer: Customer | None = None, detail: str = "", rows: int = 1) -> None:
    """One line of the personal-data access log (who, when, what, whose, how many rows)."""
    PersonalDataAccess.objects.create(
        user=by, username=by.get_username(), action=action, customer=customer, detail=detail[:500], rows=rows
    )


# ------------------------------------------------------------------------------------------------------------
# A person's data, on their request
# ------------------------------------------------------------------------------------------------------------


def person_export(*, customer: Customer, by) -> bytes:
    """A ZIP of everything the school holds about this person: data.json and their ID documents."""
    if not access.sees_personal_data(by, customer):
        raise PermissionDenied(NOT_ALLOWED_TO_EXPORT)
    enrollments = list(customer.enrollments.select_related("class_grade__course").prefetch_related("documents"))
    data = {
        "customer": _fields(
            customer, ["name", "phone", "qq", "wechat", "email", "source", "status", "content", "created_at"]
        )
        | {
            "campus": str(customer.branch or ""),
            "courses of interest": [str(c) for c in customer.consult_courses.all()],
            "consultant": customer.consultant.get_username() if customer.consultant else "",
        },
        "follow_ups": [
            _fields(f, ["created_at", "intention", "content", "next_follow_up"])
            for f in customer.follow_ups.order_by("created_at")
        ],
        "enrollments": [
            _fields(
                e,
                ["status", "id_type", "id_number", "birthday", "address", "emergency_contact", "emergency_phone"],
            )
            | {"class": str(e.class_grade), "contract": e.contract_text, "agreed_at": e.contract_agreed_at}
            for e in enrollments
        ],
        "payments": [
            _fields(p, ["amount", "method", "paid_at", "note"]) | {"course": str(p.course)}
            for p in customer.payments.select_related("course").order_by("paid_at")
        ],
        "study_records": [
            _fields(r, ["attendance", "score", "homework_original_name"]) | {"lesson": str(r.course_record)}
            for r in _study_records(customer)
        ],
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2))
        for enrollment in enrollments:
            for document in enrollment.documents.all():
                with document.file.open("rb") as file:
                    archive.writestr(f"documents/{document.public_id.hex[:8]}-{document.original_name}", file.read())
    access_record(by=by, action=Action.PERSON_EXPORT, customer=customer, detail=f"#{customer.pk}")
    return out.getvalue()


def _fields(obj, names) -> dict:
    return {name: getattr(obj, name) for name in names}


def _study_records(customer):
    student = getattr(customer, "student", None)
    if student is None:
        return StudyRecord.objects.none()
    return student.study_records.select_related("course_record__class_grade__course").order_by("course_record_id")


# ------------------------------------------------------------------------------------------------------------
# Erasure
# ------------------------------------------------------------------------------------------------------------


def erased_name(customer: Customer) -> str:
    return gettext("Erased person %(id)s") % {"id": customer.pk}


def may_erase(user) -> bool:
    """School administrators (holders of crm.erase_customer) erase; the admin asks here before showing the page."""
    return user.is_active and user.has_perm("crm.erase_customer")


@transaction.atomic
def customer_erase(*, customer: Customer, by) -> Customer:
    """Remove what identifies this person, in the rows and in their history; keep money and teaching records."""
    if not may_erase(by):
        raise PermissionDenied(NOT_ALLOWED_TO_ERASE)
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.phone.startswith("erased-"):
        raise PermissionDenied(ALREADY_ERASED)
    name = erased_name(customer)
    old_names = {n for n in (customer.name, customer.phone) if n}
    login_name = None
    customer_blank = {
        "name": name,
        "phone": f"erased-{customer.pk}",
        "qq": "",
        "wechat": "",
        "email": "",
        "content": "",
    }
    enrollment_blank = {
        "id_number": "",
        "birthday": None,
        "address": "",
        "emergency_contact": "",
        "emergency_phone": "",
    }

    enrollments = list(Enrollment.objects.filter(customer=customer))
    for enrollment in enrollments:
        for document in enrollment.documents.all():
            document.delete()  # its file goes once this commits
        contract = enrollment.contract_text
        for old in old_names:
            contract = contract.replace(old, name)
        Enrollment.objects.filter(pk=enrollment.pk).update(**enrollment_blank, contract_text=contract)
        Enrollment.history.filter(id=enrollment.pk).update(**enrollment_blank, contract_text=contract)
    follow_ups = FollowUp.objects.filter(customer=customer)
    FollowUp.history.filter(id__in=follow_ups.values("pk")).update(content="")
    follow_ups.update(content="")
    student = getattr(customer, "student", None)
    if student is not None and student.user_id:
        user = student.user
        login_name = user.get_username()
        user.username, user.first_name, user.last_name, user.email = f"erased-{student.pk}", "", "", ""
        user.is_active = False
        user.set_unusable_password()
        user.save()
    for record in _study_records(customer).exclude(homework_file=""):
        record.homework_file.delete(save=False)  # the work may carry their name; attendance and scores stay
        record.save(update_fields=["homework_file"])
    # Their rows in import files: a new lead's row is known by its phone (the import writes no id back to it).
    staged = Q(customer=customer) | Q(phone=customer.phone) if customer.phone else Q(customer=customer)
    LeadImportRow.objects.filter(staged).update(name="", phone="", qq="", wechat="", email="", content="")
    _forget_sign_in_attempts({n for n in (customer.phone, login_name) if n})

    Customer.history.filter(id=customer.pk).update(**customer_blank)
    for field, value in customer_blank.items():
        setattr(customer, field, value)
    customer.archived_at = customer.archived_at or timezone.now()
    customer._history_user, customer._change_reason = by, str(ERASED_REASON)
    customer.save()
    access_record(by=by, action=Action.ERASURE, customer=customer, detail=f"#{customer.pk}")
    return customer


def _forget_sign_in_attempts(usernames) -> None:
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    for model in (AccessAttempt, AccessLog, AccessFailureLog):
        model.objects.filter(username__in=usernames).delete()
