"""Personal data (PIPL): ID numbers masked for those who need not see them, every look at an ID document and
every export logged for the school administrator, a person's data exported on request, and erased."""

import io
import json
import os
import zipfile
from decimal import Decimal

import pytest
from django.urls import reverse

from crm import roles
from crm.models import Customer, Enrollment, PersonalDataAccess
from crm.services import enrollment as enrollments
from crm.services import leads
from tests import factories, files
from tests.test_import_export_admin import export

pytestmark = pytest.mark.django_db
ID_NUMBER = "11010519491231002X"
MASKED = "1101**********002X"


@pytest.fixture
def enrollment(sales):
    customer = factories.CustomerFactory(
        consultant=sales, name="Wang Fang", phone="+8613900139000", email="wang@example.com"
    )
    enrollment = enrollments.enrollment_start(customer=customer, class_grade=factories.ClassGradeFactory(), by=sales)
    enrollments.documents_add(enrollment=enrollment, uploads=[files.png()])
    factories.submit_enrollment(enrollment)
    factories.FollowUpFactory(customer=customer, content="Asked about evening classes")
    factories.PaymentFactory(customer=customer, amount=Decimal("9800.00"))
    return Enrollment.objects.get(pk=enrollment.pk)


@pytest.fixture
def colleague(make_user, enrollment, manager):
    """A salesperson the customer is shared with: reaches the row, is not its owner."""
    colleague = make_user(roles.SALES, "colleague")
    leads.customer_share(customers=[enrollment.customer], with_user=colleague, by=manager)
    return colleague


def page(client, user, url):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("who", ["sales", "manager"])
def test_the_owner_and_managers_see_the_id_number_in_full(client, enrollment, who, request):
    html = page(client, request.getfixturevalue(who), reverse("admin:crm_enrollment_change", args=[enrollment.pk]))

    assert ID_NUMBER in html


def test_others_who_reach_the_enrollment_see_it_masked_everywhere(client, enrollment, colleague):
    change = page(client, colleague, reverse("admin:crm_enrollment_change", args=[enrollment.pk]))
    history = page(client, colleague, reverse("admin:crm_enrollment_history", args=[enrollment.pk]))
    version = enrollment.history.order_by("-history_date").first().history_id
    old = page(client, colleague, reverse("admin:crm_enrollment_simple_history", args=[enrollment.pk, version]))
    found = client.get(reverse("admin:crm_enrollment_changelist"), {"q": ID_NUMBER})

    assert MASKED in change and ID_NUMBER not in change
    assert ID_NUMBER not in history and ID_NUMBER not in old
    assert [e.pk for e in found.context["cl"].result_list] == [enrollment.pk]  # found by it, not shown


def test_every_look_at_an_id_document_is_logged(client, enrollment, sales):
    document = enrollment.documents.get()
    client.force_login(sales)

    client.get(reverse("admin:crm_enrollment_document", args=[enrollment.pk, document.public_id]))

    entry = PersonalDataAccess.objects.get()
    assert (entry.user, entry.action, entry.customer_id) == (sales, "document", enrollment.customer_id)
    assert entry.detail == str(document.public_id)


def test_every_export_is_logged_with_its_row_count(client, enrollment, sales):
    factories.CustomerFactory(consultant=sales)
    client.force_login(sales)

    response = export(client)

    assert len(response.content.decode().splitlines()) == 3  # the header and two customers
    entry = PersonalDataAccess.objects.get(action="export")
    assert (entry.user, entry.rows) == (sales, 2)


def test_only_the_school_admin_reads_the_access_log(client, enrollment, sales, manager, school_admin):
    client.force_login(sales)
    client.get(reverse("admin:crm_enrollment_document", args=[enrollment.pk, enrollment.documents.get().public_id]))
    log = reverse("admin:crm_personaldataaccess_changelist")

    for user in (sales, manager):
        client.force_login(user)
        assert client.get(log).status_code == 403

    assert "sales-a" in page(client, school_admin, log)
    assert client.post(reverse("admin:crm_personaldataaccess_delete", args=[1]), {"post": "yes"}).status_code == 403
    assert PersonalDataAccess.objects.count() == 1


def test_a_persons_data_downloads_as_a_zip_with_their_documents(client, enrollment, sales):
    client.force_login(sales)

    response = client.get(reverse("admin:crm_customer_personal_data", args=[enrollment.customer_id]))

    archive = zipfile.ZipFile(io.BytesIO(response.content))
    data = json.loads(archive.read("data.json"))
    assert data["customer"]["name"] == "Wang Fang" and data["enrollments"][0]["id_number"] == ID_NUMBER
    assert data["follow_ups"][0]["content"] == "Asked about evening classes"
    assert data["payments"][0]["amount"] == "9800.00"
    assert [n for n in archive.namelist() if n.startswith("documents/")][0].endswith(".png")
    assert PersonalDataAccess.objects.filter(action="person_export", user=sales).count() == 1


def test_a_colleague_may_not_take_a_persons_data(client, enrollment, colleague):
    client.force_login(colleague)

    response = client.get(reverse("admin:crm_customer_personal_data", args=[enrollment.customer_id]))

    assert response.status_code == 403
    assert not PersonalDataAccess.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_erasure_removes_what_identifies_the_person_and_keeps_the_money(client, enrollment, school_admin):
    customer = enrollment.customer
    document_path = enrollment.documents.get().file.path
    erase = reverse("admin:crm_customer_erase", args=[customer.pk])
    client.force_login(school_admin)

    refused = client.post(erase, {"confirm": "wrong"})
    assert refused.status_code == 200 and Customer.objects.get(pk=customer.pk).name == "Wang Fang"

    response = client.post(erase, {"confirm": customer.phone})

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.name == f"Erased person {customer.pk}" and customer.email == "" and customer.archived_at
    assert customer.payments.get().amount == Decimal("9800.00")  # money rows stay, under the placeholder
    assert not os.path.exists(document_path) and not enrollment.documents.exists()
    every_version = [
        *customer.history.values(),
        *Enrollment.history.filter(id=enrollment.pk).values(),
        *customer.follow_ups.model.history.filter(customer_id=customer.pk).values(),
    ]
    text = json.dumps(every_version, default=str)
    for personal in ("Wang Fang", "13900139000", "wang@example.com", ID_NUMBER, "Changan", "evening classes"):
        assert personal not in text, personal
    assert PersonalDataAccess.objects.filter(action="erasure", customer=customer).exists()


def test_a_manager_may_not_erase(client, enrollment, manager):
    client.force_login(manager)

    response = client.post(reverse("admin:crm_customer_erase", args=[enrollment.customer_id]), {"confirm": "x"})

    assert response.status_code == 403
    assert Customer.objects.get(pk=enrollment.customer_id).name == "Wang Fang"
