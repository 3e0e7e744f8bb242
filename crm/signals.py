"""Uploaded files follow their rows: when a row that holds a file is deleted, its file goes too."""

from functools import partial

from django.db import transaction
from django.db.models import FileField
from django.db.models.signals import post_delete


def delete_files_with_the_row(sender, instance, using, *, fields, **kwargs):
    """After the deleting transaction commits (a rollback keeps the row, so the file stays with it)."""
    for name in fields:
        file = getattr(instance, name)
        if file and file.name:
            storage, stored = file.storage, file.name
            transaction.on_commit(lambda storage=storage, stored=stored: storage.delete(stored), using=using)


def connect():
    from crm.models import EnrollmentDocument, LeadImport, StudyRecord

    for model in (EnrollmentDocument, StudyRecord, LeadImport):
        # The model's file fields, found once here rather than on every deletion.
        fields = [f.name for f in model._meta.concrete_fields if isinstance(f, FileField)]
        receiver = partial(delete_files_with_the_row, fields=fields)
        post_delete.connect(receiver, sender=model, weak=False, dispatch_uid=f"files-{model.__name__}")
