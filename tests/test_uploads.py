"""ID documents are judged by their bytes: each bad file is refused with a reason a student understands."""

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from PIL import Image

from crm import uploads
from crm.uploads import HOMEWORK_KINDS, check_document, clean_name
from tests import files

PNG = files.png_bytes()
BIG_PNG_LIMIT = 2 * 1024 * 1024

BAD_FILES = [
    # (name, content, words the refusal must contain)
    ("id.jpg", b"MZ\x90\x00\x03" + b"\0" * 200, "Windows program"),  # an .exe renamed .jpg
    ("id.png", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "web page"),  # HTML disguised as PNG
    ("id.png", PNG[: len(PNG) // 2], "damaged"),  # truncated image
    ("id.jpg", files.jpeg_bytes()[:200], "damaged"),  # truncated JPEG
    ("id.pdf", b"%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\n", "damaged"),  # PDF cut short
    ("empty.png", b"", "empty"),
    ("big.png", PNG + b"\0" * BIG_PNG_LIMIT, "larger than"),  # oversize
    ("photo.jpg.exe", b"\x7fELF\x02\x01" + b"\0" * 100, "program"),  # double extension, a program
    ("photo.php.jpg", b"<?php system($_GET['c']); ?>", "not a JPEG, PNG or PDF"),  # double extension, a script
    ("id.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "SVG"),
    ("id.png", b'<?xml version="1.0"?><svg onload="alert(1)"/>', "SVG"),  # SVG disguised as PNG
    ("id.gif", b"GIF89a" + b"\0" * 50, "GIF"),
    ("id.pdf", b"PK\x03\x04" + b"\0" * 50, "ZIP"),  # an Office document / archive named .pdf
    ("id.png", files.pixel_bomb_png(7200, 5400), "too large to open"),  # 39 megapixels in a few KB (the attack)
    ("id.png", files.pixel_bomb_png(5000, 4100), "too large to open"),  # just over the 20 megapixel limit
    ("id.jpg", files.huge_jpeg_header(), "too large to open"),  # a JPEG header declaring 60,000 x 60,000
    ("id.jpg", files.jpeg_bytes((1200, 900))[:-4000], "damaged"),  # cut in the middle of its scan data
    ("id.jpg", b"\xff\xd8\xff", "damaged"),  # the magic and nothing else
    ("id.png", files.png_with_bad_checksum(), "damaged"),
    ("id.png", files.png_bytes()[:8] + b"\0\0\0\rIHDR" + b"\x7f\xff\xff\xff" * 2 + b"\x08\x02\0\0\0", "damaged"),
    ("id.pdf", b"\x7fELF\x02\x01" + b"\0" * 100, "program"),  # a Linux program named .pdf
    ("id.png", b"II*\x00" + b"\0" * 100, "not a JPEG, PNG or PDF"),  # TIFF
    ("id.jpg", b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\0" * 100, "not a JPEG, PNG or PDF"),  # WebP
    ("id.png", b"\x1f\x8b\x08\x00" + b"\0" * 100, "not a JPEG, PNG or PDF"),  # gzip
    ("id.png", "\ufeff<html><script>alert(1)</script></html>".encode(), "not a JPEG, PNG or PDF"),
]


@pytest.mark.parametrize(("name", "content", "reason"), BAD_FILES, ids=[f"{i}-{b[0]}" for i, b in enumerate(BAD_FILES)])
def test_bad_file_is_refused_with_a_reason(name, content, reason):
    with pytest.raises(ValidationError) as error:
        check_document(files.upload(name, content, "image/png"))
    assert reason in error.value.messages[0]


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("scan.pdf", files.PDF, "application/pdf"),
        ("photo.jpeg", files.jpeg_bytes(), "image/jpeg"),
        ("photo.PNG", PNG, "image/png"),
        ("wrongly-named.pdf", PNG, "image/png"),  # judged by content: a real PNG is a PNG
        ("with-js.pdf", files.PDF_WITH_JAVASCRIPT, "application/pdf"),  # accepted; never rendered inline
    ],
)
def test_good_file_is_accepted_as_what_it_is(name, content, kind):
    checked = check_document(files.upload(name, content, "application/octet-stream"))
    assert checked.content_type == kind
    assert checked.size == len(content)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("../../etc/passwd.png", "passwd.png"),
        ("C:\\Users\\li\\身份证.jpg", "身份证.jpg"),
        ("a\x00b\u202e.png", "ab.png"),
        ("...", "document"),
        ("x" * 300 + ".png", "x" * 200),
    ],
)
def test_original_name_is_data_only(given, kept):
    assert clean_name(given) == kept


