"""Hypothesis fuzzing of what strangers send: the public enrollment form and its upload endpoint, the portal's
login and password reset, and lead files (CSV, XLSX, any bytes) read for an import preview.

Why: these read input from anyone holding a link, anyone at all, or a spreadsheet from anywhere. Whatever
arrives, the answer is never a 5xx or an unhandled exception, and a refusal writes nothing. The same examples
run every time (derandomized, no example database), so CI is reproducible; each example's writes are rolled
back, so every example starts from the fixture's rows.
"""

import csv
import datetime
import io
import logging
import os
from collections import Counter
from contextlib import contextmanager, suppress
from urllib.parse import urlencode, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from openpyxl import Workbook

from crm import links
from crm.lead_files import COLUMNS, CSV_MAX_CELL, LeadFileError, open_lead_file
from crm.models import Customer, Enrollment, FollowUp, LeadImport, LeadImportRow, Payment, Student
from crm.services import enrollment as enrollments
from crm.services import lead_import as service
from tests import factories, files

pytestmark = pytest.mark.django_db

FUZZ = hypothesis_settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=80,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@contextmanager
def rolled_back():
    """One example's writes, undone afterwards (its files stay in the test's own folder)."""
    savepoint = transaction.savepoint()
    try:
        yield
    finally:
        transaction.savepoint_rollback(savepoint)


@pytest.fixture(autouse=True)
def quiet_and_unlimited(settings, monkeypatch):
    """Thousands of requests from one address, without a log line for each refusal (5xx still log)."""
    settings.PUBLIC_RATE_LIMIT_PER_MINUTE = 10**6
    for name in ("django.request", "django.security"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.ERROR)


# --- what strangers type and upload ----------------------------------------------------------------------------

NASTY = [
    "",
    " ",
    "\x00",
    "0",
    "-1",
    "١٢٣",
    "²",
    "𝟏𝟑𝟖𝟎𝟎𝟏𝟑𝟖𝟎𝟎𝟎",
    "\u202egnp.exe",
    "<script>alert(1)</script>",
    "' OR '1'='1",
    "%s%n{0}{student_name}",
    "../../etc/passwd",
    "\r\n\r\nX-Injected: 1",
    "NaN",
    "1e309",
]


def texts(max_size: int = 40):
    """Any unicode (control characters and NUL included), lookalike digits, markup, binary-ish bytes as
    characters, and very long runs."""
    return st.one_of(
        st.text(max_size=max_size),
        st.sampled_from(NASTY),
        st.binary(max_size=max_size).map(lambda data: data.decode("latin-1")),
        st.tuples(st.characters(codec="utf-8"), st.integers(200, 20_000)).map(lambda pair: pair[0] * pair[1]),
    )


SAMPLE_FILES = [
    files.png_bytes(),
    files.jpeg_bytes(),
    files.PDF,
    files.PDF_WITH_JAVASCRIPT,
    files.zip_bytes(),
    files.huge_jpeg_header(),
    files.png_with_bad_checksum(),
]
MAGIC = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"%PDF-", b"PK\x03\x04", b"MZ", b"<svg", b"GIF89a"]


def uploads():
    """Real documents, damaged ones, and bytes that start like one kind and go on as anything."""
    content = st.one_of(
        st.sampled_from(SAMPLE_FILES),
        st.binary(max_size=3000),
        st.tuples(st.sampled_from(MAGIC), st.binary(max_size=2000)).map(b"".join),
    )
    return st.builds(
        lambda name, data, kind: SimpleUploadedFile(_nameable(name), data, content_type=kind),
        name=st.one_of(st.sampled_from(["id.png", "scan.pdf", "x.html", "../../a.jpg"]), texts(60)),
        data=content,
        kind=st.sampled_from(["image/png", "image/jpeg", "application/pdf", "text/html", "application/octet-stream"]),
    )


def _nameable(name: str) -> str:
    """Django's upload objects refuse to exist without a file name; anything else goes."""
    return name if os.path.basename(name) not in ("", ".", "..") else name + "x"


def extra_fields():
    return st.dictionaries(texts(20).filter(bool), texts(), max_size=3)


# --- the enrollment link -----------------------------------------------------------------------------------------

FORM_FIELDS = list(factories.enrollment_form_post(""))


