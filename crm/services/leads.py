"""Writes on leads: creating customers, recording follow-ups."""

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from crm.models import Customer, FollowUp

DUPLICATE_PHONE = _("This phone number belongs to a customer of %(owner)s.")
DUPLICATE_PHONE_UNOWNED = _("This phone number already belongs to a customer.")


def duplicate_phone_message(existing: Customer) -> str:
    """The error for adding a known phone: names the owner, never the customer."""
    owner = existing.consultant
    name = owner.get_full_name() or owner.get_username() if owner else ""
    return DUPLICATE_PHONE % {"owner": name} if name else str(DUPLICATE_PHONE_UNOWNED)


@transaction.atomic
def customer_save(*, customer: Customer, by, changed_fields=None) -> Customer:
    """Save a customer from a form; a new customer without an owner becomes the creator's."""
    if customer.pk is None and customer.consultant_id is None:
        customer.consultant = by
    customer._history_user = by
    customer.full_clean(exclude=["consult_courses", "tags"])
    customer.save()
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
