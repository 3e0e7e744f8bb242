"""Lead import: formats and encodings, every kind of invalid row, dedupe in the file and against the database,
ownership, and all-or-nothing confirmation."""

import io

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation
from openpyxl import Workbook

from crm import access
from crm.lead_files import NO_PHONE_COLUMN, NOT_DECODABLE, NOT_TEXT, LeadFileError, template_csv
from crm.models import Customer, LeadImport, LeadImportRow
from crm.services import lead_import as service
from tests import factories

pytestmark = pytest.mark.django_db
Outcome = LeadImportRow.Outcome

HEADER_EN = "name,phone,QQ,wechat,email,source,courses,tags,content\n"
HEADER_ZH = "姓名,电话,QQ,微信,邮箱,来源,咨询课程,标签,备注\n"


def csv_file(text: str, encoding: str = "utf-8", name: str = "leads.csv") -> io.BytesIO:
    data = io.BytesIO(text.encode(encoding))
    data.name = name
    return data


def xlsx_file(rows) -> io.BytesIO:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    data = io.BytesIO()
    workbook.save(data)
    data.seek(0)
    data.name = "leads.xlsx"
    return data


def preview(upload, by, **kwargs) -> LeadImport:
    return service.lead_import_preview(upload=upload, by=by, **kwargs)


def outcomes(lead_import):
    return dict(lead_import.rows.values_list("row_number", "outcome"))


@pytest.fixture
def python_course():
    return factories.CourseFactory(name="Python Full Stack")


@pytest.mark.parametrize(
    "encoding,header",
    [("utf-8", HEADER_EN), ("utf-8-sig", HEADER_ZH), ("gbk", HEADER_ZH), ("gb18030", HEADER_ZH), ("utf-8", HEADER_ZH)],
)
def test_csv_in_each_encoding_imports_chinese_names(sales, python_course, encoding, header):
    text = header + "王芳,138 0013 8000,10001,wangfang,wf@example.com,网站,Python Full Stack,热门,想上晚班\n"
    if header == HEADER_EN:
        text = text.replace("网站", "website")
    lead_import = preview(csv_file(text, encoding), sales)
    assert (lead_import.new, lead_import.invalid) == (1, 0), list(service.invalid_rows(lead_import))
    service.lead_import_confirm(lead_import=lead_import, by=sales)
    customer = Customer.objects.get(phone="+8613800138000")
    assert (customer.name, customer.qq, customer.source, customer.consultant) == ("王芳", "10001", "website", sales)
    assert list(customer.consult_courses.all()) == [python_course]
    assert [t.name for t in customer.tags.all()] == ["热门"]


def test_xlsx_imports_with_numeric_cells(sales):
    lead_import = preview(xlsx_file([["姓名", "电话", "QQ"], ["李雷", 13800138000, 123456]]), sales)
    service.lead_import_confirm(lead_import=lead_import, by=sales)
    assert Customer.objects.get(phone="+8613800138000").qq == "123456"


def test_undecodable_file_is_refused_naming_the_problem(sales):
    data = csv_file("")
    data = io.BytesIO(b"name,phone\n\xff\xfe\xfa\xfb,13800138000\n")
    with pytest.raises(LeadFileError) as error:
        preview(data, sales)
    assert str(error.value) == NOT_DECODABLE % {"offset": 11}
    assert not LeadImport.objects.exists()


def test_binary_file_is_refused(sales):
    with pytest.raises(LeadFileError) as error:
        preview(io.BytesIO(b"\x89PNG\r\n\x1a\n\x00\x00\x00"), sales)
    assert str(error.value) == str(NOT_TEXT)


def test_file_without_phone_column_is_refused(sales):
    with pytest.raises(LeadFileError) as error:
        preview(csv_file("name,email\nLi,li@example.com\n"), sales)
    assert str(error.value) == str(NO_PHONE_COLUMN)


def test_unknown_columns_are_reported(sales):
    lead_import = preview(csv_file("name,phone,budget,城市\nLi,13800138000,5000,北京\n"), sales)
    assert lead_import.unknown_columns == ["budget", "城市"]
    assert lead_import.new == 1


