"""Writes on staff profiles."""

from crm.models import StaffProfile


def staff_profiles_ensure(*, user_ids) -> None:
    """Every one of these users has a profile (with the defaults) from here on; one query however many."""
    StaffProfile.objects.bulk_create([StaffProfile(user_id=pk) for pk in user_ids], ignore_conflicts=True)
