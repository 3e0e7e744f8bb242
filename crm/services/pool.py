"""The lead pool (公海): idle leads return to it; salespeople claim from it; managers assign from it and release to it.

Every move saves the customer's row with its history (who, and why) and writes a PoolMove, which the daily claim
limit and the dashboard count exactly. `manage.py return_to_pool` and the scheduled task both call
`pool_return_idle`.
"""

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm.models import Customer, CustomerUserObjectPermission, Enrollment, FollowUp, PoolMove, PoolReason, Student
from crm.models.pool import pool_label
from crm.school_time import day_start

# Enrollments that keep a lead with its consultant: under way, or done.
KEEPS_OWNER = [Enrollment.Status.LINK_SENT, Enrollment.Status.SUBMITTED, Enrollment.Status.APPROVED]

NOT_ALLOWED_TO_CLAIM = _("Only salespeople can claim leads from the pool.")
NOT_ALLOWED_TO_MOVE = _("Only sales managers can assign leads from the pool or release leads to it.")
TAKEN = _("%(customer)s was claimed by %(owner)s a moment ago.")
NOT_IN_POOL = _("%(customer)s is no longer in the pool.")
CLAIM_LIMIT = _(
    "You have claimed %(limit)d leads today, the most one salesperson may claim in a day; "
    "%(customer)s stays in the pool."
)
RECLAIM_BLOCKED = _(
    "%(customer)s came back to the pool from you: you can claim it again from %(date)s, "
    "or a manager can assign it to you."
)
ALREADY_POOLED = _("%(customer)s is already in the pool.")
STAYS = _("%(customer)s is enrolled or has an enrollment under way, so it stays with its consultant.")
REASON_REQUIRED = _("Say why the lead goes back to the pool.")


def poolable() -> Q:
    """Leads that may be in the pool: in use (not archived), not students, no enrollment under way or approved."""
    return (
        Q(archived_at__isnull=True)
        & ~Q(status=Customer.Status.ENROLLED)
        & ~Exists(Enrollment.objects.filter(customer=OuterRef("pk"), status__in=KEEPS_OWNER))
        & ~Exists(Student.objects.filter(customer=OuterRef("pk")))
    )


def idle_leads(*, now: datetime.datetime, days: int) -> QuerySet[Customer]:
    """Owned leads that nobody followed up and their consultant did not change for `days` days, counted from when
    the consultant got them. Lost leads too: nobody works on them, and a colleague may try again."""
    since = now - datetime.timedelta(days=days)
    followed_up = FollowUp.objects.filter(customer=OuterRef("pk"), created_at__gte=since)
    changed_by_owner = Customer.history.filter(
        id=OuterRef("pk"), history_user_id=OuterRef("consultant_id"), history_date__gte=since
    )
    owned_long_enough = Q(assigned_at__lt=since) | Q(assigned_at__isnull=True, created_at__lt=since)
    return Customer.objects.filter(
        owned_long_enough, poolable(), ~Exists(followed_up), ~Exists(changed_by_owner), consultant__isnull=False
    )


def pool_return_idle(*, now: datetime.datetime | None = None, days: int | None = None) -> int:
    """Return every idle lead to the pool, in a few statements however many there are; returns how many went."""
    now = now or timezone.now()
    days = settings.POOL_IDLE_DAYS if days is None else days
    reason = gettext("Returned to the pool: idle %(days)d days") % {"days": days}
    with transaction.atomic():
        count = _to_pool(idle_leads(now=now, days=days), now=now, why=PoolReason.IDLE)
        returned = Customer.objects.filter(consultant__isnull=True, pooled_at=now, pool_reason=PoolReason.IDLE)
        _record_pooling(returned, kind=PoolMove.Kind.RETURNED, now=now, reason=reason, by=None)
    return count


def pool_release(*, customer: Customer, reason: str, by) -> Customer:
    """A manager sends a lead back to the pool, saying why (students and enrollments under way stay)."""
    if not by.has_perm("crm.reassign_customer"):
        raise PermissionDenied(NOT_ALLOWED_TO_MOVE)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(REASON_REQUIRED, code="reason_required")
    with transaction.atomic():
        locked = _lock(customer)
        if locked.consultant_id is None:
            raise ValidationError(ALREADY_POOLED % {"customer": pool_label(locked)}, code="in_pool")
        this = Customer.objects.filter(pk=locked.pk)
        if not this.filter(poolable()).exists():
            raise ValidationError(STAYS % {"customer": pool_label(locked)}, code="stays")
        now = timezone.now()
        _to_pool(this, now=now, why=PoolReason.RELEASED, note=reason[:255])
        history_reason = gettext("Released to the pool: %(reason)s") % {"reason": reason}
        _record_pooling(this, kind=PoolMove.Kind.RELEASED, now=now, reason=history_reason, by=by)
    locked.refresh_from_db()
    return locked


def pool_claim(*, customer: Customer, by) -> Customer:
    """A salesperson takes a lead from the pool: of several claiming one lead at once exactly one wins, at most
    POOL_CLAIMS_PER_DAY a day, and never a lead that came back from them less than POOL_RECLAIM_DAYS ago."""
    if not by.has_perm("crm.claim_customer"):
        raise PermissionDenied(NOT_ALLOWED_TO_CLAIM)
    with transaction.atomic():
        # The claimer's row, locked: their claims of the day are counted one claim at a time.
        get_user_model().objects.select_for_update().filter(pk=by.pk).values_list("pk").get()
        locked = _lock_in_pool(customer)
        now = timezone.now()
        claimed_again = locked.pooled_at and locked.pooled_at + reclaim_block()
        if locked.previous_consultant_id == by.pk and claimed_again and now < claimed_again:
            date = date_format(timezone.localtime(claimed_again), "SHORT_DATETIME_FORMAT")
            raise ValidationError(
                RECLAIM_BLOCKED % {"customer": pool_label(locked), "date": date}, code="reclaim_blocked"
            )
        if claims_today(by, now=now) >= settings.POOL_CLAIMS_PER_DAY:
            raise ValidationError(
                CLAIM_LIMIT % {"limit": settings.POOL_CLAIMS_PER_DAY, "customer": pool_label(locked)},
                code="claim_limit",
            )
        return _take(locked, to=by, by=by, now=now, kind=PoolMove.Kind.CLAIMED, reason=gettext("Claimed from the pool"))


