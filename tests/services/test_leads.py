"""Lead services: owner on create, reassign (with its hand-over), share and unshare."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from crm import access
from crm.models import Customer, CustomerUserObjectPermission, Enrollment
from crm.services import leads
from tests import factories

pytestmark = pytest.mark.django_db


def test_new_customer_belongs_to_its_creator(sales):
    customer = leads.customer_save(customer=Customer(phone="13800138000", name="Li"), by=sales)
    assert customer.consultant == sales
    assert customer.history.get().history_user == sales


def test_salesperson_cannot_change_the_owner(sales, other_sales):
    customer = factories.CustomerFactory(consultant=sales)
    customer.consultant = other_sales
    with pytest.raises(PermissionDenied):
        leads.customer_save(customer=customer, by=sales)
    customer.refresh_from_db()
    assert customer.consultant == sales


def test_reassign_moves_access_open_enrollments_and_keeps_history(manager, sales, other_sales):
    customer = factories.CustomerFactory(consultant=sales)
    open_enrollment = factories.EnrollmentFactory(customer=customer)
    closed = factories.EnrollmentFactory(customer=customer, status=Enrollment.Status.APPROVED)
    leads.customer_share(customers=[customer], with_user=other_sales, by=manager)

    leads.customer_reassign(customer=customer, to=other_sales, by=manager)

    assert access.can_reach(other_sales, customer)
    assert not access.can_reach(sales, customer)
    assert not CustomerUserObjectPermission.objects.filter(user=other_sales).exists()  # the share is now redundant
    open_enrollment.refresh_from_db()
    closed.refresh_from_db()
    assert open_enrollment.consultant == other_sales
    assert closed.consultant == sales
    latest, previous = customer.history.all()[:2]
    assert (previous.consultant_id, latest.consultant_id) == (sales.pk, other_sales.pk)
    assert latest.history_user == manager


def test_share_and_unshare(manager, sales, other_sales):
    theirs = factories.CustomerFactory(consultant=other_sales)
    factories.FollowUpFactory(customer=theirs)
    assert not access.can_reach(sales, theirs)
    assert leads.customer_share(customers=[theirs], with_user=sales, by=manager) == 1
    assert access.can_reach(sales, theirs)
    assert access.visible(sales, theirs.follow_ups.model).filter(customer=theirs).count() == 1
    leads.customer_unshare(customers=Customer.objects.filter(pk=theirs.pk), with_user=sales, by=manager)
    assert not access.can_reach(sales, theirs)


def test_only_managers_share(sales, other_sales):
    theirs = factories.CustomerFactory(consultant=other_sales)
    with pytest.raises(PermissionDenied):
        leads.customer_share(customers=[theirs], with_user=sales, by=sales)


def test_manager_reassigns_through_the_admin_action(client, manager, sales, other_sales):
    customers = [factories.CustomerFactory(consultant=sales) for _ in range(3)]
    client.force_login(manager)
    changelist = reverse("admin:crm_customer_changelist")
    data = {"action": "reassign", ACTION_CHECKBOX_NAME: [c.pk for c in customers]}
    page = client.post(changelist, data)
    assert page.status_code == 200 and b"Reassign customers" in page.content
    response = client.post(changelist, {**data, "apply": "1", "user": other_sales.pk})
    assert response.status_code == 302
    assert set(Customer.objects.values_list("consultant", flat=True)) == {other_sales.pk}


def test_manager_reassigns_on_the_change_form(client, manager, sales, other_sales):
    customer = factories.CustomerFactory(consultant=sales, phone="+8613800138000", name="Li")
    client.force_login(manager)
    response = client.post(
        reverse("admin:crm_customer_change", args=[customer.pk]),
        {
            "name": "Li",
            "phone": customer.phone,
            "source": customer.source,
            "status": customer.status,
            "consultant": other_sales.pk,
            "follow_ups-TOTAL_FORMS": "0",
            "follow_ups-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.consultant == other_sales


def test_salesperson_shared_customer_appears_in_their_list(client, manager, sales, other_sales):
    theirs = factories.CustomerFactory(consultant=other_sales, name="Shared Shu")
    leads.customer_share(customers=[theirs], with_user=sales, by=manager)
    client.force_login(sales)
    assert b"Shared Shu" in client.get(reverse("admin:crm_customer_changelist")).content
    assert client.get(reverse("admin:crm_customer_change", args=[theirs.pk])).status_code == 200


def test_merge_moves_everything_and_keeps_both_histories(manager, sales, other_sales):
    survivor = factories.CustomerFactory(consultant=sales, name="Wang Fang", email="", qq="")
    duplicate = factories.CustomerFactory(consultant=other_sales, name="王芳", email="wf@example.com", qq="10001")
    follow_up = factories.FollowUpFactory(customer=duplicate)
    enrollment = factories.EnrollmentFactory(customer=duplicate)
    payment = factories.PaymentFactory(customer=duplicate)
    tag = factories.TagFactory()
    duplicate.tags.add(tag)
    duplicate_id = duplicate.pk

    leads.customer_merge(survivor=survivor, duplicate=duplicate, by=manager)

    survivor.refresh_from_db()
    assert (survivor.name, survivor.email, survivor.qq) == ("Wang Fang", "wf@example.com", "10001")
    assert list(survivor.tags.all()) == [tag]
    for moved in (follow_up, enrollment, payment):
        moved.refresh_from_db()
        assert moved.customer == survivor
    assert not Customer.objects.filter(pk=duplicate_id).exists()
    removed = Customer.history.filter(id=duplicate_id).first()
    assert removed.history_type == "-" and "into" in removed.history_change_reason
    assert Customer.history.filter(id=duplicate_id).count() == 2  # created, then removed
    assert payment.history.first().history_change_reason.startswith("Merged")


def test_merge_refuses_two_enrollments_in_one_class(manager):
    survivor, duplicate = factories.CustomerFactory(), factories.CustomerFactory()
    class_grade = factories.ClassGradeFactory()
    factories.EnrollmentFactory(customer=survivor, class_grade=class_grade)
    factories.EnrollmentFactory(customer=duplicate, class_grade=class_grade)
    with pytest.raises(ValidationError):
        leads.customer_merge(survivor=survivor, duplicate=duplicate, by=manager)
    assert Customer.objects.filter(pk=duplicate.pk).exists()


def test_salesperson_cannot_merge(sales):
    a, b = factories.CustomerFactory(consultant=sales), factories.CustomerFactory(consultant=sales)
    with pytest.raises(PermissionDenied):
        leads.customer_merge(survivor=a, duplicate=b, by=sales)


def test_manager_merges_through_the_admin_action(client, manager):
    keep, drop = factories.CustomerFactory(name="Keep"), factories.CustomerFactory(name="Drop")
    client.force_login(manager)
    changelist = reverse("admin:crm_customer_changelist")
    data = {"action": "merge", ACTION_CHECKBOX_NAME: [keep.pk, drop.pk]}
    assert b"Merge customers" in client.post(changelist, data).content
    client.post(changelist, {**data, "apply": "1", "survivor": keep.pk})
    assert list(Customer.objects.values_list("name", flat=True)) == ["Keep"]
