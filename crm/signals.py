"""Rows that follow other rows: uploaded files leave with the row that holds them; a customer's follow-up
summary follows its follow-ups."""

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
    connect_follow_up_summary()


def _note_previous_customer(sender, instance, raw=False, **kwargs):
    """A follow-up moved to another customer (edited, merged) changes the summary of the one it left too."""
    if raw or instance.pk is None:
        return
    instance._summary_was_of = sender.objects.filter(pk=instance.pk).values_list("customer_id", flat=True).first()


def refresh_summary(sender, instance, raw=False, **kwargs):
    """Every follow-up written or deleted through the ORM keeps its customer's summary exact (bulk writers, which
    send no signals, call Customer.objects.refresh_follow_up_summary themselves)."""
    from crm.models import Customer

    if raw:  # loaddata: the fixture's customers carry their own summary
        return
    customers = {instance.customer_id, getattr(instance, "_summary_was_of", None)} - {None}
    Customer.objects.filter(pk__in=customers).refresh_follow_up_summary()


def connect_follow_up_summary():
    from django.db.models.signals import post_save, pre_save

    from crm.models import FollowUp

    pre_save.connect(_note_previous_customer, sender=FollowUp, dispatch_uid="follow-up-summary-before")
    post_save.connect(refresh_summary, sender=FollowUp, dispatch_uid="follow-up-summary")
    post_delete.connect(refresh_summary, sender=FollowUp, dispatch_uid="follow-up-summary-deleted")
