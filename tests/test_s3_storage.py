"""Uploads on S3-compatible storage: a real S3 API server (moto's server mode, its own process) and real boto3."""

import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from django.urls import reverse
from django.utils.functional import empty

from crm.services import enrollment as enrollments
from crm.storage import private_storage
from tests import factories, files
from tests.deployed.server import free_port

pytestmark = pytest.mark.django_db
MOTO_SERVER = str(Path(sys.executable).with_name("moto_server"))
BUCKET = "crm-uploads"
KEYS = {"access_key": "test-key", "secret_key": "test-secret", "region_name": "us-east-1"}


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    process = subprocess.Popen(
        [MOTO_SERVER, "-H", "127.0.0.1", "-p", str(port)], stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="test-key",
        aws_secret_access_key="test-secret",
        region_name="us-east-1",
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            client.create_bucket(Bucket=BUCKET)
            break
        except Exception:
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError(f"moto_server did not start:\n{log.read_text()}") from None
            time.sleep(0.2)
    yield endpoint, client
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture
def s3(settings, s3_endpoint):
    endpoint, client = s3_endpoint
    settings.PRIVATE_S3 = {"bucket_name": BUCKET, "endpoint_url": endpoint, "addressing_style": "path", **KEYS}
    private_storage._wrapped = empty
    yield client
    private_storage._wrapped = empty


def test_an_id_document_goes_to_the_bucket_and_back_only_through_the_checked_view(
    s3, client, sales, other_sales, tmp_path
):
    enrollment = enrollments.enrollment_start(
        customer=factories.CustomerFactory(consultant=sales), class_grade=factories.ClassGradeFactory(), by=sales
    )
    link = enrollment.get_public_url()
    sent = files.png_bytes((64, 48))
    upload = reverse("enrollment_document_upload", args=[link.split("/")[2]])
    assert client.post(upload, {"file": files.upload("张伟 身份证.png", sent, "image/png")}).status_code == 200

    document = enrollment.documents.get()
    (stored,) = s3.list_objects_v2(Bucket=BUCKET, Prefix="enrollment/")["Contents"]
    assert stored["Key"] == document.file.name  # random, never the student's file name
    assert "张伟" not in stored["Key"] and stored["Key"].startswith("enrollment/") and stored["Size"] == len(sent)
    assert s3.get_object(Bucket=BUCKET, Key=stored["Key"])["Body"].read() == sent
    assert not list((tmp_path / "private").rglob("*.png"))  # nothing on this host's disk

    view = reverse("admin:crm_enrollment_document", args=[enrollment.pk, document.public_id])
    client.force_login(sales)
    response = client.get(view)
    assert response.status_code == 200 and b"".join(response.streaming_content) == sent
    assert "no-store" in response["Cache-Control"]  # streamed through the view: no bucket URL ever leaves
    client.force_login(other_sales)
    assert client.get(view).status_code in (403, 404)


@pytest.mark.django_db(transaction=True)  # the backup reads the database from another connection
def test_a_backup_says_the_bucket_is_not_in_it(settings, tmp_path):
    import io

    from django.core.management import call_command

    from crm.management.commands.backup import S3_NOT_INCLUDED

    settings.PRIVATE_S3 = {"bucket_name": BUCKET, **KEYS}
    err = io.StringIO()
    call_command("backup", output_dir=tmp_path / "backups", stdout=io.StringIO(), stderr=err)
    assert str(S3_NOT_INCLUDED % {"bucket": BUCKET}) in err.getvalue()
