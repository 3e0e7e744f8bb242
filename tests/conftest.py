"""Shared fixtures: one user per role, and a second salesperson/teacher to own rows the first must not reach."""

import pytest

from crm import roles
from tests import factories

# Under pytest-xdist (`make test` runs `-n auto`), each of these folders runs whole in one worker: the production
# walk builds its stack (migrate, collectstatic, gunicorn) once per module, and the browser tests share one
# Chromium; split across workers, each would build its own on the same two cores. Every other test is its own
# unit of work, as with `--dist load`, the security tests (the URL battery's roles take 5-20 s each) handed out
# first so that no worker is left with one of them at the end while the others wait. (xdist's own
# `--dist loadgroup` marks no longer group on pytest 9.2: pytest-xdist issue 1386.)
ONE_WORKER_FOLDERS = ("tests/browser/", "tests/deployed/")
SLOW_FIRST = "tests/security/"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "load":
        return None  # a --dist other than the default, asked for by name
    from xdist.scheduler import LoadScopeScheduling

    class FolderScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return next((folder for folder in ONE_WORKER_FOLDERS if nodeid.startswith(folder)), nodeid)

        def schedule(self):
            super().schedule()  # the largest units (the folders) are handed out first, then the collection's order
            for scope in reversed([scope for scope in self.workqueue if scope.startswith(SLOW_FIRST)]):
                self.workqueue.move_to_end(scope, last=False)

    return FolderScheduling(config, log)


@pytest.fixture
def make_user(db):
    def make(role: str, username: str | None = None, **kwargs):
        return factories.UserFactory(username=username or f"{role}-{factories.next_phone()[-4:]}", role=role, **kwargs)

    return make


@pytest.fixture
def sales(make_user):
    return make_user(roles.SALES, "sales-a")


@pytest.fixture
def other_sales(make_user):
    return make_user(roles.SALES, "sales-b")


@pytest.fixture
def manager(make_user):
    return make_user(roles.SALES_MANAGER, "manager")


@pytest.fixture
def teacher(make_user):
    return make_user(roles.TEACHER, "teacher-a")


@pytest.fixture
def other_teacher(make_user):
    return make_user(roles.TEACHER, "teacher-b")


@pytest.fixture
def student_user(make_user):
    return make_user(roles.STUDENT, "student-a", is_staff=False)


@pytest.fixture
def school_admin(make_user):
    return make_user(roles.SCHOOL_ADMIN, "school-admin")


@pytest.fixture
def finance(make_user):
    return make_user(roles.FINANCE, "finance")


@pytest.fixture
def client_for(client):
    """A test client logged in as the given user."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests create many users; the production hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_cache():
    """The public pages count requests per IP in the cache: every test starts with none counted."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def school_language():
    """Every test starts in the school's language: a request through the test client leaves its language active
    in the thread (LocaleMiddleware), which would otherwise carry into the next test."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Uploads go to a folder of the test's own, checked and removed with it."""
    from django.utils.functional import empty

    from crm.storage import private_storage

    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    private_storage._wrapped = empty
    yield settings.PRIVATE_MEDIA_ROOT
    private_storage._wrapped = empty
