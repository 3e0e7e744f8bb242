"""Writes on leads: creating customers, recording follow-ups."""

from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from crm.models import Customer, CustomerUserObjectPermission, Enrollment, FollowUp

DUPLICATE_PHONE = _("This phone number belongs to a customer of %(owner)s.")
DUPLICATE_PHONE_UNOWNED = _("This phone number already belongs to a customer.")
NOT_ALLOWED_TO_REASSIGN = _("Only sales managers can reassign customers.")
NOT_ALLOWED_TO_SHARE = _("Only sales managers can share customers.")
OPEN_ENROLLMENT_STATUSES = [Enrollment.Status.LINK_SENT, Enrollment.Status.SUBMITTED]


def duplicate_phone_message(existing: Customer) -> str:
    """The error for adding a known phone: names the owner, never the customer."""
    owner = existing.consultant
    name = owner.get_full_name() or owner.get_username() if owner else ""
    return DUPLICATE_PHONE % {"owner": name} if name else str(DUPLICATE_PHONE_UNOWNED)


@transaction.atomic
def customer_save(*, customer: Customer, by) -> Customer:
    """Save a customer; a new one without an owner becomes the creator's, a change of owner hands it over."""
    if customer.pk is None and customer.consultant_id is None:
        customer.consultant = by
    previous_owner = (
        Customer.objects.filter(pk=customer.pk).values_list("consultant_id", flat=True).first() if customer.pk else None
    )
    owner_changes = previous_owner is not None and previous_owner != customer.consultant_id
    if owner_changes and not by.has_perm("crm.reassign_customer"):
        raise PermissionDenied(NOT_ALLOWED_TO_REASSIGN)
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
