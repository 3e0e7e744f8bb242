"""Judging uploaded documents by their content, never by their name or the browser's word."""

import hashlib
import os
import re
import threading
import unicodedata
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

EMPTY = _("“%(name)s” is empty.")
TOO_LARGE = _("“%(name)s” is larger than %(limit)s.")
WRONG_TYPE = _("“%(name)s” is not a %(allowed)s file (its content is %(kind)s), whatever its name says.")
DAMAGED_IMAGE = _("“%(name)s” is a damaged or incomplete image.")
DAMAGED_PDF = _("“%(name)s” is a damaged or incomplete PDF.")
DAMAGED_ZIP = _("“%(name)s” is a damaged or incomplete ZIP archive.")
TOO_MANY_PIXELS = _("“%(name)s” is a picture too large to open; please send a smaller photo or scan.")
ENCRYPTED_ZIP = _("“%(name)s” is protected by a password; please upload it without one.")
ZIP_TOO_LARGE = _("“%(name)s” unpacks to more than %(limit)s; please send less.")
BUSY = _("Too many files are being checked right now; please upload “%(name)s” again in a minute.")
# An A4 page scanned at 400 dpi is 15 megapixels; a file within the size limit that declares more is built to
# exhaust memory (a 150 KB PNG can declare 39 megapixels: 160 MB once decoded). Refused before decoding.
MAX_PIXELS = 20_000_000
# Pictures decoded at once by one process, whatever its threads: bounds the memory a burst of uploads takes.
DECODES_AT_ONCE = 2
_decoding = threading.BoundedSemaphore(DECODES_AT_ONCE)
# What a homework ZIP may unpack to: generous for code and documents, small enough that checking it is cheap.
ZIP_MAX_UNPACKED_BYTES = 200 * 1024 * 1024

MAGIC = [
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
]
KIND_NAMES = {"image/jpeg": "JPEG", "image/png": "PNG", "application/pdf": "PDF", "application/zip": "ZIP"}
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf", "application/zip": ".zip"}
# ID documents: pictures and scans. Homework may also be a ZIP of several files.
DOCUMENT_KINDS = ("image/jpeg", "image/png", "application/pdf")
HOMEWORK_KINDS = (*DOCUMENT_KINDS, "application/zip")
# What a refused file looks like, to say so in words.
KNOWN_OTHERS = [
    (b"MZ", _("a Windows program")),
    (b"\x7fELF", _("a program")),
    (b"PK\x03\x04", _("a ZIP archive or Office document")),
    (b"GIF8", _("a GIF image")),
]


@dataclass(frozen=True)
class CheckedFile:
    content_type: str
    size: int
    sha256: str
    original_name: str  # cleaned, with the suffix of what the file is: stored and downloaded under it


def typed_name(name: str, content_type: str) -> str:
    """`name` with the suffix of its judged type: a PNG sent as x.html (or as "photo\u202egnp.exe") is x.png."""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return f"{stem or 'document'}{EXTENSIONS[content_type]}"


