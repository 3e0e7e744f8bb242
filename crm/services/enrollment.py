"""The enrollment flow: start, the student's link, documents, submission, and the audit (approve, reject, reopen).

Every step re-checks what the pages check; steps that must happen once (submit, approve) lock the row first,
so two tabs, a double click or two auditors end with one submission and one payment.
"""

import datetime
import hashlib
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm import access, roles
from crm.emails import send_templated
from crm.models import ClassGrade, Customer, Enrollment, EnrollmentDocument, Payment, Student
from crm.services import academics, money
from crm.uploads import check_document

Status = Enrollment.Status

NOT_YOURS = _("This customer is not yours to enroll.")
CLASS_FULL = _("%(class)s is full: no seats are left.")
ALREADY_APPROVED = _("This enrollment is already approved; its link can no longer be changed.")
NO_EMAIL = _("This customer has no email address; copy the link and send it another way.")
NOT_OPEN = _("This enrollment form is no longer open for changes.")
TOO_MANY_DOCUMENTS = _("At most %(count)d documents can be uploaded; remove one first.")
MUST_AGREE = _("Please tick “I have read and agree” to accept the contract.")
NEEDS_DOCUMENT = _("Please upload at least one ID document.")
CONTRACT_CHANGED = _("The contract changed while you were reading it. Please read it again and resubmit.")
PHONE_TAKEN = _("This phone number is already registered with us; please ask your consultant.")
EMAIL_TAKEN = _("This email address is already registered with us; please ask your consultant.")
NOT_SUBMITTED = _("Only a submitted enrollment can be approved or rejected (this one is “%(status)s”).")
NOT_REJECTED = _("Only a rejected enrollment can be reopened.")
REASON_REQUIRED = _("Say why the enrollment is rejected: the student will read it.")
CANNOT_AUDIT = _("You may not audit this enrollment.")
LOGIN_TAKEN = _(
    "The login for this phone number already belongs to another person (a colleague or another student); "
    "ask the school administrator to sort it out before approving."
)


# --- the salesperson --------------------------------------------------------------------------------------------


def seats_left(class_grade: ClassGrade) -> int:
    """Seats not yet taken by students placed in the class (annotated `seats_taken` is used when present)."""
    taken = getattr(class_grade, "seats_taken", None)
    if taken is None:
        taken = class_grade.students.count()
    return max(class_grade.capacity - taken, 0)


@transaction.atomic
def enrollment_start(*, customer: Customer, class_grade: ClassGrade, by) -> Enrollment:
    """The customer's enrollment in the class: the existing one, or a new one if the class has a seat."""
    existing = Enrollment.objects.filter(customer=customer, class_grade=class_grade).first()
    if existing and access.can_reach(by, customer):
        return existing
    return enrollment_create(enrollment=Enrollment(customer=customer, class_grade=class_grade), by=by)


@transaction.atomic
def enrollment_create(*, enrollment: Enrollment, by) -> Enrollment:
    """A new enrollment for a customer `by` may reach, in a class with a free seat; the customer's owner runs it."""
    if not (by.has_perm("crm.add_enrollment") and access.can_reach(by, enrollment.customer)):
        raise PermissionDenied(NOT_YOURS)
    class_grade = _lock_class(enrollment.class_grade_id)
    if seats_left(class_grade) <= 0:
        raise ValidationError({"class_grade": CLASS_FULL % {"class": class_grade}}, code="class_full")
    enrollment.consultant = enrollment.customer.consultant or by
    enrollment._history_user = by
    enrollment.full_clean()
    enrollment.save()
    return enrollment


def _lock_class(class_id: int) -> ClassGrade:
    """The class's row, locked: two steps taking its last seat cannot both see it free."""
    return ClassGrade.objects.select_for_update(of=("self",)).get(pk=class_id)


def _lock(enrollment: Enrollment, statuses, message, code: str) -> Enrollment:
    """The enrollment's row, locked to the end of the transaction, if its status as it is now allows the step."""
    locked = Enrollment.objects.select_for_update(of=("self",)).select_related("customer").get(pk=enrollment.pk)
    if locked.status not in statuses:
        raise ValidationError(message, code=code, params={"status": locked.get_status_display()})
    return locked


