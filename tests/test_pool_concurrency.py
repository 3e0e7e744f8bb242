"""Twenty salespeople claiming one lead at once: one owner, nineteen told so in words; and a salesperson's
claims at once never pass the daily limit. On both databases (PostgreSQL: row locks; SQLite: the write lock)."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from crm import roles
from crm.models import Customer, PoolMove, PoolReason
from crm.services import pool
from tests import factories
from tests.test_enrollment_concurrency import PARALLEL, in_parallel

pytestmark = pytest.mark.django_db(transaction=True)


def pooled(name="Wang Fang"):
    return factories.CustomerFactory(consultant=None, name=name, pooled_at=timezone.now(), pool_reason=PoolReason.IDLE)


def test_parallel_claims_of_one_lead_leave_one_owner(make_user):
    lead = pooled()
    salespeople = iter([make_user(roles.SALES, f"claimer-{n:02d}") for n in range(PARALLEL)])

    def claim():
        return pool.pool_claim(customer=lead, by=next(salespeople))

    outcomes = in_parallel(claim)

    wins = [outcome for outcome in outcomes if isinstance(outcome, Customer)]
    refusals = [outcome for outcome in outcomes if isinstance(outcome, ValidationError)]
    assert len(wins) == 1 and len(refusals) == PARALLEL - 1, outcomes
    owner = Customer.objects.get(pk=lead.pk).consultant
    assert owner == wins[0].consultant
    assert {refusal.code for refusal in refusals} == {"taken"}
    assert {refusal.messages[0] for refusal in refusals} == {
        f"Wang Fang was claimed by {owner.get_full_name()} a moment ago."
    }
    assert PoolMove.objects.filter(kind=PoolMove.Kind.CLAIMED).count() == 1
    assert lead.history.filter(history_change_reason="Claimed from the pool").count() == 1


def test_parallel_claims_by_one_salesperson_stop_at_the_daily_limit(make_user, settings):
    settings.POOL_CLAIMS_PER_DAY = 3
    sales = make_user(roles.SALES, "eager")
    leads = iter([pooled(f"Lead {n}") for n in range(PARALLEL)])

    def claim():
        return pool.pool_claim(customer=next(leads), by=sales)

    outcomes = in_parallel(claim)

    refusals = [outcome for outcome in outcomes if isinstance(outcome, ValidationError)]
    assert Customer.objects.filter(consultant=sales).count() == 3
    assert len(refusals) == PARALLEL - 3 and {refusal.code for refusal in refusals} == {"claim_limit"}, outcomes
