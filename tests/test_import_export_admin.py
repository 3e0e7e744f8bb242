"""Import and export through the customer list, as staff use them, including who may do what."""

import csv
import io

import pytest
from django import forms
from django.urls import reverse

from crm.admin import lead_import as import_admin
from crm.lead_files import NOT_DECODABLE
from crm.models import Customer, LeadImport
from tests import factories

pytestmark = pytest.mark.django_db
IMPORT_URL = reverse("admin:crm_customer_import")
EXPORT_URL = reverse("admin:crm_customer_export")


def upload(text: bytes | str, name="leads.csv"):
    data = io.BytesIO(text.encode() if isinstance(text, str) else text)
    data.name = name
    return data


def export(client, query: str = "", file_format: str = "0"):
    page = client.get(EXPORT_URL + query)
    assert page.status_code == 200
    form = page.context["form"]
    data = {"format": file_format, "resource": "0"}
    data.update({name: "on" for name, field in form.fields.items() if isinstance(field, forms.BooleanField)})
    response = client.post(EXPORT_URL + query, data)
    assert response.status_code == 200, response.context and response.context["form"].errors
    return response


def exported_rows(response):
    text = response.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_salesperson_imports_through_preview_and_confirm(client, sales):
    client.force_login(sales)
    response = client.post(IMPORT_URL, {"file": upload("姓名,电话,来源\n王芳,13800138000,网站\n李雷,12345,\n")})
    assert response.status_code == 302
    preview = client.get(response["Location"])
    page = preview.content.decode()
    assert 'data-count="new">1<' in page and 'data-count="invalid">1<' in page
    assert "12345" not in page or "Enter a valid phone number" in page
    assert not Customer.objects.exists()  # the preview writes no customer

    done = client.post(response["Location"], {"confirm": "1"})
    assert done.status_code == 302
    customer = Customer.objects.get()
    assert (customer.name, customer.consultant) == ("王芳", sales)

    again = client.post(response["Location"], {"confirm": "1"}, follow=True)
    assert "already been imported" in again.content.decode()
    assert Customer.objects.count() == 1


def test_malformed_file_gets_a_form_error_and_nothing_is_stored(client, sales):
    client.force_login(sales)
    response = client.post(IMPORT_URL, {"file": upload(b"name,phone\n\xff\xfe\xfa,1\n")})
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [NOT_DECODABLE % {"offset": 11}]
    assert not LeadImport.objects.exists()


def test_oversize_file_is_refused(client, sales, monkeypatch):
    monkeypatch.setattr(import_admin, "MAX_IMPORT_SIZE", 10)
    client.force_login(sales)
    response = client.post(IMPORT_URL, {"file": upload("name,phone\nLi,13800138000\n")})
    assert response.context["form"].errors["file"] == [import_admin.TOO_LARGE]


def test_template_downloads_with_bilingual_headers(client, sales):
    client.force_login(sales)
    response = client.get(reverse("admin:crm_customer_import_template"))
    header = response.content.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("姓名/name,电话/phone")


def test_someone_elses_preview_is_not_found(client, sales, other_sales):
    client.force_login(other_sales)
    response = client.post(IMPORT_URL, {"file": upload("name,phone\nLi,13800138000\n")})
    client.force_login(sales)
    assert client.get(response["Location"]).status_code == 404
    assert client.post(response["Location"], {"confirm": "1"}).status_code == 404
    assert not Customer.objects.exists()


@pytest.mark.parametrize("url", [IMPORT_URL, EXPORT_URL, reverse("admin:crm_customer_import_template")])
def test_teacher_may_neither_import_nor_export(client, teacher, url):
    client.force_login(teacher)
    assert client.get(url).status_code == 403


def test_export_has_only_visible_rows_with_the_current_filters(client, sales, other_sales):
    factories.CustomerFactory(consultant=sales, name="Mine New", status=Customer.Status.NEW)
    factories.CustomerFactory(consultant=sales, name="Mine Lost", status=Customer.Status.LOST)
    factories.CustomerFactory(consultant=other_sales, name="Theirs", status=Customer.Status.NEW)
    client.force_login(sales)
    assert {r["name"] for r in exported_rows(export(client))} == {"Mine New", "Mine Lost"}
    assert {r["name"] for r in exported_rows(export(client, "?status__exact=new"))} == {"Mine New"}


@pytest.mark.parametrize("query", ["?nonsense=1", "?status__exact=new&e=1&nonsense=", "?consultant__password=x"])
def test_export_with_filters_the_list_does_not_allow_is_a_bad_request(client, sales, query):
    """The list answers unknown filters with "?e=1"; its export page answered them with 500."""
    client.force_login(sales)
    assert client.get(EXPORT_URL + query).status_code == 400


def test_export_queries_do_not_grow_with_rows(client, sales, django_assert_max_num_queries):
    client.force_login(sales)
    for _ in range(3):
        factories.CustomerFactory(consultant=sales).tags.add(factories.TagFactory())
    with django_assert_max_num_queries(30) as small:
        export(client)
    for _ in range(30):
        factories.CustomerFactory(consultant=sales).tags.add(factories.TagFactory())
    with django_assert_max_num_queries(len(small.captured_queries)):
        export(client)


def test_customer_list_shows_import_and_export_buttons(client, sales):
    client.force_login(sales)
    page = client.get(reverse("admin:crm_customer_changelist")).content.decode()
    assert f'href="{IMPORT_URL}"' in page.replace("'", '"')
    assert EXPORT_URL in page


def test_preview_shows_the_first_names_as_decoded(client, sales):
    """A GBK file read right shows 王芳 in the preview, so a wrong encoding would be seen before importing."""
    client.force_login(sales)
    gbk = "姓名,电话\n王芳,13800138000\n李雷,13900139000\n".encode("gbk")

    response = client.post(IMPORT_URL, {"file": upload(gbk)})
    page = client.get(response["Location"]).content.decode()

    sample = page[page.index('id="sample-rows"') :]
    assert "王芳" in sample and "李雷" in sample
    assert "gb18030" in page
