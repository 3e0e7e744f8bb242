"""Writes on leads: creating customers, recording follow-ups."""

from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import Customer, CustomerUserObjectPermission, Enrollment, FollowUp
from crm.services import pool

DUPLICATE_PHONE = _("This phone number belongs to a customer of %(owner)s.")
DUPLICATE_PHONE_UNOWNED = _("This phone number already belongs to a customer.")
NOT_ALLOWED_TO_REASSIGN = _("Only sales managers can reassign customers.")
NOT_ALLOWED_TO_SHARE = _("Only sales managers can share customers.")
NOT_ALLOWED_TO_ARCHIVE = _("Only sales managers and school administrators can archive customers.")
ARCHIVED = _("Archived")
RESTORED = _("Restored from the archive")
USE_POOL_ACTIONS = _(
    "A lead goes to the pool with the action “Release to the pool”, and leaves it when someone claims it or a "
    "manager assigns it from the lead pool."
)
OPEN_ENROLLMENT_STATUSES = [Enrollment.Status.LINK_SENT, Enrollment.Status.SUBMITTED]


def duplicate_phone_message(existing: Customer) -> str:
    """The error for adding a known phone: names the owner, never the customer."""
    owner = existing.consultant
    name = owner.get_full_name() or owner.get_username() if owner else ""
    return DUPLICATE_PHONE % {"owner": name} if name else str(DUPLICATE_PHONE_UNOWNED)


@transaction.atomic
def customer_save(*, customer: Customer, by) -> Customer:
    """Save a customer; a new one without an owner becomes the creator's, a change of owner hands it over.

    Leads enter and leave the pool only through crm.services.pool, whose rules (claim limits, reasons) apply.
    """
    adding = customer.pk is None
    if adding and customer.consultant_id is None:
        customer.consultant = by
    previous_owner = (
        None if adding else Customer.objects.filter(pk=customer.pk).values_list("consultant_id", flat=True).first()
    )
    if not adding and (previous_owner is None) != (customer.consultant_id is None):
        raise ValidationError({"consultant": USE_POOL_ACTIONS})
    owner_changes = previous_owner is not None and previous_owner != customer.consultant_id
    if owner_changes and not by.has_perm("crm.reassign_customer"):
        raise PermissionDenied(NOT_ALLOWED_TO_REASSIGN)
    if adding or owner_changes:
        customer.assigned_at = timezone.now()
    customer._history_user = by
    customer.full_clean(exclude=["consult_courses", "tags"])
    customer.save()
    if owner_changes:
        _hand_over(customer, customer.consultant)
    return customer


@transaction.atomic
def follow_up_save(*, follow_up: FollowUp, by) -> FollowUp:
    """Record a follow-up; a lead that was new is now being followed."""
    if follow_up.consultant_id is None:
        follow_up.consultant = by
    follow_up._history_user = by
    follow_up.full_clean()
    follow_up.save()
    customer = follow_up.customer
    if customer.status == Customer.Status.NEW:
        customer.status = Customer.Status.FOLLOWING
        customer._history_user = by
        customer.save(update_fields=["status", "updated_at"])
    return follow_up


def _hand_over(customer: Customer, new_owner) -> None:
    """What changes with the owner: the new owner's share is now redundant, open enrollments follow."""
    CustomerUserObjectPermission.objects.filter(content_object=customer, user=new_owner).delete()
    for enrollment in customer.enrollments.filter(status__in=OPEN_ENROLLMENT_STATUSES).exclude(consultant=new_owner):
        enrollment.consultant = new_owner
        enrollment._history_user = customer._history_user
        enrollment.save(update_fields=["consultant"])


@transaction.atomic
def customer_reassign(*, customer: Customer, to, by) -> Customer:
    """Move a customer to another consultant; access, open enrollments and history move with it."""
    if to.pk == customer.consultant_id:
        return customer
    if customer.consultant_id is None:
        return pool.pool_assign(customer=customer, to=to, by=by)
    customer.consultant = to
    return customer_save(customer=customer, by=by)


@transaction.atomic
def customer_share(*, customers, with_user, by) -> int:
    """Let `with_user` reach customers they do not own (a guardian object permission per customer)."""
    if not by.has_perm("crm.reassign_customer"):
        raise PermissionDenied(NOT_ALLOWED_TO_SHARE)
    permission = Permission.objects.get(content_type__app_label="crm", codename="change_customer")
    grants = [
        CustomerUserObjectPermission(content_object=customer, user=with_user, permission=permission)
        for customer in customers
        if customer.consultant_id != with_user.pk
    ]
    CustomerUserObjectPermission.objects.bulk_create(grants, ignore_conflicts=True, batch_size=1000)
    return len(grants)