def clean_name(name: str) -> str:
    """The original name as data only: no folders, no control characters, bounded length."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]  # "../../etc/passwd" and "C:\\x\\y.jpg" keep only their last part
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    return name[:200] or "document"


def _describe(head: bytes) -> str:
    for magic, kind in KNOWN_OTHERS:
        if head.startswith(magic):
            return str(kind)
    text = head.lstrip().lower()
    if text.startswith((b"<svg", b"<?xml")) or b"<svg" in text[:512]:
        return str(_("an SVG or XML document"))
    if text.startswith((b"<!doctype html", b"<html", b"<script")) or b"<html" in text[:512]:
        return str(_("a web page"))
    return str(_("of an unknown kind"))


def allowed_names(kinds) -> str:
    names = [KIND_NAMES[kind] for kind in kinds]
    return _("%(names)s or %(last)s") % {"names": ", ".join(names[:-1]), "last": names[-1]}


def check_document(upload, max_bytes: int | None = None, kinds=DOCUMENT_KINDS) -> CheckedFile:
    """Accept a file of one of `kinds` of at most the size limit, judged by its bytes; else ValidationError."""
    max_bytes = max_bytes or settings.DOCUMENT_MAX_BYTES
    name = clean_name(getattr(upload, "name", ""))
    size = upload.size
    if not size:
        raise ValidationError(EMPTY, code="empty", params={"name": name})
    if size > max_bytes:
        raise ValidationError(TOO_LARGE, code="too_large", params={"name": name, "limit": filesizeformat(max_bytes)})
    upload.seek(0)
    head = upload.read(1024)
    content_type = next((kind for magic, kind in MAGIC if head.startswith(magic)), None)
    if content_type not in kinds:
        params = {"name": name, "kind": _describe(head), "allowed": allowed_names(kinds)}
        raise ValidationError(WRONG_TYPE, code="wrong_type", params=params)
    upload.seek(0)
    if content_type.startswith("image/"):
        _check_image(upload, name)
    elif content_type == "application/zip":
        _check_zip(upload, name)
    else:
        _check_pdf(upload, size, name)
    upload.seek(0)
    digest = hashlib.sha256()
    for chunk in upload.chunks() if hasattr(upload, "chunks") else iter(lambda: upload.read(65536), b""):
        digest.update(chunk)
    upload.seek(0)
    name = typed_name(name, content_type)
    return CheckedFile(content_type=content_type, size=size, sha256=digest.hexdigest(), original_name=name)


def _check_image(upload, name: str) -> None:
    from PIL import Image

    try:
        with Image.open(upload) as image:
            image.verify()
            too_many_pixels = image.width * image.height > MAX_PIXELS
        if too_many_pixels:  # a small file can declare a huge picture; decoding it would take gigabytes
            raise ValidationError(TOO_MANY_PIXELS, code="too_many_pixels", params={"name": name})
        if not _decoding.acquire(timeout=30):
            raise ValidationError(BUSY, code="busy", params={"name": name})
        try:
            upload.seek(0)
            with Image.open(upload) as image:
                # A JPEG decodes at an eighth of its size: every byte of it is still read (a truncated file
                # fails), in a sixty-fourth of the memory. Other images decode whole, within MAX_PIXELS.
                image.draft(image.mode, (image.width // 8, image.height // 8))
                image.load()
        finally:
            _decoding.release()
    except ValidationError:
        raise
    except Image.DecompressionBombError:  # Pillow's own limit, met while reading a header declaring billions
        raise ValidationError(TOO_MANY_PIXELS, code="too_many_pixels", params={"name": name}) from None
    except Exception:  # Pillow raises many kinds for broken files; all mean the same to the student
        raise ValidationError(DAMAGED_IMAGE, code="damaged", params={"name": name}) from None


def _check_pdf(upload, size: int, name: str) -> None:
    upload.seek(max(0, size - 2048), os.SEEK_SET)
    if b"%%EOF" not in upload.read():
        raise ValidationError(DAMAGED_PDF, code="damaged", params={"name": name})


def _check_zip(upload, name: str) -> None:
    """A readable archive, not encrypted, not unpacking to more than ZIP_MAX_UNPACKED_BYTES; nothing is extracted."""
    try:
        with zipfile.ZipFile(upload) as archive:
            members = archive.infolist()
            if any(member.flag_bits & 0x1 for member in members):
                raise ValidationError(ENCRYPTED_ZIP, code="encrypted", params={"name": name})
            if sum(member.file_size for member in members) > ZIP_MAX_UNPACKED_BYTES:
                params = {"name": name, "limit": filesizeformat(ZIP_MAX_UNPACKED_BYTES)}
                raise ValidationError(ZIP_TOO_LARGE, code="zip_too_large", params=params)
            broken = archive.testzip()  # reads every member's checksum
    except ValidationError:
        raise
    except Exception:  # bad headers, unknown compression, a corrupt stream: all mean the same to the student
        broken = name
    if broken is not None:
        raise ValidationError(DAMAGED_ZIP, code="damaged", params={"name": name})


def file_response(field_file, filename: str, *, content_type: str | None = None, inline: bool = False):
    """An uploaded file for a view that has checked access: a download unless `inline` (images only), and
    sandboxed, so whatever the file holds cannot run in our origin. Never cached by shared caches."""
    if content_type in EXTENSIONS:
        filename = typed_name(filename, content_type)  # rows stored before names followed the judged type
    response = FileResponse(field_file.open("rb"), as_attachment=not inline, filename=filename)
    if content_type:
        response["Content-Type"] = content_type
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
