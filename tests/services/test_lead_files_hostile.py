"""Malformed and hostile lead files: each is refused in words, and nothing of it is stored.

Zip bombs, XML entity attacks, over-long cells, files mixing encodings, damaged workbooks: the first wave
crashed on some (uncaught ParseError, `_csv.Error`), took 1.6 GB of memory on one and silently garbled another.
"""

import io
import struct
import zipfile

import pytest
from openpyxl import Workbook

from crm.lead_files import LeadFileError
from crm.models import Customer, LeadImport, LeadImportRow
from crm.services import lead_import as service

pytestmark = pytest.mark.django_db

HEADER = "name,phone,email\n"
ENTITIES = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 or "")) * 10}">' for i in range(1, 10))
    + "]>"
)


def named(data: bytes, name: str) -> io.BytesIO:
    upload = io.BytesIO(data)
    upload.name = name
    return upload


def workbook_bytes(rows=(("name", "phone"), ("Wang Fang", "13800138000"))) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def rewritten(xlsx: bytes, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None) -> bytes:
    """The workbook with some parts replaced or added (as an attacker would edit the zip)."""
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item.filename, (replace or {}).get(item.filename, source.read(item.filename)))
        for name, data in (add or {}).items():
            target.writestr(name, data)
    return out.getvalue()


def declared_size_patched(xlsx: bytes, size: int) -> bytes:
    """Every member's directory entry claims `size` bytes uncompressed (the bytes themselves unchanged)."""
    data = bytearray(xlsx)
    at = data.find(b"PK\x01\x02")
    while at != -1:
        struct.pack_into("<I", data, at + 24, size)
        at = data.find(b"PK\x01\x02", at + 4)
    return bytes(data)


def zip_bomb_sheet() -> bytes:
    """A real inflating bomb: the sheet is 64 MB of spaces that deflate to about 64 KB."""
    sheet = b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    sheet += b" " * (64 * 2**20) + b"<sheetData/></worksheet>"
    return rewritten(workbook_bytes(), replace={"xl/worksheets/sheet1.xml": sheet})


def entity_sheet() -> bytes:
    sheet = (
        ENTITIES + '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>'
    )
    return rewritten(workbook_bytes(), replace={"xl/worksheets/sheet1.xml": sheet.encode()})


def entity_workbook_part() -> bytes:
    """The entities in the workbook's own part, which is parsed when the file is opened, not row by row."""
    original = zipfile.ZipFile(io.BytesIO(workbook_bytes())).read("xl/workbook.xml").decode()
    hostile = ENTITIES + original.split("?>", 1)[-1]  # after its own XML declaration, if it has one
    return rewritten(workbook_bytes(), replace={"xl/workbook.xml": hostile.encode()})


def external_entity_sheet() -> bytes:
    sheet = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>&xxe;</t></is></c></row></sheetData></worksheet>'
    )
    return rewritten(workbook_bytes(), replace={"xl/worksheets/sheet1.xml": sheet.encode()})