@transaction.atomic
def customer_unshare(*, customers, with_user, by) -> int:
    """Take back shares granted to `with_user`."""
    if not by.has_perm("crm.reassign_customer"):
        raise PermissionDenied(NOT_ALLOWED_TO_SHARE)
    deleted, _ = CustomerUserObjectPermission.objects.filter(content_object__in=customers, user=with_user).delete()
    return deleted


MERGE_NOT_ALLOWED = _("Only sales managers can merge customers.")
MERGE_SAME = _("Choose two different customers to merge.")
MERGE_TWO_STUDENTS = _("Both customers are already students; they cannot be merged here.")
MERGE_SAME_CLASS = _("Both customers have an enrollment in %(class)s; resolve one of them first.")
MERGE_FILLED = ["name", "qq", "wechat", "email", "content", "branch"]
STATUS_RANK = [Customer.Status.LOST, Customer.Status.NEW, Customer.Status.FOLLOWING, Customer.Status.ENROLLED]


@transaction.atomic
def customer_merge(*, survivor: Customer, duplicate: Customer, by) -> Customer:
    """Fold `duplicate` into `survivor`: its follow-ups, enrollments, payments, tags and courses move; it is removed.

    Both histories stay: every moved row and the removal itself are recorded with the reason.
    """
    if not by.has_perm("crm.merge_customer"):
        raise PermissionDenied(MERGE_NOT_ALLOWED)
    if survivor.pk == duplicate.pk:
        raise ValidationError(MERGE_SAME)
    survivor, duplicate = (Customer.objects.select_for_update().get(pk=c.pk) for c in (survivor, duplicate))
    if hasattr(survivor, "student") and hasattr(duplicate, "student"):
        raise ValidationError(MERGE_TWO_STUDENTS)
    clash = survivor.enrollments.filter(class_grade__in=duplicate.enrollments.values("class_grade")).first()
    if clash:
        raise ValidationError(MERGE_SAME_CLASS % {"class": clash.class_grade})
    reason = str(_("Merged customer %(phone)s into %(survivor)s")) % {
        "phone": duplicate.phone,
        "survivor": survivor.phone,
    }
    for related in [*duplicate.follow_ups.all(), *duplicate.enrollments.all(), *duplicate.payments.all()]:
        related.customer = survivor
        related._history_user, related._change_reason = by, reason
        related.save(update_fields=["customer"])
    if hasattr(duplicate, "student"):
        duplicate.student.customer = survivor
        duplicate.student.save(update_fields=["customer"])
    duplicate.referrals.update(referrer=survivor)
    for share in CustomerUserObjectPermission.objects.filter(content_object=duplicate):
        if share.user_id != survivor.consultant_id:
            CustomerUserObjectPermission.objects.get_or_create(
                content_object=survivor, user_id=share.user_id, permission_id=share.permission_id
            )
    survivor.consult_courses.add(*duplicate.consult_courses.all())
    survivor.tags.add(*duplicate.tags.all())
    kept = {field: getattr(duplicate, field) for field in MERGE_FILLED}
    furthest = max(survivor.status, duplicate.status, key=STATUS_RANK.index)

    duplicate._history_user, duplicate._change_reason = by, reason
    duplicate.delete()
    for field, value in kept.items():
        if value and not getattr(survivor, field):
            setattr(survivor, field, value)
    survivor.status = furthest
    survivor._history_user, survivor._change_reason = by, reason
    survivor.full_clean(exclude=["consult_courses", "tags"])
    survivor.save()
    return survivor


@transaction.atomic
def customers_archive(*, customers, by) -> int:
    """Take customers out of the working lists; nothing of theirs is deleted, and each can be restored."""
    return _set_archived(customers, by, timezone.now(), ARCHIVED)


@transaction.atomic
def customers_restore(*, customers, by) -> int:
    return _set_archived(customers, by, None, RESTORED)


def _set_archived(customers, by, archived_at, reason) -> int:
    if not by.has_perm("crm.archive_customer"):
        raise PermissionDenied(NOT_ALLOWED_TO_ARCHIVE)
    changed = 0
    for customer in Customer.objects.select_for_update().filter(pk__in=[c.pk for c in customers]):
        if (customer.archived_at is None) == (archived_at is None):
            continue  # already as asked
        customer.archived_at = archived_at
        customer._history_user, customer._change_reason = by, str(reason)
        customer.save(update_fields=["archived_at", "updated_at"])
        changed += 1
    return changed