def test_every_kind_of_invalid_row_is_reported_with_row_column_and_reason(sales, python_course):
    text = (
        HEADER_EN
        + "Ok,13800138000,,,,website,,,\n"  # row 2: fine
        + "Bad phone,12345,,,,,,,\n"  # 3
        + "No phone,,,,,,,,\n"  # 4
        + "Bad qq,13800138001,12ab,,,,,,\n"  # 5
        + "Bad email,13800138002,,,not-an-email,,,,\n"  # 6
        + "Bad source,13800138003,,,,billboard,,,\n"  # 7
        + "Bad course,13800138004,,,,,Cobol,,\n"  # 8
        + ("x" * 65)
        + ",13800138005,,,,,,,\n"  # 9: name too long
    )
    lead_import = preview(csv_file(text), sales)
    assert (lead_import.new, lead_import.invalid) == (1, 7)
    problems = {(row, column) for row, column, _reason in service.invalid_rows(lead_import)}
    assert problems == {
        (3, "phone"),
        (4, "phone"),
        (5, "QQ"),
        (6, "email"),
        (7, "source"),
        (8, "courses"),
        (9, "name"),
    }
    reasons = {row: reason for row, _column, reason in service.invalid_rows(lead_import)}
    assert reasons[8] == service.UNKNOWN_COURSE % {"value": "Cobol"}


def test_duplicates_in_the_file_are_reported_with_both_row_numbers(sales):
    text = "name,phone\nA,138 0013 8000\nB,13800138001\nC,+86 13800138000\nD,13800138000\n"
    lead_import = preview(csv_file(text), sales)
    assert (lead_import.new, lead_import.duplicate) == (2, 2)
    assert list(service.duplicate_rows(lead_import)) == [(4, 2, "+8613800138000"), (5, 2, "+8613800138000")]
    service.lead_import_confirm(lead_import=lead_import, by=sales)
    assert Customer.objects.get(phone="+8613800138000").name == "A"


def test_existing_lead_is_filled_not_duplicated(sales, python_course):
    customer = factories.CustomerFactory(consultant=sales, phone="+8613800138000", name="Kept", email="")
    factories.CustomerFactory(consultant=sales, phone="+8613800138001", name="Same")
    text = HEADER_EN + "New Name,13800138000,,,li@example.com,,Python Full Stack,,\nSame,13800138001,,,,,,,\n"
    lead_import = preview(csv_file(text), sales)
    assert (lead_import.new, lead_import.updated, lead_import.unchanged) == (0, 1, 1)
    service.lead_import_confirm(lead_import=lead_import, by=sales)
    customer.refresh_from_db()
    assert (customer.name, customer.email) == ("Kept", "li@example.com")  # filled, never overwritten
    assert list(customer.consult_courses.all()) == [python_course]
    assert Customer.objects.count() == 2
    latest = customer.history.first()
    assert latest.history_type == "~" and latest.history_user == sales and "leads.csv" in latest.history_change_reason


def test_salesperson_cannot_take_over_anothers_customer_by_import(sales, other_sales):
    theirs = factories.CustomerFactory(consultant=other_sales, phone="+8613800138000", name="Theirs", email="")
    lead_import = preview(csv_file("name,phone,email\nMine,13800138000,x@example.com\n"), sales)
    assert (lead_import.invalid, lead_import.updated) == (1, 0)
    [(row, column, reason)] = list(service.invalid_rows(lead_import))
    assert (row, column) == (2, "phone") and "Theirs" not in reason
    service.lead_import_confirm(lead_import=lead_import, by=sales)
    theirs.refresh_from_db()
    assert (theirs.consultant, theirs.email, theirs.name) == (other_sales, "", "Theirs")
    assert not access.can_reach(sales, theirs)


def test_manager_import_never_changes_ownership(manager, sales, other_sales):
    theirs = factories.CustomerFactory(consultant=other_sales, phone="+8613800138000", email="")
    text = f"name,phone,email,consultant\nX,13800138000,x@example.com,{sales.username}\n"
    lead_import = preview(csv_file(text), manager, owner_mode=LeadImport.OwnerMode.COLUMN)
    service.lead_import_confirm(lead_import=lead_import, by=manager)
    theirs.refresh_from_db()
    assert theirs.consultant == other_sales and theirs.email == "x@example.com"


def test_manager_names_a_consultant_per_row(manager, sales, other_sales):
    text = (
        "name,phone,consultant\n"
        f"A,13800138000,{sales.username}\nB,13800138001,{other_sales.username}\nC,13800138002,nobody\n"
    )
    lead_import = preview(csv_file(text), manager, owner_mode=LeadImport.OwnerMode.COLUMN)
    assert (lead_import.new, lead_import.invalid) == (2, 1)
    service.lead_import_confirm(lead_import=lead_import, by=manager)
    assert Customer.objects.get(name="A").consultant == sales
    assert Customer.objects.get(name="B").consultant == other_sales


def test_manager_shares_leads_round_robin(manager, sales, other_sales):
    text = "name,phone\n" + "".join(f"L{i},1380013800{i}\n" for i in range(4))
    lead_import = preview(csv_file(text), manager, owner_mode=LeadImport.OwnerMode.ROUND_ROBIN)
    service.lead_import_confirm(lead_import=lead_import, by=manager)
    owners = list(Customer.objects.order_by("name").values_list("consultant", flat=True))
    assert owners == [sales.pk, other_sales.pk, sales.pk, other_sales.pk]


