"""A person's calendar feed: a secret address, issued anew (the old one stops working) or revoked by its owner."""

from django.db import transaction

from crm.models import CalendarFeed
from crm.models.academics import new_feed_token


@transaction.atomic
def calendar_feed_issue(*, user) -> CalendarFeed:
    """A fresh secret address for `user`'s calendar; any earlier one stops working at once."""
    feed, created = CalendarFeed.objects.select_for_update().get_or_create(user=user)
    if not created:
        feed.token = new_feed_token()
        feed.full_clean()
        feed.save()
    return feed


def calendar_feed_revoke(*, user) -> None:
    """No address reads `user`'s calendar any more."""
    CalendarFeed.objects.filter(user=user).delete()


FEED_ACTIONS = {"issue": calendar_feed_issue, "revoke": calendar_feed_revoke}


def calendar_feed_change(*, user, action: str) -> None:
    """The owner's button on their calendar page: "issue" a new address or "revoke" it (anything else: nothing)."""
    if action in FEED_ACTIONS:
        FEED_ACTIONS[action](user=user)
