"""The README's production steps, then every demo login walks its pages: no page and no static file fails.

A fresh database, `collectstatic`, `migrate`, `seed_demo`, gunicorn with DEBUG off behind what a TLS proxy
sends (on PostgreSQL with Redis as cache and session store, as `make prod` runs). Each staff login opens the
dashboard, every page its menu links to, each list's add page and first row (its change and history pages);
the student walks the portal; a visitor reads the catalogue and sends an inquiry. Every static file those pages
reference is fetched. The first wave passed every in-process test and still answered 500 here on every admin page."""

import json
import re

import pytest
from django.conf import settings

from tests.deployed.server import (
    Client,
    FreshDatabase,
    Gunicorn,
    csrf_token,
    inline_scripts_outside_policy,
    links_in,
    manage,
    plain_get,
    production_env,
    static_references,
)

DEMO_USERS = json.loads((settings.BASE_DIR / "fixtures" / "demo.json").read_text(encoding="utf-8"))["users"]
STAFF = [user for user in DEMO_USERS if user["role"] != "student"]
STUDENT = next(user for user in DEMO_USERS if user["role"] == "student")
LEAVE = ("/admin/logout/", "/portal/logout/", "/i18n/")  # links that end the walk or change its language


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("deployed")
    database = FreshDatabase(folder)
    # As `make prod` runs: PostgreSQL with Redis for the cache and sessions; the embedded SQLite with neither.
    cache = "rediscache://127.0.0.1:6379/2" if database.vendor == "postgresql" else "locmemcache://"
    env = production_env(folder, database.url, cache)
    manage(env, "collectstatic", "--no-input", "-v", "0")
    manage(env, "migrate", "--no-input", "-v", "0")
    manage(env, "seed_demo")
    server = Gunicorn(env, folder)
    try:
        yield server
    finally:
        server.stop()
        database.close()


def menu_links(html: str, current: str) -> list[str]:
    """Links of the top bar and the sidebar (jazzmin's two <nav> blocks)."""
    menus = re.findall(r"<nav\b.*?</nav>", html, flags=re.S)
    links = [path for menu in menus for path in links_in(menu, current)]
    return [path for path in dict.fromkeys(links) if path.startswith("/admin/") and not path.startswith(LEAVE)]


def first_row(html: str, current: str) -> str | None:
    """The first row's change page on a changelist (the link in its first column)."""
    table = re.search(r'<table id="result_list".*?<tbody>(.*?)</tbody>', html, flags=re.S)
    links = links_in(table.group(1), current) if table else []
    return links[0] if links else None


def add_link(html: str, current: str) -> str | None:
    links = [path for path in links_in(html, current) if path.split("?")[0] == current.split("?")[0] + "add/"]
    return links[0] if links else None


class Walk:
    """Opens pages once each, remembering every static file they reference and every failure."""

    def __init__(self, client: Client, label: str):
        self.client, self.label = client, label
        self.seen: set[str] = set()
        self.static: set[str] = set()
        self.failures: list[str] = []

    def open(self, path: str | None):
        if not path or path in self.seen:
            return None
        self.seen.add(path)
        response = self.client.get(path)
        if response.status != 200:
            self.failures.append(f"{self.label}: GET {path} -> {response.status}")
            return None
        if "text/html" in response.headers.get("Content-Type", ""):
            self.static |= static_references(response.text, path)
            self.check_headers(path, response)
        return response

    def check_headers(self, path, response):
        """Every page carries our CSP, and every inline script on it is one the policy lets run."""
        policy = response.headers.get("Content-Security-Policy", "")
        if "script-src 'self'" not in policy or "unsafe-inline" in policy.split("script-src")[1].split(";")[0]:
            self.failures.append(f"{self.label}: {path} has no strict script policy: {policy!r}")
        for script in inline_scripts_outside_policy(response.text, policy):
            self.failures.append(f"{self.label}: {path} has an inline script the CSP blocks: {script}")
        if "camera=()" not in response.headers.get("Permissions-Policy", ""):
            self.failures.append(f"{self.label}: {path} has no Permissions-Policy")


def walk_admin(client: Client, label: str) -> Walk:
    walk = Walk(client, label)
    index = walk.open("/admin/")
    assert index is not None, walk.failures
    for path in menu_links(index.text, "/admin/"):
        page = walk.open(path)
        if page is None or 'id="changelist"' not in page.text:
            continue
        walk.open(add_link(page.text, path))
        row = first_row(page.text, path)
        if row:
            walk.open(row)
            walk.open(row.split("?")[0].removesuffix("change/") + "history/")
    return walk


