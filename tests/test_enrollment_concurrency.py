"""Two tabs, a double click, two auditors at once: 20 at a time still make one of each, on both databases."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client

from crm.models import Enrollment, Payment, Student
from crm.services import enrollment as enrollments
from tests import factories, files

PARALLEL = 20

# On PostgreSQL row locks decide; on SQLite (a file, as `make run` keeps it) writers queue for the database's
# write lock. Either way every request gets a page, and exactly one of them changes anything.
pytestmark = pytest.mark.django_db(transaction=True)


def in_parallel(work) -> list:
    """Run `work()` in PARALLEL threads released at the same moment; each outcome or exception, in a list."""
    start = threading.Barrier(PARALLEL)
    outcomes = []

    def run():
        try:
            start.wait()
            outcomes.append(work())
        except Exception as error:  # collected and asserted on by the test
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.fixture
def enrollment(make_user):
    sales = make_user("sales", "sales-parallel")
    customer = factories.CustomerFactory(consultant=sales, name="Wang Fang", phone="+8613900139000")
    enrollment = enrollments.enrollment_start(customer=customer, class_grade=factories.ClassGradeFactory(), by=sales)
    enrollments.documents_add(enrollment=enrollment, uploads=[files.png()])
    return enrollment


def test_parallel_submits_leave_one_submission(enrollment, settings):
    settings.PUBLIC_RATE_LIMIT_PER_MINUTE = 1000
    link = enrollment.get_public_url()
    data = factories.enrollment_form_post(
        enrollments.contract_digest(enrollment), id_type="passport", id_number="E12345678", address="Beijing"
    )
    counter = iter(range(PARALLEL))

    def submit():
        return Client().post(link, {**data, "address": f"tab {next(counter)}"}).status_code

    statuses = in_parallel(submit)

    assert statuses == [302] * PARALLEL  # every tab lands on a page; none sees an error
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.SUBMITTED
    assert enrollment.history.filter(status=Enrollment.Status.SUBMITTED).count() == 1


def test_parallel_approvals_leave_one_payment(enrollment):
    factories.submit_enrollment(enrollment, email="", id_type="passport", id_number="E12345678")
    by = enrollment.consultant

    def approve():
        return enrollments.enrollment_approve(
            enrollment=Enrollment.objects.get(pk=enrollment.pk),
            by=by,
            amount=Decimal("9800.00"),
            method="cash",
            set_password_url=lambda user: "https://school.example/set",
        )

    outcomes = in_parallel(approve)

    payments = [outcome for outcome in outcomes if isinstance(outcome, Payment)]
    refusals = [outcome for outcome in outcomes if isinstance(outcome, ValidationError)]
    assert len(payments) == 1 and len(refusals) == PARALLEL - 1, outcomes
    assert {refusal.code for refusal in refusals} == {"not_submitted"}
    assert Payment.objects.count() == 1 and Student.objects.count() == 1