def _check_may_handle(enrollment: Enrollment, by) -> None:
    if not (by.has_perm("crm.change_enrollment") and access.can_reach(by, enrollment)):
        raise PermissionDenied(CANNOT_AUDIT)


@transaction.atomic
def link_renew(*, enrollment: Enrollment, by) -> Enrollment:
    """A fresh link; every link issued before stops working."""
    _check_may_handle(enrollment, by)
    unapproved = [Status.LINK_SENT, Status.SUBMITTED, Status.REJECTED]
    enrollment = _lock(enrollment, unapproved, ALREADY_APPROVED, "approved")
    enrollment.link_version += 1  # the row is locked: no other renewal can interleave
    enrollment._history_user = by
    enrollment._change_reason = gettext("New enrollment link issued")
    enrollment.save(update_fields=["link_version"])
    return enrollment


def link_send(*, enrollment: Enrollment, link_url: str, by) -> None:
    """Queue an email with the link to the student (the customer's email address); sent after the commit."""
    _check_may_handle(enrollment, by)
    if Enrollment.objects.filter(pk=enrollment.pk, status=Status.APPROVED).exists():  # as it is now, not as loaded
        raise ValidationError(ALREADY_APPROVED, code="approved")
    email = enrollment.customer.email
    if not email:
        raise ValidationError(NO_EMAIL, code="no_email")
    context = {
        "name": enrollment.customer.name,
        "class_name": enrollment.class_grade,  # named in the email's language
        "course": enrollment.class_grade.course.name,
        "url": link_url,
        "days": settings.ENROLLMENT_LINK_MAX_AGE_DAYS,
        "consultant": by.get_full_name() or by.get_username(),
    }
    send_templated("enrollment_link", context, to=email, language=_student_language())  # queued: see crm.emails


# --- the student ------------------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{(student_name|class_name|course_name|price)\}")


def contract_text(enrollment: Enrollment, student_name: str | None = None) -> str:
    """The class's contract with the student's and class's names filled in (plain text, never a template)."""
    class_grade = enrollment.class_grade
    template = class_grade.contract_template
    values = {
        "student_name": student_name or enrollment.customer.name,
        "class_name": str(class_grade),
        "course_name": class_grade.course.name,
        "price": f"{class_grade.course.price:,.2f}",
    }
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template.content if template else "")


def contract_digest(enrollment: Enrollment) -> str:
    """A fingerprint of the contract the page shows, whatever name the student then types into it."""
    return hashlib.sha256(contract_text(enrollment, student_name="\N{REPLACEMENT CHARACTER}").encode()).hexdigest()


def is_open(enrollment: Enrollment) -> bool:
    """Whether the student may still change the form."""
    return enrollment.status == Status.LINK_SENT


def _lock_open(enrollment: Enrollment) -> Enrollment:
    return _lock(enrollment, [Status.LINK_SENT], NOT_OPEN, "not_open")


def documents_add(*, enrollment: Enrollment, uploads) -> list[EnrollmentDocument]:
    """Store the student's ID documents: all of them or, if one is refused, none."""
    _refuse_too_many(enrollment, uploads)  # before the costly judging, and again under the lock
    # Judged before the transaction: decoding a picture takes time and memory, and must not hold the
    # enrollment's row lock (nor SQLite's database lock) meanwhile.
    errors, checked = [], []
    for upload in uploads:
        try:
            checked.append((upload, check_document(upload)))
        except ValidationError as error:
            errors.extend(error.messages)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        enrollment = _lock_open(enrollment)
        _refuse_too_many(enrollment, uploads)
        return _store_documents(enrollment, checked)


def _refuse_too_many(enrollment: Enrollment, uploads) -> None:
    if enrollment.documents.count() + len(uploads) > settings.DOCUMENT_MAX_COUNT:
        raise ValidationError(TOO_MANY_DOCUMENTS, code="too_many", params={"count": settings.DOCUMENT_MAX_COUNT})


