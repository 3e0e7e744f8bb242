"""ID documents are judged by their bytes: each bad file is refused with a reason a student understands."""

import pytest
from django.core.exceptions import ValidationError

from crm.uploads import check_document, clean_name
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