def test_salesperson_cannot_assign_imports_to_others(sales, other_sales):
    with pytest.raises(PermissionDenied):
        preview(csv_file("name,phone\nA,13800138000\n"), sales, owner_mode=LeadImport.OwnerMode.ROUND_ROBIN)


def test_teacher_cannot_import(teacher):
    with pytest.raises(PermissionDenied):
        preview(csv_file("name,phone\nA,13800138000\n"), teacher)


def test_contacts_taken_in_the_file_or_database_are_invalid(sales):
    factories.CustomerFactory(qq="99999")
    text = "name,phone,QQ\nA,13800138000,12345\nB,13800138001,12345\nC,13800138002,99999\n"
    lead_import = preview(csv_file(text), sales)
    assert (lead_import.new, lead_import.invalid) == (1, 2)
    service.lead_import_confirm(lead_import=lead_import, by=sales)
    assert Customer.objects.filter(qq="12345").count() == 1


@pytest.mark.parametrize("language,column", [("en", "email"), ("zh-hans", "邮箱")])
def test_contact_repeated_in_the_file_names_its_first_row_in_the_users_language(sales, language, column):
    text = "name,phone,email\nA,13800138000,a@example.com\nB,13800138001,b@example.com\nC,13800138002,a@example.com\n"
    with translation.override(language):
        lead_import = preview(csv_file(text), sales)
        assert list(service.invalid_rows(lead_import)) == [
            (4, column, service.CONTACT_IN_FILE % {"column": column, "row": 2})
        ]


def test_confirm_imports_exactly_the_preview_or_nothing(sales, other_sales):
    lead_import = preview(csv_file("name,phone\nA,13800138000\nB,13800138001\n"), sales)
    factories.CustomerFactory(phone="+8613800138001", consultant=other_sales)  # arrives after the preview
    before = Customer.objects.count()
    with pytest.raises(service.ImportRefused) as error:
        service.lead_import_confirm(lead_import=lead_import, by=sales)
    assert str(error.value) == service.STALE_PREVIEW % {"count": 1}
    assert Customer.objects.count() == before
    lead_import.refresh_from_db()
    assert lead_import.status == LeadImport.Status.PREVIEWED


def test_failure_mid_import_leaves_the_database_unchanged(sales, monkeypatch):
    existing = factories.CustomerFactory(consultant=sales, phone="+8613800138009", email="")
    lead_import = preview(csv_file("name,phone,email\nA,13800138000,\nB,13800138009,b@example.com\n"), sales)

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "_record_history", explode)  # fails after customers were inserted
    with pytest.raises(RuntimeError):
        service.lead_import_confirm(lead_import=lead_import, by=sales)
    assert not Customer.objects.filter(phone="+8613800138000").exists()
    existing.refresh_from_db()
    assert existing.email == ""
    assert LeadImport.objects.get().status == LeadImport.Status.PREVIEWED


def test_double_confirm_imports_once(sales):
    lead_import = preview(csv_file("name,phone\nA,13800138000\n"), sales)
    service.lead_import_confirm(lead_import=lead_import, by=sales)
    with pytest.raises(service.ImportRefused) as error:
        service.lead_import_confirm(lead_import=lead_import, by=sales)
    assert str(error.value) == str(service.ALREADY_IMPORTED)
    assert Customer.objects.count() == 1


def test_history_records_imported_customers_with_the_importer(sales):
    lead_import = preview(csv_file("name,phone\nA,13800138000\n"), sales)
    service.lead_import_confirm(lead_import=lead_import, by=sales)
    record = Customer.objects.get().history.get()
    assert (record.history_type, record.history_user, record.name) == ("+", sales, "A")


def test_template_file_reimports_cleanly(sales):
    factories.CourseFactory(name="Python Full Stack")
    factories.BranchFactory(name="Beijing Haidian")
    lead_import = preview(csv_file(template_csv().decode("utf-8")), sales)
    assert (lead_import.new, lead_import.invalid, lead_import.unknown_columns) == (1, 0, [])


def test_campus_column_sets_new_leads_and_fills_existing_ones(sales):
    haidian = factories.BranchFactory(name="Beijing Haidian")
    existing = factories.CustomerFactory(consultant=sales, phone="+8613800138001", branch=None)
    text = "姓名,电话,校区\n新,13800138000,beijing haidian\n旧,13800138001,Beijing Haidian\n错,13800138002,Mars\n"
    lead_import = preview(csv_file(text), sales)
    assert (lead_import.new, lead_import.updated, lead_import.invalid) == (1, 1, 1)
    [(row, _column, reason)] = list(service.invalid_rows(lead_import))
    assert (row, reason) == (4, "Unknown campus “Mars”.")
    service.lead_import_confirm(lead_import=lead_import, by=sales)
    assert Customer.objects.get(phone="+8613800138000").branch == haidian
    existing.refresh_from_db()
    assert existing.branch == haidian