@pytest.fixture
def public(sales):
    """An open enrollment whose student already uploaded one document, so an untouched form submits."""
    customer = factories.CustomerFactory(consultant=sales, name="Wang Fang", phone="+8613900139000")
    enrollment = factories.EnrollmentFactory(customer=customer)
    enrollments.documents_add(enrollment=enrollment, uploads=[files.png()])
    return enrollment


def state(enrollment) -> dict:
    """Everything a request on the enrollment link may write."""
    return {
        "enrollment": Enrollment.objects.filter(pk=enrollment.pk).values().get(),
        "customer": Customer.objects.filter(pk=enrollment.customer_id).values().get(),
        "history": (enrollment.history.count(), Customer.history.filter(id=enrollment.customer_id).count()),
        "other rows": (Customer.objects.count(), Payment.objects.count(), Student.objects.count()),
        "documents": set(enrollment.documents.values_list("public_id", "original_name")),
    }


@pytest.mark.parametrize("button", ["submit", "upload", "remove"])
def test_the_enrollment_form_takes_anything(public, button):
    """Submit, upload or remove, with any field changed or dropped (None), extra fields and any files. A
    refusal changes nothing of the enrollment; documents it accepted are kept for the student and listed on
    the page (a browser cannot send files again), as the no-JavaScript form does on purpose."""
    link, mine = public.get_public_url(), public.documents.get().public_id.hex
    seen = Counter()

    @FUZZ
    @given(
        changed=st.dictionaries(st.sampled_from(FORM_FIELDS), st.one_of(st.none(), texts()), max_size=4),
        extra=extra_fields(),
        documents=st.lists(uploads(), max_size=3),
        removed=st.one_of(st.just(mine), texts()),
    )
    def post_the_form(changed, extra, documents, removed):
        data = {**factories.enrollment_form_post(enrollments.contract_digest(public)), **extra}
        if button != "submit":
            del data["submit"]
            data[button] = removed if button == "remove" else "1"
        for name, value in changed.items():
            if value is None:
                data.pop(name, None)
            else:
                data[name] = value
        if documents:
            data["documents"] = documents
        before = state(public)

        with rolled_back():
            response = Client().post(link, data)
            after = state(public)

        assert response.status_code < 500
        if response.status_code == 302 and response.url.endswith("/thanks/"):
            seen["submitted"] += 1
            assert after["enrollment"]["status"] == Enrollment.Status.SUBMITTED and after["documents"]
            return
        seen["not submitted"] += 1
        unchanged = ["enrollment", "customer", "history", "other rows"]
        assert [after[key] for key in unchanged] == [before[key] for key in unchanged]
        if before["documents"] - after["documents"]:
            seen["removed"] += 1
            assert data.get("remove") == mine and response.status_code == 302
        page = response.content.decode()
        for _id, name in after["documents"] - before["documents"]:
            seen["kept"] += 1
            assert escape(name) in page, "a document was stored but the page does not say so"

    post_the_form()
    assert seen["not submitted"] and seen[{"submit": "submitted", "upload": "kept", "remove": "removed"}[button]], seen


def test_the_document_endpoint_stores_all_or_nothing(public):
    """Dropzone's endpoint answers JSON: the documents it stored, or why it stored none."""
    url = reverse("enrollment_document_upload", args=[links.link_token(public)])
    seen = Counter()

    @FUZZ
    @given(
        documents=st.lists(uploads(), max_size=3),
        field=st.sampled_from(["file", "documents", "File"]),
        extra=extra_fields(),
    )
    def upload(documents, field, extra):
        before = state(public)

        with rolled_back():
            response = Client().post(url, {**extra, field: documents} if documents else extra)
            after = state(public)

        assert response.status_code in (200, 400), response.status_code
        seen[response.status_code] += 1
        if response["Content-Type"] != "application/json":  # a body the multipart parser refused
            assert response.status_code == 400 and after == before
            return
        answer = response.json()
        added = after["documents"] - before["documents"]
        if response.status_code == 200:
            assert {document["id"] for document in answer["documents"]} == {public_id.hex for public_id, _ in added}
            assert added and field == "file"  # those whose file name survived the upload parser
        else:
            assert answer["error"] and after == before

    upload()
    assert seen[200] and seen[400], seen


# --- the portal ------------------------------------------------------------------------------------------------


