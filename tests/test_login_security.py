"""Sign-in defences: lockout after wrong passwords (per account and per address, admin and portal alike, shared
by all workers through the database), staff kept out of the portal, sessions that end when left idle."""

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.test import Client

from crm import roles
from tests import factories

pytestmark = pytest.mark.django_db
ADMIN_LOGIN, PORTAL_LOGIN = "/admin/login/", "/portal/login/"
PASSWORD = "Right-Horse-Battery-9"


@pytest.fixture(autouse=True)
def real_lockouts(settings):
    settings.AXES_FAILURE_LIMIT = 5


def account(role, username, **kwargs) -> User:
    user = factories.UserFactory(username=username, role=role, **kwargs)
    user.set_password(PASSWORD)
    user.save()
    return user


def sign_in(path, username, password, address="10.0.0.1"):
    client = Client(REMOTE_ADDR=address)
    response = client.post(path, {"username": username, "password": password})
    return client, response


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize(("path", "role"), [(ADMIN_LOGIN, roles.SALES), (PORTAL_LOGIN, roles.STUDENT)])
def test_wrong_passwords_lock_the_account_even_for_the_right_one(path, role):
    user = account(role, "13800138000", is_staff=role != roles.STUDENT)
    statuses = [sign_in(path, user.username, "wrong")[1].status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]  # the form again with its error, then the lockout

    client, response = sign_in(path, user.username, PASSWORD, address="10.9.9.9")  # even from elsewhere

    assert response.status_code == 429
    assert "Signing in is paused" in response.content.decode()
    assert not signed_in(client)


def test_one_address_trying_many_accounts_is_locked_out():
    victims = [account(roles.SALES, f"victim{n}", is_staff=True) for n in range(6)]
    for victim in victims[:5]:
        sign_in(ADMIN_LOGIN, victim.username, "wrong", address="10.6.6.6")

    locked_client, locked = sign_in(ADMIN_LOGIN, victims[5].username, PASSWORD, address="10.6.6.6")
    other_client, other = sign_in(ADMIN_LOGIN, victims[5].username, PASSWORD, address="10.1.2.3")

    assert locked.status_code == 429 and not signed_in(locked_client)
    assert other.status_code == 302 and signed_in(other_client)


def test_a_success_clears_earlier_failures():
    user = account(roles.SALES, "forgetful", is_staff=True)
    for _ in range(4):
        sign_in(ADMIN_LOGIN, user.username, "wrong")
    assert sign_in(ADMIN_LOGIN, user.username, PASSWORD)[1].status_code == 302
    for _ in range(4):
        sign_in(ADMIN_LOGIN, user.username, "wrong")

    assert sign_in(ADMIN_LOGIN, user.username, PASSWORD)[1].status_code == 302


def test_the_school_admin_lets_a_locked_out_user_sign_in_again(client, school_admin):
    user = account(roles.SALES, "locked", is_staff=True)
    for n in range(5):
        sign_in(ADMIN_LOGIN, user.username, "wrong", address=f"10.0.1.{n}")
    assert sign_in(ADMIN_LOGIN, user.username, PASSWORD)[1].status_code == 429
    client.force_login(school_admin)

    response = client.post(
        "/admin/auth/user/", {"action": "clear_lockouts", "_selected_action": [user.pk]}, follow=True
    )

    [message] = [str(m) for m in response.context["messages"]]
    assert message.endswith("failed sign-ins were cleared.") and not message.startswith("0 ")
    assert sign_in(ADMIN_LOGIN, user.username, PASSWORD)[1].status_code == 302


def test_staff_cannot_sign_in_at_the_portal():
    user = account(roles.SALES, "sales-at-portal", is_staff=True)

    client, response = sign_in(PORTAL_LOGIN, user.username, PASSWORD)

    assert response.status_code == 200
    assert "This is the students&#x27; portal" in response.content.decode()
    assert not signed_in(client)


def test_a_session_ends_when_left_idle_and_each_request_extends_it(settings):
    user = account(roles.SALES, "idle", is_staff=True)
    client, response = sign_in(ADMIN_LOGIN, user.username, PASSWORD)
    assert response.cookies["sessionid"]["max-age"] == settings.SESSION_COOKIE_AGE == 120 * 60
    session = Session.objects.get(session_key=client.session.session_key)
    first_expiry = session.expire_date

    assert client.get("/admin/").status_code == 200
    assert Session.objects.get(pk=session.pk).expire_date >= first_expiry  # a request starts the count again
    Session.objects.filter(pk=session.pk).update(expire_date=first_expiry.replace(year=2000))

    assert client.get("/admin/").status_code == 302  # idle past the limit: signed out


@pytest.mark.parametrize("path", [ADMIN_LOGIN, PORTAL_LOGIN])
@pytest.mark.parametrize("length", [151, 300, 5000])
def test_an_over_long_username_is_a_failed_sign_in_not_an_error(path, length):
    """On PostgreSQL the name used to reach the lockout record's 255-character column and fail with a 500."""
    client, response = sign_in(path, "x" * length, "wrong")

    assert response.status_code == 200
    assert not signed_in(client)
