"""History and version pages write nothing a user could not write on the change page, and typed URLs 404.

simple-history's version page saves whatever is posted to it once the user may view history; the first
wave let a salesperson with view-only rights on payments change an amount there. Here each model with
history is tried with a valid form posted to a past version's page.
"""

import pytest
from django.contrib.auth.models import Permission
from django.forms import MultiWidget
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db

# model -> (a field the attacker changes, the value posted)
SERVICE_WRITTEN = {"customer": ("name", "Forged Name"), "enrollment": ("status", "approved")}
SERVICE_WRITTEN["payment"] = ("amount", "1.00")


def version_url(obj, model):
    version = obj.history.earliest("history_date")
    return reverse(f"admin:crm_{model}_simple_history", args=[obj.pk, version.history_id])


def posted_form(client, url, **changes):
    """The version page's own form as a browser would post it, with `changes` typed in."""
    response = client.get(url)
    assert response.status_code == 200
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(field.widget, MultiWidget):
            for i, part in enumerate(field.widget.decompress(value)):
                data[f"{name}_{i}"] = "" if part is None else part
        elif isinstance(value, list | tuple):
            data[name] = [str(v) for v in value]
        elif value is not None:
            data[name] = value
    data.update(changes)
    data["_save"] = "Save"
    return data


def rows(obj):
    return type(obj).objects.filter(pk=obj.pk).values().get(), obj.history.count()


@pytest.fixture
def own(sales):
    customer = factories.CustomerFactory(consultant=sales, name="Wang Fang")
    return {
        "customer": customer,
        "followup": factories.FollowUpFactory(customer=customer, content="first call"),
        "enrollment": factories.EnrollmentFactory(customer=customer),
        "payment": factories.PaymentFactory(customer=customer, amount="19800.00"),
    }


@pytest.mark.parametrize("model", sorted(SERVICE_WRITTEN))
@pytest.mark.parametrize("who", ["sales", "manager", "school_admin"])
def test_service_written_rows_are_never_written_through_a_version_page(client, own, model, who, request):
    obj = own[model]  # the salesperson's row; managers and admins reach it too
    client.force_login(request.getfixturevalue(who))
    url = version_url(obj, model)
    field, value = SERVICE_WRITTEN[model]
    data = posted_form(client, url, **{field: value})
    before = rows(obj)

    page = client.get(url)
    response = client.post(url, data)

    assert response.status_code == 403
    assert rows(obj) == before
    assert 'name="_save"' not in page.content.decode()  # no Revert button offered


def test_a_view_only_user_cannot_revert_a_follow_up(client, own, make_user):
    viewer = make_user("sales", "viewer")
    viewer.groups.clear()
    viewer.user_permissions.set(
        Permission.objects.filter(codename__in=["view_followup", "view_customer"], content_type__app_label="crm")
    )
    follow_up = own["followup"]
    follow_up.customer.consultant = viewer
    follow_up.customer.save()
    client.force_login(viewer)
    url = version_url(follow_up, "followup")
    assert client.get(url).status_code == 200
    data = posted_form(client, url, content="rewritten")
    before = rows(follow_up)

    response = client.post(url, data)

    assert response.status_code == 403
    assert rows(follow_up) == before


def test_the_owner_may_revert_their_follow_up_to_an_earlier_version(client, own, sales):
    follow_up = own["followup"]
    follow_up.content = "second call"
    follow_up.save()
    client.force_login(sales)
    url = version_url(follow_up, "followup")
    data = posted_form(client, url)

    response = client.post(url, data)

    assert response.status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.content == "first call"


@pytest.mark.parametrize(
    "path",
    [
        "/admin/crm/customer/{pk}/change/history/",
        "/admin/crm/customer/{pk}/history/abc/",
        "/admin/crm/customer/{pk}/history/999999/",
        "/admin/crm/customer/abc/history/",
        "/admin/crm/customer/abc/history/1/",
        "/admin/crm/payment/{pk}/change/history/",
        "/admin/crm/followup/{pk}/history/1e3/",
        "/admin/crm/customer/{pk}/history/%C2%B2/",  # "²": a digit to str.isdigit(), not to int()
        "/admin/crm/payment/{pk}/history/" + "9" * 5000 + "/",  # past int()'s 4,300-digit limit
    ],
)
def test_typed_history_urls_answer_404(client, own, manager, path):
    client.force_login(manager)
    pk = own["customer"].pk if "customer" in path else own["payment"].pk if "payment" in path else own["followup"].pk

    response = client.get(path.format(pk=pk))

    assert response.status_code == 404


def test_a_version_of_another_row_is_not_opened_through_mine(client, own, sales, other_sales):
    theirs = factories.CustomerFactory(consultant=other_sales, name="Their Lead")
    their_version = theirs.history.earliest("history_date").history_id
    client.force_login(sales)

    response = client.get(f"/admin/crm/customer/{own['customer'].pk}/history/{their_version}/")

    assert response.status_code == 404
    assert "Their Lead" not in response.content.decode()