def _store_documents(enrollment: Enrollment, checked) -> list[EnrollmentDocument]:
    documents = []
    try:
        for upload, info in checked:
            document = EnrollmentDocument(
                enrollment=enrollment,
                original_name=info.original_name,
                content_type=info.content_type,
                size=info.size,
                sha256=info.sha256,
            )
            document.file.save(info.original_name, upload, save=False)
            documents.append(document)
            document.save()
    except BaseException:
        for document in documents:  # files written for rows that will not exist must not stay behind
            document.file.storage.delete(document.file.name)
        raise
    return documents


@transaction.atomic
def document_remove(*, enrollment: Enrollment, document_id) -> None:
    """Take back an uploaded document before submitting."""
    enrollment = _lock_open(enrollment)
    try:
        document_id = uuid.UUID(str(document_id))
    except ValueError:
        return  # not an id we ever gave out: nothing to remove
    document = enrollment.documents.filter(public_id=document_id).first()
    if document is not None:
        document.delete()  # its file goes once this commits (crm.signals)


@dataclass
class StudentData:
    name: str
    phone: str  # normalized
    email: str
    id_type: str
    id_number: str
    birthday: datetime.date | None
    address: str
    emergency_contact: str
    emergency_phone: str


@transaction.atomic
def enrollment_submit(*, enrollment: Enrollment, data: StudentData, agreed: bool, shown_digest: str) -> Enrollment:
    """The student's submission, once: the first of two tabs or clicks wins, the second is told it is done."""
    enrollment = _lock_open(enrollment)
    errors = {}
    if not agreed:
        errors["agree"] = MUST_AGREE
    if not enrollment.documents.exists():
        errors["documents"] = NEEDS_DOCUMENT
    if shown_digest != contract_digest(enrollment):
        errors["agree"] = CONTRACT_CHANGED
    customer = enrollment.customer
    if Customer.objects.filter(phone=data.phone).exclude(pk=customer.pk).exists():
        errors["phone"] = PHONE_TAKEN
    if data.email and Customer.objects.filter(email__iexact=data.email).exclude(pk=customer.pk).exists():
        errors["email"] = EMAIL_TAKEN
    if errors:
        raise ValidationError(errors)

    now = timezone.now()
    customer.name, customer.phone, customer.email = data.name, data.phone, data.email or customer.email
    customer._change_reason = gettext("Updated by the student on the enrollment form")
    customer.full_clean(exclude=["consult_courses", "tags"])
    customer.save()
    for field in ("id_type", "id_number", "birthday", "address", "emergency_contact", "emergency_phone"):
        setattr(enrollment, field, getattr(data, field))
    enrollment.contract_text = contract_text(enrollment, student_name=data.name)  # as agreed, with their name
    enrollment.contract_agreed, enrollment.contract_agreed_at = True, now
    enrollment.status, enrollment.submitted_at = Status.SUBMITTED, now
    enrollment.reject_reason = ""
    enrollment._change_reason = gettext("Submitted by the student")
    enrollment.full_clean()
    enrollment.save()
    return enrollment


# --- the audit --------------------------------------------------------------------------------------------------


def _lock_submitted(enrollment: Enrollment, by) -> Enrollment:
    _check_may_handle(enrollment, by)
    return _lock(enrollment, [Status.SUBMITTED], NOT_SUBMITTED, "not_submitted")