def pool_assign(*, customer: Customer, to, by) -> Customer:
    """A manager gives a pooled lead to a consultant: no daily limit, no reclaim block."""
    if not by.has_perm("crm.reassign_customer"):
        raise PermissionDenied(NOT_ALLOWED_TO_MOVE)
    with transaction.atomic():
        locked = _lock_in_pool(customer)
        name = to.get_full_name() or to.get_username()
        reason = gettext("Assigned from the pool to %(owner)s") % {"owner": name}
        return _take(locked, to=to, by=by, now=timezone.now(), kind=PoolMove.Kind.ASSIGNED, reason=reason)


def pool_give_web_lead(*, locked: Customer, to) -> Customer:
    """A pooled lead who asks again on the website goes to whoever's turn it is for web leads, like a new web lead
    (no claim is counted). `locked`: the lead's row, locked by the caller."""
    name = to.get_full_name() or to.get_username()
    reason = gettext("Asked again on the website: assigned to %(owner)s") % {"owner": name}
    return _take(locked, to=to, by=None, now=timezone.now(), kind=PoolMove.Kind.ASSIGNED, reason=reason)


def reclaim_block() -> datetime.timedelta:
    return datetime.timedelta(days=settings.POOL_RECLAIM_DAYS)


def claims_today(user, *, now: datetime.datetime | None = None) -> int:
    """How many leads `user` claimed from the pool today (the school's day)."""
    start = day_start(now or timezone.now())
    return PoolMove.objects.filter(to_user=user, kind=PoolMove.Kind.CLAIMED, at__gte=start).count()


# --- the moves ------------------------------------------------------------------------------------------------


def _lock(customer: Customer) -> Customer:
    """The customer's row as it is now, locked to the end of the transaction.

    Alone: joined rows would be read as they were before the wait (PostgreSQL re-reads only the locked row),
    so a consultant joined here could be missing from a row that a concurrent claim just gave one.
    """
    return Customer.objects.select_for_update().get(pk=customer.pk)


def _lock_in_pool(customer: Customer) -> Customer:
    """The lead's locked row if it is still in the pool; else why not, in words (whoever won a race is named)."""
    locked = _lock(customer)
    if locked.consultant_id is not None:
        owner = locked.consultant.get_full_name() or locked.consultant.get_username()
        raise ValidationError(TAKEN % {"customer": pool_label(locked), "owner": owner}, code="taken")
    if locked.archived_at is not None:
        raise ValidationError(NOT_IN_POOL % {"customer": pool_label(locked)}, code="not_in_pool")
    return locked


def _take(locked: Customer, *, to, by, now, kind: str, reason: str) -> Customer:
    locked.consultant, locked.assigned_at = to, now
    locked._history_user, locked._change_reason = by, reason
    locked.save(update_fields=["consultant", "assigned_at", "updated_at"])
    PoolMove.objects.create(customer=locked, kind=kind, to_user=to, by=by, at=now)
    return locked


def _to_pool(leads: QuerySet[Customer], *, now, why: str, note: str = "") -> int:
    """One UPDATE: the leads lose their consultant, who is kept as the previous one."""
    return leads.update(
        previous_consultant=F("consultant"),
        consultant=None,
        assigned_at=None,
        pooled_at=now,
        pool_reason=why,
        pool_note=note,
        updated_at=now,
    )


def _record_pooling(leads: QuerySet[Customer], *, kind: str, now, reason: str, by) -> None:
    """For leads just sent to the pool: a history row and a PoolMove each, copied by INSERT … SELECT; and the
    shares with colleagues end (whoever claims the lead next decides with whom to share it)."""
    q = connection.ops.quote_name
    ids, params = leads.order_by().values("pk").query.sql_with_params()
    customers = q(Customer._meta.db_table)
    kept = {field.attname for field in Customer.history.model._meta.concrete_fields}  # the history leaves some out
    tracked = [q(field.column) for field in Customer._meta.concrete_fields if field.attname in kept]
    history_columns = ", ".join([*tracked, *map(q, ["history_date", "history_change_reason", "history_type"])])
    at = connection.ops.adapt_datetimefield_value(now)
    by_id = by.pk if by else None
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {q(Customer.history.model._meta.db_table)} ({history_columns}, {q('history_user_id')}) "
            f"SELECT {', '.join(f'c.{column}' for column in tracked)}, %s, %s, %s, %s "
            f"FROM {customers} c WHERE c.{q('id')} IN ({ids})",
            [at, reason, "~", by_id, *params],
        )
        move_columns = ", ".join(map(q, ["customer_id", "kind", "from_user_id", "by_id", "at"]))
        cursor.execute(
            f"INSERT INTO {q(PoolMove._meta.db_table)} ({move_columns}) "
            f"SELECT c.{q('id')}, %s, c.{q('previous_consultant_id')}, %s, %s "
            f"FROM {customers} c WHERE c.{q('id')} IN ({ids})",
            [kind, by_id, at, *params],
        )
    CustomerUserObjectPermission.objects.filter(content_object__in=leads.values("pk")).delete()
