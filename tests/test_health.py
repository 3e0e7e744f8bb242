"""/health/ tells a load balancer up or down, without a login and without saying anything more."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_health_is_up_without_login(client):
    response = client.get("/health/")

    assert response.status_code == 200
    assert response.content == b"up\n"
    assert "no-cache" in response["Cache-Control"]


def test_health_is_down_when_uploads_cannot_be_stored(client, settings, tmp_path):
    from django.utils.functional import empty

    from crm.storage import private_storage

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the upload folder should be")
    settings.PRIVATE_MEDIA_ROOT = blocker
    private_storage._wrapped = empty

    response = client.get("/health/")

    assert response.status_code == 503
    assert response.content == b"down\n"  # which check failed, and why, goes to the log only


def test_health_takes_no_writes(client):
    assert client.post("/health/").status_code == 405
