"""Where uploads are kept, and under which names: below the models, whose file fields use it."""

import uuid

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils.functional import LazyObject


class PrivateStorage(LazyObject):
    """Uploads outside MEDIA_ROOT and any URL: served only by views that check access."""

    def _setup(self):
        self._wrapped = FileSystemStorage(location=settings.PRIVATE_MEDIA_ROOT, base_url=None)


private_storage = PrivateStorage()


def get_private_storage():
    """Given to FileFields as a callable, so migrations name this function, not this machine's folder."""
    return private_storage


def random_upload_name(folder: str, filename: str) -> str:
    """A random stored name; the original name is kept only as data, never as a path."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    suffix = suffix if suffix.isalnum() and len(suffix) <= 5 else "bin"
    return f"{folder}/{uuid.uuid4().hex}.{suffix}"
