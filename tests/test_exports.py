"""The customer export as a browser drives it (the page reached from the filtered list, its form posted as rendered),
and the files as Excel reads them: BOM or GBK, phones as text, local times to the minute, headers in the reader's
language."""

import csv
import datetime
import io

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from crm.lead_files import field_for_header, open_lead_file
from crm.models import Customer
from crm.phones import normalize_phone
from crm.resources import EXPORT_FORMATS
from tests import factories
from tests.html_forms import browser_post

pytestmark = pytest.mark.django_db
LIST_URL = reverse("admin:crm_customer_changelist")
EXPORT_URL = reverse("admin:crm_customer_export")
UTC = datetime.UTC
CSV_UTF8, CSV_GBK, XLSX = "0", "1", "2"


def speak(client, language: str):
    """The language a person chose in the top bar (Django's language cookie), sent with every request after."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language


def export_from_page(client, query: str = "", file_format: str | None = None):
    """Open the export page as the list's Export button does, and submit its form as the browser renders it
    (with another format picked, if given)."""
    page_url = EXPORT_URL + query
    page = client.get(page_url)
    assert page.status_code == 200
    choose = {"format": file_format} if file_format else None
    response = browser_post(client, page_url, page, "export-form", choose)
    assert response.status_code == 200, response.content[:2000]
    return response


def csv_rows(response, encoding="utf-8-sig") -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode(encoding))))


@pytest.fixture
def leads(manager, sales, other_sales):
    """Customers of two salespeople, some following; created at known times."""
    made = {}
    for name, owner, status, hour in [
        ("Zhao Following", sales, Customer.Status.FOLLOWING, 1),
        ("Wang Following", other_sales, Customer.Status.FOLLOWING, 2),
        ("Li Following", sales, Customer.Status.FOLLOWING, 3),
        ("Wang New", sales, Customer.Status.NEW, 4),
        ("Sun Lost", other_sales, Customer.Status.LOST, 5),
    ]:
        made[name] = factories.CustomerFactory(name=name, consultant=owner, status=status)
        Customer.objects.filter(pk=made[name].pk).update(created_at=datetime.datetime(2026, 11, 20, hour, tzinfo=UTC))
    return made


def list_names(client, query: str) -> list[str]:
    """The names the list shows for `query`, in its order."""
    response = client.get(LIST_URL + query)
    assert response.status_code == 200
    return [str(customer.name) for customer in response.context["cl"].result_list]


@pytest.mark.parametrize(
    "query",
    [
        "?status__exact=following",
        "?status__exact=following&o=1",  # by name
        "?status__exact=following&o=6",  # by creation, oldest first
        "?q=Wang",
        "?q=Wang&status__exact=following&o=-1",
        "?archived=all&source__exact=website&o=1.-5",
        "?dashboard=1&archived=all&status__exact=following",  # a dashboard figure's list
    ],
)
def test_export_holds_exactly_the_rows_the_list_shows(client, manager, leads, query):
    client.force_login(manager)
    shown = list_names(client, query)
    assert 0 < len(shown) < len(leads) or "archived=all" in query

    rows = csv_rows(export_from_page(client, query))
    assert [row[0] for row in rows[1:]] == shown


def test_the_export_button_carries_the_lists_query_string_and_the_form_posts_back_to_it(client, manager, leads):
    client.force_login(manager)
    page = client.get(LIST_URL + "?status__exact=following&q=Wang").content.decode()
    assert f'href="{EXPORT_URL}?q=Wang&amp;status__exact=following"' in page

    export_page = client.get(EXPORT_URL + "?q=Wang&status__exact=following").content.decode()
    assert f'action="{EXPORT_URL}?q=Wang&amp;status__exact=following"' in export_page


def test_a_salesperson_exports_only_their_own_rows_of_the_filtered_list(client, sales, leads):
    client.force_login(sales)
    query = "?status__exact=following&o=-2"
    shown = list_names(client, query)
    assert set(shown) == {"Li Following", "Zhao Following"}
    rows = csv_rows(export_from_page(client, query))
    assert [row[0] for row in rows[1:]] == shown


def test_csv_opens_in_excel_phones_as_dialled_times_local_to_the_minute(client, sales):
    customer = factories.CustomerFactory(consultant=sales, name="王芳", phone="+8613911114444")
    abroad = factories.CustomerFactory(consultant=sales, name="Jane", phone="+12025550100")
    moment = datetime.datetime(2026, 11, 25, 18, 44, 31, 123456, tzinfo=UTC)  # 02:44 on the 26th in Shanghai
    Customer.objects.filter(pk=customer.pk).update(created_at=moment)
    client.force_login(sales)

    response = export_from_page(client, "?o=1")
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    header, *rows = csv_rows(response)
    by_name = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert by_name["王芳"]["phone"] == "139 1111 4444"
    assert by_name["Jane"]["phone"] == "00 1 202-555-0100"
    assert normalize_phone(by_name["Jane"]["phone"]) == abroad.phone  # read back as the same number
    assert by_name["王芳"]["created at"] == "2026-11-26 02:44"


def test_gbk_is_a_choice_for_older_excel(client, sales):
    factories.CustomerFactory(consultant=sales, name="王芳")
    client.force_login(sales)
    response = export_from_page(client, file_format=CSV_GBK)
    assert response["Content-Type"] == "text/csv; charset=gbk"
    assert not response.content.startswith(b"\xef\xbb\xbf")
    assert csv_rows(response, "gbk")[1][0] == "王芳"


def test_xlsx_keeps_phones_and_formulas_as_text_and_times_as_local_dates(client, sales):
    customer = factories.CustomerFactory(consultant=sales, name='=HYPERLINK("http://evil.example","x")')
    Customer.objects.filter(pk=customer.pk).update(created_at=datetime.datetime(2026, 11, 25, 18, 44, 59, tzinfo=UTC))
    client.force_login(sales)
    response = export_from_page(client, file_format=XLSX)
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [cell.value for cell in sheet[1]]
    name, phone, created = sheet[2][0], sheet[2][1], sheet[2][header.index("created at")]
    assert (name.data_type, name.value) == ("s", '=HYPERLINK("http://evil.example","x")')  # text, never run
    assert (phone.data_type, phone.value) == ("s", "137 " + customer.phone[6:10] + " " + customer.phone[10:])
    assert created.value == datetime.datetime(2026, 11, 26, 2, 44)
    assert created.number_format == "yyyy-mm-dd hh:mm"


def test_csv_defuses_formulas_without_touching_phones(client, sales):
    factories.CustomerFactory(consultant=sales, name="=1+2", content="@SUM(A1)", phone="+8613911114444")
    client.force_login(sales)
    header, row = csv_rows(export_from_page(client))
    cells = dict(zip(header, row, strict=True))
    assert (cells["name"], cells["inquiry"], cells["phone"]) == ("'=1+2", "'@SUM(A1)", "139 1111 4444")


def test_headers_and_the_export_page_speak_the_readers_language(client, sales):
    factories.CustomerFactory(consultant=sales)
    client.force_login(sales)
    speak(client, "zh-hans")
    page = client.get(EXPORT_URL)
    form = page.context["form"]
    labels = [str(field.label) for name, field in form.fields.items() if name.startswith("customerresource_")]
    assert labels[:4] == ["姓名", "电话", "QQ", "微信"]
    with translation.override("zh-hans"):
        formats = [str(file_format.label) for file_format in EXPORT_FORMATS]
    assert [str(label) for _value, label in form.fields["format"].choices] == formats
    assert form["format"].value() == CSV_UTF8

    header = csv_rows(browser_post(client, EXPORT_URL, page, "export-form"))[0]
    assert header == [
        "姓名",
        "电话",
        "QQ",
        "微信",
        "邮箱",
        "来源",
        "意向课程",
        "校区",
        "标签",
        "课程顾问",
        "咨询内容",
    ] + [
        "状态",
        "创建时间",
    ]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_an_export_reads_back_through_the_importer(client, sales, language):
    customer = factories.CustomerFactory(consultant=sales, name="王芳", phone="+12025550100", qq="10001")
    client.force_login(sales)
    speak(client, language)
    response = export_from_page(client)
    headers = csv_rows(response)[0]
    assert [field_for_header(h) for h in headers] == [
        "name",
        "phone",
        "qq",
        "wechat",
        "email",
        "source",
        "courses",
        "branch",
        "tags",
        "consultant",
        "content",
        None,  # status and creation time are for reading only
        None,
    ]
    lead_file = open_lead_file(io.BytesIO(response.content))
    [(_number, cells)] = list(lead_file.rows())
    assert normalize_phone(cells[1]) == customer.phone and cells[0] == "王芳"


def test_file_name_is_dated_by_the_schools_calendar(client, sales, monkeypatch):
    evening_utc = datetime.datetime(2026, 11, 25, 17, 30, tzinfo=UTC)  # 01:30 on the 26th in Shanghai
    monkeypatch.setattr(timezone, "now", lambda: evening_utc)
    client.force_login(sales)
    response = export_from_page(client)
    assert response["Content-Disposition"] == 'attachment; filename="Customer-2026-11-26.csv"'
