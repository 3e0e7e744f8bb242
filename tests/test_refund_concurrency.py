"""Refunds asked for at once never add up to more than was paid: twenty requests, each of a fifth of the payment,
released together; five fit and the others are refused in words (a row lock on PostgreSQL, the write lock on
SQLite)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum

from crm import ledger
from crm.models import Enrollment, Refund
from crm.services import money
from tests import factories
from tests.test_enrollment_concurrency import in_parallel

pytestmark = pytest.mark.django_db(transaction=True)


def test_parallel_refund_requests_never_exceed_what_was_paid(make_user):
    sales = make_user("sales", "sales-refunds")
    enrollment = factories.EnrollmentFactory(customer=factories.CustomerFactory(consultant=sales), status="approved")
    factories.PaymentFactory(customer=enrollment.customer, enrollment=enrollment, amount=Decimal("5000.00"))

    def ask():
        refund = Refund(enrollment=Enrollment.objects.get(pk=enrollment.pk), amount=Decimal("1000.00"), reason="x")
        return money.refund_request(refund=refund, by=sales)

    outcomes = in_parallel(ask)

    granted = [outcome for outcome in outcomes if isinstance(outcome, Refund)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, ValidationError)]
    assert len(granted) == 5 and len(refused) == len(outcomes) - 5, outcomes
    assert all("amount" in refusal.message_dict for refusal in refused)
    assert Refund.objects.aggregate(total=Sum("amount"))["total"] == Decimal("5000.00")
    assert ledger.refundable(enrollment) == Decimal("0.00")