@pytest.fixture
def student():
    user = factories.UserFactory(username="+8613700000001", email="me@example.com", role="student", is_staff=False)
    return factories.StudentFactory(user=user)


def users():
    return list(get_user_model().objects.order_by("pk").values())


HOSTILE_NEXT = ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "/portal/"]


def test_the_portal_login_takes_anything(student):
    """No wrong password logs in or writes a row, and no `next` leads off the site."""
    seen = Counter()

    @FUZZ
    @given(
        username=st.one_of(texts(), st.just("+8613700000001"), st.just("137 0000 0001")),
        password=texts(),
        next_page=st.one_of(st.none(), texts(), st.sampled_from(HOSTILE_NEXT)),
        extra=extra_fields(),
    )
    def log_in(username, password, next_page, extra):
        data = {**extra, "username": username, "password": password}
        if next_page is not None:
            data["next"] = next_page
        before = users()

        with rolled_back():
            response = Client().post(reverse("portal:login"), data)
            after = users()

        assert response.status_code < 500
        seen[response.status_code] += 1
        if response.status_code == 302:
            assert not urlsplit(response.url).netloc and not response.url.startswith(("//", "/\\"))
        assert after == before

    log_in()
    assert seen[200], seen  # the form answered (and refused), not only the body parser


def test_the_password_reset_takes_anything(student):
    """A reset link goes only to a student's own stored address, whatever was typed, and nothing is written."""
    seen = Counter()

    @FUZZ
    @given(
        email=st.one_of(texts(), st.sampled_from(["me@example.com", "ME@EXAMPLE.COM", "ｍe@example.com", "me@x\x00"])),
        extra=extra_fields(),
    )
    def ask_for_a_link(email, extra):
        mail.outbox.clear()
        before = users()

        with rolled_back():
            response = Client().post(reverse("portal:password_reset"), {**extra, "email": email})
            after = users()

        assert response.status_code < 500
        sent_to = {address for message in mail.outbox for address in message.to}
        seen["sent" if sent_to else "not sent"] += 1
        assert sent_to <= {"me@example.com"}
        assert after == before

    ask_for_a_link()
    assert seen["sent"] and seen["not sent"], seen


# --- the inquiry form ------------------------------------------------------------------------------------------

INQUIRY_FIELDS = ["name", "phone", "course", "campus", "message", "website"]
INQUIRY_QUERY = ["course", "src", "utm_source", "utm_medium", "utm_campaign"]


def test_the_inquiry_form_takes_anything(sales):
    """Any field changed or dropped, any campaign in the address: never a 5xx; a refusal writes nothing, a bot's
    filled honeypot is thanked and writes nothing, and an accepted inquiry is one follow-up (and one lead at most)."""
    course = factories.CourseFactory()
    factories.CustomerFactory(consultant=sales, phone="+8613800138000")
    seen = Counter()

    def rows():
        return Customer.objects.count(), FollowUp.objects.count(), Customer.history.count()

    @FUZZ
    @given(
        changed=st.dictionaries(st.sampled_from(INQUIRY_FIELDS), st.one_of(st.none(), texts()), max_size=4),
        query=st.dictionaries(st.sampled_from(INQUIRY_QUERY), texts(), max_size=3),
        phone=st.sampled_from(["139 0013 9000", "138 0013 8000"]),
        extra=extra_fields(),
    )
    def send(changed, query, phone, extra):
        data = {**extra, "name": "Li Lei", "phone": phone, "course": str(course.pk), "campus": "", "message": "Hi"}
        for name, value in changed.items():
            if value is None:
                data.pop(name, None)
            else:
                data[name] = value
        before = rows()

        with rolled_back():
            response = Client().post(f"{reverse('inquiry')}?{urlencode(query)}", data)
            after = rows()

        assert response.status_code < 500
        seen[response.status_code] += 1
        if response.status_code != 302:
            assert response.status_code == 400 and after == before
            return
        assert response.url == reverse("inquiry_thanks")
        if data.get("website"):
            seen["honeypot"] += 1
            assert after == before
        else:
            assert after[1] == before[1] + 1 and after[0] - before[0] in (0, 1)

    send()
    assert seen[302] and seen[400] and seen["honeypot"], seen


# --- lead files ------------------------------------------------------------------------------------------------