def fetch_static(client: Client, paths: set[str]) -> list[str]:
    failures = []
    for path in sorted(paths):
        response = client.get(path)
        if response.status != 200 or not response.body:
            failures.append(f"static {path} -> {response.status}")
    return failures


WALKS = [(user, "en") for user in STAFF] + [(user, "zh-hans") for user in STAFF if user["role"] == "sales"][:1]


@pytest.mark.parametrize(("user", "language"), WALKS, ids=[f"{user['username']}-{lang}" for user, lang in WALKS])
def test_every_staff_page_and_static_file_answers(deployed, user, language):
    client = Client(deployed.port, language=language)
    answer = client.login("/admin/login/", user["username"], user["password"])
    assert answer.status == 302, f"{user['username']} could not log in ({answer.status})"

    walk = walk_admin(client, user["username"])
    failures = walk.failures + fetch_static(client, walk.static)

    assert len(walk.seen) >= 6, f"{user['username']}'s menu led nowhere: {sorted(walk.seen)}"
    assert any("/static/" in path and re.search(r"\.[0-9a-f]{12}\.", path) for path in walk.static), (
        "static files are not served under their hashed names"
    )
    server_errors = [entry for entry in client.log if entry[2] >= 500]
    assert not failures and not server_errors, "\n".join(failures) + "\n" + deployed.log.read_text()[-4000:]


def test_the_student_walks_the_portal(deployed):
    client = Client(deployed.port)
    answer = client.login("/portal/login/", STUDENT["username"], STUDENT["password"])
    assert answer.status == 302, f"the demo student could not log in ({answer.status})"

    walk = Walk(client, "student")
    home = walk.open("/portal/")
    assert home is not None, walk.failures
    for path in links_in(home.text, "/portal/"):
        if path.startswith("/portal/") and not path.startswith(LEAVE):
            walk.open(path)
    failures = walk.failures + fetch_static(client, walk.static)

    assert any(path.startswith("/portal/classes/") for path in walk.seen), "the student sees no class"
    assert not failures, "\n".join(failures) + "\n" + deployed.log.read_text()[-4000:]
    assert client.get("/admin/").status == 302  # a student is sent to the login, never shown the admin


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_visitor_reads_the_catalogue_and_asks_about_a_course(deployed, language):
    client = Client(deployed.port, language=language)
    walk = Walk(client, f"visitor-{language}")
    catalogue = walk.open("/courses/?utm_source=wechat")
    assert catalogue is not None, walk.failures
    ask = next(path for path in links_in(catalogue.text, "/courses/") if path.startswith("/inquiry/?course="))
    form = walk.open(ask)
    assert form is not None, walk.failures
    course = re.search(r"course=(\d+)", ask).group(1)
    fields = {"name": "Zhou Xun", "phone": "135 0013 5000", "course": course, "message": "Evening classes?"}
    answer = client.post(ask, {"csrfmiddlewaretoken": csrf_token(form.text), **fields})
    assert answer.status == 302 and answer.headers["Location"] == "/inquiry/thanks/", answer.status
    walk.open("/inquiry/thanks/")
    failures = walk.failures + fetch_static(client, walk.static)

    server_errors = [entry for entry in client.log if entry[2] >= 500]
    assert not failures and not server_errors, "\n".join(failures) + "\n" + deployed.log.read_text()[-4000:]


@pytest.mark.parametrize("path", ["/admin/login/", "/portal/login/", "/portal/password/reset/"])
def test_production_answers_with_its_security_headers(deployed, path):
    walk = Walk(Client(deployed.port), "anonymous")
    response = walk.open(path)

    assert response is not None and not walk.failures, walk.failures  # CSP, inline scripts, Permissions-Policy
    assert "max-age=" in response.headers.get("Strict-Transport-Security", "")
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("X-Frame-Options") == "DENY"


def test_plain_http_is_sent_to_https_but_the_health_probe_is_not(deployed):
    redirect = plain_get(deployed.port, "/admin/login/")
    health = plain_get(deployed.port, "/health/")

    assert redirect.status == 301 and redirect.headers["Location"].startswith("https://")
    assert health.status == 200 and health.body == b"up\n"  # up or down, nothing more