def encrypted_zip() -> bytes:
    """A ZIP whose member claims encryption (flag bit 0), as archivers write password-protected files."""
    data = bytearray(files.zip_bytes())
    for offset in (6, data.rfind(b"PK\x01\x02") + 8):  # the local header's and the central directory's flags
        data[offset] |= 0x1
    return bytes(data)


def corrupt_deflate_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("notes.txt", "homework " * 200)
    data = bytearray(buffer.getvalue())
    start = 30 + len("notes.txt")  # the first member's compressed bytes
    data[start : start + 8] = b"\xff" * 8
    return bytes(data)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (encrypted_zip, "password"),
        (corrupt_deflate_zip, "damaged"),
        (lambda: b"PK\x03\x04" + b"\0" * 40, "damaged"),
    ],
)
def test_bad_homework_zip_is_refused_with_a_reason(content, reason):
    with pytest.raises(ValidationError) as error:
        check_document(files.upload("homework.zip", content()), max_bytes=10**7, kinds=HOMEWORK_KINDS)
    assert reason in error.value.messages[0]


def test_a_zip_that_unpacks_to_too_much_is_refused(monkeypatch):
    monkeypatch.setattr(uploads, "ZIP_MAX_UNPACKED_BYTES", 10)
    with pytest.raises(ValidationError, match="unpacks to more than"):
        check_document(files.upload("homework.zip", files.zip_bytes()), max_bytes=10**7, kinds=HOMEWORK_KINDS)


def test_a_zip_is_not_an_id_document():
    with pytest.raises(ValidationError, match="ZIP archive"):
        check_document(files.upload("id.zip", files.zip_bytes()))


def test_a_small_file_declaring_a_huge_picture_is_refused_before_decoding():
    buffer = io.BytesIO()
    Image.new("1", (8000, 6000)).save(buffer, "PNG")  # 48 megapixels in a few kilobytes
    with pytest.raises(ValidationError, match="too large to open"):
        check_document(files.upload("id.png", buffer.getvalue()))


@pytest.mark.parametrize(
    ("sent_as", "stored_as"),
    [
        ("x.html", "x.png"),
        ("photo\u202egnp.exe", "photognp.png"),  # a right-to-left override hiding ".exe"
        ("scan.PNG.php", "scan.PNG.png"),
        ("no-suffix", "no-suffix.png"),
        ("id.", "id.png"),
    ],
)
def test_a_file_is_named_by_what_it_is_not_by_what_it_was_called(sent_as, stored_as):
    assert check_document(files.upload(sent_as, PNG)).original_name == stored_as


@pytest.mark.django_db(transaction=True)
def test_pictures_decode_with_no_transaction_open(monkeypatch, sales):
    """Judging happens before the enrollment's row (and SQLite's database) is locked."""
    from django.db import connection

    from crm.services import enrollment as enrollments
    from tests import factories

    enrollment = enrollments.enrollment_start(
        customer=factories.CustomerFactory(consultant=sales), class_grade=factories.ClassGradeFactory(), by=sales
    )
    seen = []
    judge = uploads._check_image
    monkeypatch.setattr(uploads, "_check_image", lambda *a: seen.append(connection.in_atomic_block) or judge(*a))

    enrollments.documents_add(enrollment=enrollment, uploads=[files.png()])

    assert seen == [False]
    assert enrollment.documents.count() == 1


def test_a_png_sent_as_html_is_stored_and_downloaded_as_png(client, sales):
    from crm.services import enrollment as enrollments
    from tests import factories

    enrollment = enrollments.enrollment_start(
        customer=factories.CustomerFactory(consultant=sales), class_grade=factories.ClassGradeFactory(), by=sales
    )
    [document] = enrollments.documents_add(enrollment=enrollment, uploads=[files.upload("x.html", PNG, "text/html")])
    client.force_login(sales)

    response = client.get(reverse("admin:crm_enrollment_document", args=[enrollment.pk, document.public_id]))

    assert document.file.name.endswith(".png") and document.original_name == "x.png"
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png" and "x.png" in response["Content-Disposition"]
