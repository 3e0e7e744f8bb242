"""Where uploads are kept, and under which names: below the models, whose file fields use it.

One decision, here: S3-compatible object storage (django-storages over boto3) when settings.PRIVATE_S3 is set
(CRM_S3_BUCKET and friends), shared by every app server; else a private folder on this host. Either way no file
has a public URL: the access-checked views stream it through Django (crm.uploads.file_response).
"""

import uuid

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils.functional import LazyObject


def build_private_storage():
    if settings.PRIVATE_S3:
        from storages.backends.s3 import S3Storage

        return S3Storage(
            **settings.PRIVATE_S3,
            default_acl="private",
            file_overwrite=False,  # a name taken already gets a suffix, never replaces another's file
            querystring_auth=True,  # url() would only ever be a signed, expiring one; no view hands one out
            querystring_expire=60,
        )
    return FileSystemStorage(location=settings.PRIVATE_MEDIA_ROOT, base_url=None)


class PrivateStorage(LazyObject):
    """Uploads outside MEDIA_ROOT and any URL: served only by views that check access."""

    def _setup(self):
        self._wrapped = build_private_storage()


private_storage = PrivateStorage()


def get_private_storage():
    """Given to FileFields as a callable, so migrations name this function, not this machine's folder."""
    return private_storage


def random_upload_name(folder: str, filename: str) -> str:
    """A random stored name; the original name is kept only as data, never as a path."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    suffix = suffix if suffix.isalnum() and len(suffix) <= 5 else "bin"
    return f"{folder}/{uuid.uuid4().hex}.{suffix}"