def spellings(column) -> list[str]:
    """Every header the importer takes for a column, as people type them."""
    names = [column.field, column.english, column.chinese, *column.aliases]
    return [*names, column.english.upper(), f" {column.english} ", f"{column.chinese}/{column.english}"]


EXISTING_PHONES = ["+8613800138000", "13800138001", "138 0013 8002"]  # the first two exist, one each side
TOO_LONG_CELL = "1" * (CSV_MAX_CELL + 1)


@pytest.fixture
def lead_world(sales, other_sales, manager):
    """Customers the files may name (one of another salesperson's), a course and a campus the cells may name."""
    factories.CustomerFactory(consultant=sales, phone="+8613800138000", qq="10001", email="mine@example.com")
    factories.CustomerFactory(consultant=other_sales, phone="+8613800138001", wechat="theirs")
    factories.CourseFactory(name="Python Web")
    factories.BranchFactory(name="Haidian")
    return {"sales": sales, "manager": manager}


def cells():
    """What lead cells hold: text of any kind (NUL aside: a file with NUL bytes is refused whole, and the
    damage step below adds those), phones and contacts that exist or not, sources, courses, campuses,
    formulas."""
    return st.one_of(
        texts(30).map(lambda text: text.replace("\x00", "")),
        st.sampled_from(EXISTING_PHONES + ["+8613900139000", "1390013900", "mine@example.com", "theirs", "10001"]),
        st.sampled_from(["website", "网站", "转介绍", "nope", "Python Web", "Python Web, Go", "Haidian", "sales-a"]),
        st.sampled_from(["=1+1", '\'=HYPERLINK("x")', "@SUM(A1)", "-1", "+86 138 0013 8000"]),
    )


def now_and_then(draw, one_in: int) -> bool:
    """True about once in `one_in` draws; False in the simplest example, which Hypothesis tries first."""
    return draw(st.integers(1, one_in)) == one_in


@st.composite
def header_row(draw) -> list:
    """Known columns in any order and spelling (the phone column usually among them), unknown ones mixed in;
    now and then a known column twice or an over-long name."""
    columns = draw(st.lists(st.sampled_from(COLUMNS), unique_by=lambda column: column.field, max_size=6))
    if not now_and_then(draw, 5) and all(column.field != "phone" for column in columns):
        columns.append(COLUMNS[1])  # the phone column
    names = [draw(st.sampled_from(spellings(column))) for column in columns]
    names += draw(st.lists(texts(12).map(lambda text: text.replace("\x00", "")), max_size=2))
    if now_and_then(draw, 6):
        names.append(draw(st.one_of(st.sampled_from(sum(map(spellings, COLUMNS), [])), st.just(TOO_LONG_CELL))))
    return draw(st.permutations(names)) or [""]


def damaged(draw, data: bytes, overwrite: bool) -> bytes:
    """One time in five, a few bytes dropped in (CSV) or overwritten (XLSX) somewhere."""
    if not now_and_then(draw, 5):
        return data
    at = draw(st.integers(1, 2**16)) % (len(data) + 1)  # not drawn within len(data): workbooks differ by their date
    noise = draw(st.binary(min_size=1, max_size=8))
    return data[:at] + noise + data[at + len(noise) * overwrite :]


@st.composite
def csv_files(draw) -> bytes:
    """Any header order (known, unknown and repeated names), delimiters, quoting, line ends and encodings; now
    and then an over-long cell or random bytes dropped in."""
    out = io.StringIO()
    writer = csv.writer(
        out,
        delimiter=draw(st.sampled_from([",", ";", "\t", "|", " "])),
        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC, csv.QUOTE_NONE])),
        lineterminator=draw(st.sampled_from(["\r\n", "\n", "\r"])),
        escapechar="\\",
    )
    rows = [draw(header_row()), *draw(st.lists(st.lists(cells(), min_size=1, max_size=10), max_size=8))]
    if len(rows) > 1 and now_and_then(draw, 8):
        rows[-1][0] = TOO_LONG_CELL
    for row in rows:
        with suppress(csv.Error):  # a lone empty field cannot be written unquoted: that row is left out
            writer.writerow(row)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16", "latin-1"]))
    return damaged(draw, out.getvalue().encode(encoding, errors="replace"), overwrite=False)