def broken_sheet_xml() -> bytes:
    rows = "".join(f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>x</t></is></c></row>' for n in range(1, 50))
    sheet = (
        '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{rows}<row r=50><c></sheetData>"
    )
    return rewritten(workbook_bytes(), replace={"xl/worksheets/sheet1.xml": sheet.encode()})


def many_parts() -> bytes:
    return rewritten(workbook_bytes(), add={f"xl/media/part{n}.bin": b"x" for n in range(600)})


def not_a_workbook_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")
    return out.getvalue()


HOSTILE = {
    "zip bomb (64 MB sheet at 1000:1)": (lambda: zip_bomb_sheet(), "xlsx", "compressed"),
    "directory declares 1 GB": (lambda: declared_size_patched(workbook_bytes(), 2**30), "xlsx", "unpacks to more"),
    "600 parts": (many_parts, "xlsx", "more than 500 parts"),
    "billion laughs in a sheet": (entity_sheet, "xlsx", "XML entities"),
    "billion laughs in workbook.xml": (entity_workbook_part, "xlsx", "XML entities"),
    "external entity (XXE)": (external_entity_sheet, "xlsx", "XML entities"),
    "sheet XML broken halfway": (broken_sheet_xml, "xlsx", "damaged"),
    "workbook cut in half": (lambda: workbook_bytes()[: len(workbook_bytes()) // 2], "xlsx", "damaged"),
    "zip magic only": (lambda: b"PK\x03\x04", "xlsx", "damaged"),
    "a zip that is no workbook": (not_a_workbook_zip, "xlsx", "damaged"),
    "CSV cell over 131,072 characters": (
        lambda: (HEADER + "Wang," + "1" * 200_000 + ",a@example.com\n").encode(),
        "csv",
        "longer than 131,072",
    ),
    "CSV header cell over 131,072 characters": (
        lambda: ("name,phone," + "x" * 200_000 + "\nWang,13800138000,\n").encode(),
        "csv",
        "row 1 has a cell longer than 131,072",
    ),
    "CSV mixing UTF-8 and GBK rows": (
        lambda: HEADER.encode() + "王芳,13800138000,\n".encode() + "李雷,13900139000,\n".encode("gbk"),
        "csv",
        "mixes text encodings",
    ),
    "GBK first, then a UTF-8 row": (
        lambda: HEADER.encode() + "李雷,13900139000,\n".encode("gbk") + "王芳,13800138000,\n".encode(),
        "csv",
        "mixes text encodings",
    ),
    "empty file": (lambda: b"", "csv", "empty"),
    "only a byte order mark": (lambda: "\ufeff".encode(), "csv", "first row must name the columns"),
    "binary with NUL bytes": (lambda: b"name,phone\n\x00\x01\x02" * 100, "csv", "binary data"),
    "bytes no Chinese encoding has": (lambda: HEADER.encode() + b"\xff\xff\xff,1\n", "csv", "could not be read"),
    "no phone column": (lambda: b"name,email\nWang,a@example.com\n", "csv", "no phone column"),
    "phone column twice": (lambda: b"phone,mobile\n13800138000,13800138001\n", "csv", "appears twice"),
    "blank header row": (lambda: b",,,\n13800138000\n", "csv", "first row must name the columns"),
}


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_hostile_file_is_refused_in_words_and_nothing_is_stored(case, sales):
    make, suffix, words = HOSTILE[case]
    existing = Customer.objects.create(name="Kept", phone="+8613700137000", consultant=sales)

    with pytest.raises(LeadFileError) as error:
        service.lead_import_preview(upload=named(make(), f"leads.{suffix}"), by=sales)

    assert words.lower() in str(error.value).lower(), str(error.value)
    assert LeadImport.objects.count() == 0 and LeadImportRow.objects.count() == 0
    assert list(Customer.objects.values_list("pk", flat=True)) == [existing.pk]


def test_a_plain_gbk_file_is_still_read(sales):
    """The mixed-encoding check must not refuse the GBK files Excel writes on Chinese Windows."""
    text = HEADER + "".join(f"{name},1380013{n:04d},\n" for n, name in enumerate(["王芳", "李雷", "韩梅梅", "张伟"]))

    lead_import = service.lead_import_preview(upload=named(text.encode("gbk"), "leads.csv"), by=sales)

    assert lead_import.new == 4
    assert set(lead_import.rows.values_list("name", flat=True)) == {"王芳", "李雷", "韩梅梅", "张伟"}


def test_hostile_file_through_the_admin_gets_a_form_error(client, sales):
    client.force_login(sales)

    response = client.post(
        "/admin/crm/customer/import/", {"file": named(entity_sheet(), "leads.xlsx"), "owner_mode": "importer"}
    )

    assert response.status_code == 200
    assert "XML entities" in response.content.decode()
    assert LeadImport.objects.count() == 0