@transaction.atomic
def enrollment_approve(
    *, enrollment: Enrollment, by, amount: Decimal, method: str, note: str = "", set_password_url, installments=()
) -> Payment:
    """Approve once: the payment, the student and their portal login, the class seat, the customer enrolled.

    `set_password_url(user)` builds the absolute link of the set-password email (the caller knows the host).
    A first payment short of the price needs `installments` (crm.services.money.PlannedInstallment) for the rest.
    """
    if not by.has_perm("crm.add_payment"):
        raise PermissionDenied(CANNOT_AUDIT)
    # The customer first, then the enrollment: the order reassigning a customer takes them in.
    customer = Customer.objects.select_for_update().get(pk=enrollment.customer_id)
    enrollment = _lock_submitted(enrollment, by)
    class_grade = _lock_class(enrollment.class_grade_id)
    student = Student.objects.filter(customer=customer).select_related("user").first()
    already_in_class = student is not None and student.classes.filter(pk=class_grade.pk).exists()
    if not already_in_class and seats_left(class_grade) <= 0:
        raise ValidationError(CLASS_FULL % {"class": class_grade}, code="class_full")
    money.approval_check(enrollment, amount, list(installments))

    now = timezone.now()
    payment = Payment(
        customer=customer,
        enrollment=enrollment,
        course=class_grade.course,
        amount=amount,
        method=method,
        consultant=enrollment.consultant,
        paid_at=now,
        note=note,
    )
    payment._history_user = by
    payment.full_clean()
    payment.save()
    money.plan_at_approval(enrollment=enrollment, payment=payment, installments=list(installments), by=by)

    if student is None:
        student = Student.objects.create(customer=customer, user=_portal_user(customer))
    student.classes.add(class_grade)
    academics.study_records_for_new_student(student=student, class_grade=class_grade)

    customer.status = Customer.Status.ENROLLED
    customer._history_user, customer._change_reason = by, gettext("Enrollment approved")
    customer.save(update_fields=["status", "updated_at"])

    enrollment.status = Status.APPROVED
    enrollment.contract_approved, enrollment.approved_by, enrollment.approved_at = True, by, now
    enrollment._history_user, enrollment._change_reason = by, gettext("Approved with payment")
    enrollment.save()

    user = student.user
    if user.email and not user.has_usable_password():
        # Queued for after the commit (crm.emails): a mail server that is down never undoes a finished approval.
        _send_set_password(user, set_password_url(user), class_grade, _student_language())
    return payment


def _portal_user(customer: Customer):
    """The student's portal login: the phone (E.164) is the username; the password is set by email link."""
    User = get_user_model()
    user = User.objects.filter(username=customer.phone).first()
    if user is not None and (user.is_staff or Student.objects.filter(user=user).exists()):
        raise ValidationError(LOGIN_TAKEN, code="login_taken")
    if user is None:
        try:
            with transaction.atomic():
                user = User(username=customer.phone, email=customer.email, first_name=customer.name[:150])
                user.set_unusable_password()
                user.save()
        except IntegrityError:
            user = User.objects.get(username=customer.phone)
    user.groups.add(Group.objects.get(name=roles.STUDENT))
    return user


def set_password_path(user) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("portal:password_set", args=[uid, default_token_generator.make_token(user)])


def _send_set_password(user, url: str, class_grade, language: str) -> None:
    context = {
        "name": user.first_name or user.get_username(),
        "class_name": class_grade,
        "login": user.get_username(),
        "url": url,
    }
    send_templated("welcome", context, to=user.email, language=language)


def _student_language() -> str:
    """Students keep no language of their own: they are written to in the one the member of staff works in."""
    return translation.get_language() or settings.LANGUAGE_CODE


@transaction.atomic
def enrollment_reject(*, enrollment: Enrollment, by, reason: str) -> Enrollment:
    """Send the form back with a reason the student reads; it can be reopened for them to correct."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": REASON_REQUIRED})
    enrollment = _lock_submitted(enrollment, by)
    enrollment.status, enrollment.reject_reason = Status.REJECTED, reason
    enrollment._history_user, enrollment._change_reason = by, gettext("Rejected")
    enrollment.save()
    return enrollment


@transaction.atomic
def enrollment_reopen(*, enrollment: Enrollment, by) -> Enrollment:
    """Let the student correct a rejected form through the same link."""
    _check_may_handle(enrollment, by)
    enrollment = _lock(enrollment, [Status.REJECTED], NOT_REJECTED, "not_rejected")
    enrollment.status = Status.LINK_SENT
    enrollment.contract_agreed, enrollment.contract_agreed_at = False, None
    enrollment._history_user, enrollment._change_reason = by, gettext("Reopened for the student")
    enrollment.save()
    return enrollment