def printable(text: str) -> str:
    """What openpyxl writes into a cell, and what Django's upload parser keeps of a file name."""
    return "".join(char for char in text if char.isprintable())


def xlsx_cells():
    return st.one_of(
        st.none(),
        st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40),  # openpyxl refuses the rest
        cells().map(printable),
        st.integers(-(2**63), 2**63),
        st.floats(),
        st.booleans(),
        st.datetimes(min_value=datetime.datetime(1900, 3, 1)),
        st.dates(min_value=datetime.date(1900, 3, 1)),
        st.times(),
        st.sampled_from(["=1/0", "=SUM(A1:A3)", "=A1", '=HYPERLINK("http://evil.example","x")', "=NOW()"]),
        st.integers(1000, 32_000).map(lambda n: "x" * n),
    )


@st.composite
def xlsx_files(draw) -> bytes:
    """A workbook of any cell types (numbers, dates, None, long strings, formulas), maybe with an empty first
    sheet, now and then with bytes of the zip overwritten."""
    workbook = Workbook()
    if now_and_then(draw, 10):
        workbook.create_sheet("empty", 0)
    sheet = workbook.worksheets[-1]
    header = draw(header_row())
    sheet.append([draw(xlsx_cells()) if now_and_then(draw, 6) else printable(name) for name in header])
    for row in draw(st.lists(st.lists(xlsx_cells(), max_size=10), max_size=8)):
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return damaged(draw, out.getvalue(), overwrite=True)


def file_names():
    """As Django's upload parser hands them over: printable characters only."""
    return texts(300).map(printable)


def importers():
    """A salesperson's imports are theirs; a manager picks who owns the new leads."""
    manager = st.tuples(st.just("manager"), st.sampled_from(list(LeadImport.OwnerMode)))
    return st.one_of(st.just(("sales", LeadImport.OwnerMode.IMPORTER)), manager)


def assert_preview_is_all_or_nothing(lead_world, data: bytes, who: str, owner_mode: str, name: str) -> str:
    """The reader streams rows or raises LeadFileError; the preview stores a plan of exactly those rows, with
    counts that add up, or raises LeadFileError/ImportRefused and stores nothing; no customer is written."""
    try:
        rows = list(open_lead_file(io.BytesIO(data)).rows())
    except LeadFileError:
        rows = None
    before = (LeadImport.objects.count(), LeadImportRow.objects.count(), list(Customer.objects.values()))
    upload = io.BytesIO(data)
    upload.name = name

    with rolled_back():
        try:
            lead_import = service.lead_import_preview(
                upload=upload, by=lead_world[who], owner_mode=owner_mode, consultant=lead_world["sales"]
            )
        except (LeadFileError, service.ImportRefused):
            lead_import = None
        after = (LeadImport.objects.count(), LeadImportRow.objects.count(), list(Customer.objects.values()))
        counts = lead_import and (lead_import.total, lead_import.rows.count())

    if lead_import is None:
        assert after == before
        return "refused"
    assert rows is not None and counts == (len(rows), len(rows))
    parts = lead_import.new + lead_import.updated + lead_import.unchanged + lead_import.duplicate + lead_import.invalid
    assert lead_import.total == parts
    assert after[2] == before[2]
    return "previewed"


PREFIXES = [b"PK\x03\x04", b"\xef\xbb\xbf", b"phone\n", b"\xff\xfe"]
LEAD_FILES = {
    "bytes": st.one_of(
        st.binary(max_size=3000), st.tuples(st.sampled_from(PREFIXES), st.binary(max_size=3000)).map(b"".join)
    ),
    "csv": csv_files(),
    "xlsx": xlsx_files(),
}


@pytest.mark.parametrize("kind", list(LEAD_FILES))
def test_any_lead_file_is_previewed_whole_or_refused(lead_world, kind):
    """Any bytes, any CSV, any workbook, previewed by a salesperson or by a manager in any owner mode."""
    seen = Counter()

    @FUZZ
    @given(data=LEAD_FILES[kind], importer=importers(), name=file_names())
    def preview(data, importer, name):
        seen[assert_preview_is_all_or_nothing(lead_world, data, *importer, name)] += 1

    preview()
    assert seen["refused"] and (seen["previewed"] or kind == "bytes"), seen
