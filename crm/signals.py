"""Uploaded files follow their rows: when a row that holds a file is deleted, its file goes too."""

from django.db import transaction
from django.db.models.signals import post_delete


def delete_files_with_the_row(sender, instance, using, **kwargs):
    """After the deleting transaction commits (a rollback keeps the row, so the file stays with it)."""
    for field in sender._meta.get_fields():
        file = getattr(instance, field.name, None) if getattr(field, "upload_to", None) is not None else None
        if file and file.name:
            storage, name = file.storage, file.name
            transaction.on_commit(lambda storage=storage, name=name: storage.delete(name), using=using)


def connect():
    from crm.models import EnrollmentDocument, LeadImport, StudyRecord

    for model in (EnrollmentDocument, StudyRecord, LeadImport):
        post_delete.connect(delete_files_with_the_row, sender=model, dispatch_uid=f"files-{model.__name__}")
