"""Real files for upload tests: valid documents and the bad ones students (or attackers) send."""

import io
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def png_bytes(size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_bytes(size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise(size, 60).convert("RGB").save(buffer, "JPEG")  # noise: scan data all the way through
    return buffer.getvalue()


def pixel_bomb_png(width: int, height: int) -> bytes:
    """A valid one-bit PNG of `width` x `height`: a few kilobytes declaring tens of megapixels."""
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


def huge_jpeg_header() -> bytes:
    """A small JPEG whose frame header claims 60,000 x 60,000 pixels."""
    data = bytearray(jpeg_bytes())
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (60000).to_bytes(2, "big") * 2
    return bytes(data)


def png_with_bad_checksum() -> bytes:
    data = bytearray(png_bytes())
    data[data.find(b"IDAT") + 6] ^= 0xFF  # flip a byte of the image data: its CRC no longer matches
    return bytes(data)


PDF = (
    b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
)
PDF_WITH_JAVASCRIPT = (
    b"%PDF-1.4\n1 0 obj <</Type /Catalog /OpenAction 3 0 R>> endobj\n"
    b"3 0 obj <</S /JavaScript /JS (app.alert('hi'))>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
)


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def png(name="id-front.png") -> SimpleUploadedFile:
    return upload(name, png_bytes(), "image/png")


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("blog/models.py", "class Post: pass\n")
    return buffer.getvalue()
