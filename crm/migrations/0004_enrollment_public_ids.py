import uuid

from django.db import migrations, models


def fill_public_ids(apps, schema_editor):
    for name in ("Enrollment", "EnrollmentDocument"):
        model = apps.get_model("crm", name)
        for row in model.objects.filter(public_id__isnull=True).only("pk"):
            row.public_id = uuid.uuid4()
            row.save(update_fields=["public_id"])


class Migration(migrations.Migration):
    dependencies = [("crm", "0003_lead_imports")]

    operations = [
        migrations.AddField("enrollment", "public_id", models.UUIDField(null=True, editable=False)),
        migrations.AddField("enrollmentdocument", "public_id", models.UUIDField(null=True, editable=False)),
        migrations.AddField(
            "historicalenrollment", "public_id", models.UUIDField(null=True, editable=False, db_index=True)
        ),
        migrations.RunPython(fill_public_ids, migrations.RunPython.noop),
        migrations.AlterField(
            "enrollment",
            "public_id",
            models.UUIDField(default=uuid.uuid4, editable=False, unique=True, verbose_name="public id"),
        ),
        migrations.AlterField(
            "enrollmentdocument", "public_id", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
        ),
        migrations.AlterField(
            "historicalenrollment",
            "public_id",
            models.UUIDField(db_index=True, default=uuid.uuid4, editable=False, verbose_name="public id"),
        ),
    ]
