"""Issue 18, point 6: the enrollment's page is one audit desk: data (ID masked per crm.access), documents through the
checked view, the contract as agreed and the payment fields, with only the decision's buttons and nothing to save."""

from decimal import Decimal

import pytest
from django.urls import reverse

from crm.id_numbers import mask_id_number
from crm.models import Enrollment
from crm.services import enrollment as enrollments
from crm.services import leads
from tests import factories, files

pytestmark = pytest.mark.django_db
Status = Enrollment.Status
ID_NUMBER = "E1234567"


@pytest.fixture
def submitted(sales):
    customer = factories.CustomerFactory(consultant=sales, name="Wang Fang", email="wang@example.com")
    enrollment = enrollments.enrollment_start(customer=customer, class_grade=factories.ClassGradeFactory(), by=sales)
    enrollments.documents_add(enrollment=enrollment, uploads=[files.png("front.png")])
    return factories.submit_enrollment(enrollment, phone=customer.phone, id_type="passport", id_number=ID_NUMBER)


def desk(client, enrollment):
    return client.get(reverse("admin:crm_enrollment_change", args=[enrollment.pk]))


def test_one_screen_with_everything_and_only_the_decision(client_for, sales, submitted):
    response = desk(client_for(sales), submitted)
    page = response.content.decode()
    assert response.status_code == 200
    assert ID_NUMBER in page and "Wang Fang" in page
    assert submitted.contract_text.splitlines()[0] in page
    document = submitted.documents.get()
    assert reverse("admin:crm_enrollment_document", args=[submitted.pk, document.public_id]) in page
    assert reverse("admin:crm_enrollment_approve", args=[submitted.pk]) in page
    assert reverse("admin:crm_enrollment_reject", args=[submitted.pk]) in page
    assert 'name="amount"' in page and 'name="method"' in page and 'name="reason"' in page
    for button in ("_save", "_addanother", "_continue", "deletelink"):
        assert button not in page
    assert "nav-tabs" not in page  # nothing behind tabs


def test_id_number_is_masked_for_a_colleague_it_is_shared_with(client_for, submitted, other_sales, manager):
    leads.customer_share(customers=[submitted.customer], with_user=other_sales, by=manager)
    page = desk(client_for(other_sales), submitted).content.decode()
    assert ID_NUMBER not in page and mask_id_number(ID_NUMBER) in page


def test_a_post_to_the_desk_edits_nothing(client_for, sales, submitted):
    client_for(sales).post(
        reverse("admin:crm_enrollment_change", args=[submitted.pk]), {"id_number": "X999", "status": "approved"}
    )
    submitted.refresh_from_db()
    assert submitted.id_number == ID_NUMBER and submitted.status == Status.SUBMITTED


def test_a_refused_decision_comes_back_to_the_desk_with_its_error(client_for, sales, submitted):
    response = client_for(sales).post(reverse("admin:crm_enrollment_approve", args=[submitted.pk]), {"amount": "0"})
    assert response.status_code == 400
    assert response.context["approve_form"].errors and response.context["reject_form"] is not None
    assert submitted.contract_text.splitlines()[0] in response.content.decode()


def test_after_rejection_only_reopen_and_after_approval_the_payment(client_for, sales, submitted):
    client = client_for(sales)
    enrollments.enrollment_reject(enrollment=submitted, by=sales, reason="ID photo blurred")
    page = desk(client, submitted).content.decode()
    assert reverse("admin:crm_enrollment_reopen", args=[submitted.pk]) in page and 'name="amount"' not in page
    enrollments.enrollment_reopen(enrollment=submitted, by=sales)
    factories.submit_enrollment(submitted, phone=submitted.customer.phone, id_type="passport", id_number=ID_NUMBER)
    client.post(reverse("admin:crm_enrollment_approve", args=[submitted.pk]), {"amount": "9800", "method": "cash"})
    page = desk(client, submitted).content.decode()
    assert "9,800.00" in page and 'name="amount"' not in page and "reopen" not in page


def test_the_fee_prefills_the_payment(client_for, sales, submitted):
    assert desk(client_for(sales), submitted).context["approve_form"].initial["amount"] == Decimal("9800.00")
