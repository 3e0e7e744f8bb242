"""Nothing a school needs is lost by a click: customers are archived and restored, money is never deleted,
and a file goes from the disk exactly when (and only if) the row holding it is deleted."""

import os

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import transaction
from django.urls import reverse

from crm.models import Customer, Payment
from crm.services import enrollment as enrollments
from tests import factories, files

pytestmark = pytest.mark.django_db
CUSTOMERS = reverse("admin:crm_customer_changelist")


def offered_actions(page) -> set[str]:
    form = page.context["action_form"]
    return set(dict(form.fields["action"].choices)) if form else set()


def listed(client, **params):
    return {c.pk for c in client.get(CUSTOMERS, params).context["cl"].result_list}


def test_a_manager_archives_a_customer_and_restores_it(client, manager, sales):
    customer = factories.CustomerFactory(consultant=sales, name="Wang Fang")
    factories.PaymentFactory(customer=customer)
    client.force_login(manager)

    client.post(CUSTOMERS, {"action": "archive", ACTION_CHECKBOX_NAME: [customer.pk]})

    customer.refresh_from_db()
    assert customer.archived_at is not None and customer.payments.count() == 1
    assert customer.pk not in listed(client) and customer.pk in listed(client, archived="yes")
    assert customer.history.first().history_change_reason == "Archived"

    client.post(CUSTOMERS + "?archived=yes", {"action": "restore", ACTION_CHECKBOX_NAME: [customer.pk]})

    customer.refresh_from_db()
    assert customer.archived_at is None and customer.pk in listed(client)


def test_a_salesperson_may_not_archive(client, sales):
    customer = factories.CustomerFactory(consultant=sales)
    client.force_login(sales)

    response = client.post(CUSTOMERS, {"action": "archive", ACTION_CHECKBOX_NAME: [customer.pk]})

    assert response.status_code == 200  # the list again: the action is not offered to them
    assert Customer.objects.get(pk=customer.pk).archived_at is None


@pytest.mark.parametrize("who", ["manager", "school_admin"])
def test_no_one_deletes_customers_or_payments(client, who, request, sales):
    customer = factories.CustomerFactory(consultant=sales)
    payment = factories.PaymentFactory(customer=customer)
    client.force_login(request.getfixturevalue(who))

    customer_list = client.get(CUSTOMERS)
    payment_list = client.get(reverse("admin:crm_payment_changelist"))
    forged = client.post(CUSTOMERS, {"action": "delete_selected", ACTION_CHECKBOX_NAME: [customer.pk], "post": "yes"})

    assert "delete_selected" not in offered_actions(customer_list)
    assert "delete_selected" not in offered_actions(payment_list)
    assert client.get(reverse("admin:crm_customer_delete", args=[customer.pk])).status_code == 403
    assert client.post(reverse("admin:crm_payment_delete", args=[payment.pk]), {"post": "yes"}).status_code == 403
    assert forged.status_code in (200, 302)  # the list again, with "no action selected"
    assert Customer.objects.filter(pk=customer.pk).exists() and Payment.objects.filter(pk=payment.pk).exists()


@pytest.fixture
def document(sales):
    enrollment = enrollments.enrollment_start(
        customer=factories.CustomerFactory(consultant=sales), class_grade=factories.ClassGradeFactory(), by=sales
    )
    [document] = enrollments.documents_add(enrollment=enrollment, uploads=[files.png()])
    return document


@pytest.mark.django_db(transaction=True)
def test_deleting_an_enrollment_removes_its_documents_files(document, client, school_admin):
    path = document.file.path
    client.force_login(school_admin)

    response = client.post(reverse("admin:crm_enrollment_delete", args=[document.enrollment_id]), {"post": "yes"})

    assert response.status_code == 302
    assert not document.enrollment.__class__.objects.filter(pk=document.enrollment_id).exists()
    assert not os.path.exists(path)


@pytest.mark.django_db(transaction=True)
def test_a_deletion_rolled_back_keeps_the_file(document):
    path, pk = document.file.path, document.pk

    with pytest.raises(RuntimeError), transaction.atomic():
        document.delete()
        raise RuntimeError("the request failed after the delete")

    assert document.__class__.objects.filter(pk=pk).exists()
    assert os.path.exists(path)


@pytest.mark.django_db(transaction=True)
def test_a_removed_document_leaves_no_file(document):
    path = document.file.path

    enrollments.document_remove(enrollment=document.enrollment, document_id=document.public_id)

    assert not os.path.exists(path)