def test_import_leads_command_dry_run_then_import(tmp_path, sales):
    from django.core.management import call_command

    path = tmp_path / "leads.csv"
    path.write_text("name,phone\nA,13800138000\nB,12345\n", encoding="utf-8")
    out = io.StringIO()
    call_command("import_leads", str(path), consultant=sales.username, dry_run=True, stdout=out, stderr=io.StringIO())
    assert "row 3, phone" in out.getvalue() and not Customer.objects.exists()
    call_command("import_leads", str(path), consultant=sales.username, stdout=out, stderr=io.StringIO())
    assert Customer.objects.get().consultant == sales


def test_import_leads_command_reports_a_bad_file(tmp_path, sales):
    from django.core.management import CommandError, call_command

    path = tmp_path / "leads.csv"
    path.write_bytes(b"name,email\nA,a@example.com\n")
    with pytest.raises(CommandError, match="no phone column"):
        call_command("import_leads", str(path), consultant=sales.username, stdout=io.StringIO(), stderr=io.StringIO())


def test_long_file_is_read_to_its_last_row(sales):
    lines = "".join(f"Lead {n},136{n:08d},lead{n}@example.com\n" for n in range(5000))  # well past any buffer
    lead_import = preview(csv_file("name,phone,email\n" + lines), sales)
    assert (lead_import.total, lead_import.new) == (5000, 5000)
    assert lead_import.file.size == len(("name,phone,email\n" + lines).encode())


def test_imported_customers_have_timestamps_the_orm_reads_and_filters(sales):
    from django.utils import timezone

    service.lead_import_confirm(lead_import=preview(csv_file("name,phone\nA,13800138000\n"), sales), by=sales)
    today = timezone.localdate()
    assert Customer.objects.filter(created_at__date=today).count() == 1
    assert Customer.objects.get().created_at.tzinfo is not None


def test_existing_lead_gains_only_the_courses_tags_and_contacts_it_lacks(sales, python_course):
    web = factories.CourseFactory(name="Web")
    hot = factories.TagFactory(name="hot")
    factories.CustomerFactory(email="taken@example.com")
    has_all, lacks, lacks_a_tag = (
        factories.CustomerFactory(consultant=sales, phone=f"+861380013800{i}", name=name, email="")
        for i, name in enumerate("ABC")
    )
    for customer in (has_all, lacks, lacks_a_tag):
        customer.consult_courses.add(python_course)
        customer.tags.add(hot)
    text = (
        HEADER_EN
        + "A,13800138000,,,taken@example.com,,Python Full Stack,hot,\n"  # the email is another customer's
        + 'B,13800138001,,,,,"Python Full Stack,Web","hot,new",\n'
        + "C,13800138002,,,,,Python Full Stack,vip,\n"
    )
    lead_import = preview(csv_file(text), sales)
    assert outcomes(lead_import) == {2: Outcome.UNCHANGED, 3: Outcome.UPDATED, 4: Outcome.UPDATED}
    service.lead_import_confirm(lead_import=lead_import, by=sales)
    has_all.refresh_from_db()
    assert has_all.email == "" and has_all.history.count() == 1
    assert set(lacks.consult_courses.all()) == {python_course, web}
    assert set(lacks.tags.values_list("name", flat=True)) == {"hot", "new"}
    assert set(lacks_a_tag.tags.values_list("name", flat=True)) == {"hot", "vip"}
    assert [record.history_type for record in lacks_a_tag.history.all()] == ["~", "+"]


def test_erasing_an_imported_lead_blanks_its_rows_in_the_import(sales, school_admin):
    from crm.services import privacy

    text = "name,phone,email\nLi Lei,13800138000,li@example.com\nLi again,+86 138 0013 8000,\n"
    service.lead_import_confirm(lead_import=preview(csv_file(text), sales), by=sales)
    privacy.customer_erase(customer=Customer.objects.get(), by=school_admin)
    assert set(LeadImportRow.objects.values_list("name", "phone", "email")) == {("", "", "")}


def test_contact_of_a_new_lead_earlier_in_the_file_is_not_filled_into_an_existing_one(sales):
    existing = factories.CustomerFactory(consultant=sales, phone="+8613800138001", email="")
    text = "name,phone,email\nNew,13800138000,x@example.com\nOld,13800138001,x@example.com\n"
    service.lead_import_confirm(lead_import=preview(csv_file(text), sales), by=sales)
    existing.refresh_from_db()
    assert Customer.objects.get(phone="+8613800138000").email == "x@example.com" and existing.email == ""
