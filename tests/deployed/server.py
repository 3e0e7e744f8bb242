"""The CRM as a school deploys it, for tests: a fresh database, collected static files, gunicorn, DEBUG off.

Everything runs in subprocesses with production environment variables, so nothing of the test process's
settings (DEBUG, storages, the test database) leaks into what is tried.
"""

import base64
import hashlib
import http.client
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from html import unescape
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

import psycopg
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


class FreshDatabase:
    """An empty database beside the test one: a file on SQLite, `<name>_deployed[_gwN]` on PostgreSQL."""

    def __init__(self, folder: Path):
        db = settings.DATABASES["default"]
        self.vendor = "postgresql" if "postgresql" in db["ENGINE"] else "sqlite"
        if self.vendor == "sqlite":
            self.url = f"sqlite:///{folder / 'deployed.sqlite3'}"
            return
        # The configured database's name (the suite runs against test_<name>; this one is ours alone), and the
        # pytest-xdist worker's id, as pytest-django suffixes the test databases, so no two workers share it.
        base = os.environ.get("DATABASE_URL", "")
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        self.name = f"{urlsplit(base).path.lstrip('/') or 'crm'}_deployed" + (f"_{worker}" if worker else "")
        self.admin_params = {
            "host": db.get("HOST") or None,
            "port": db.get("PORT") or None,
            "user": db.get("USER") or None,
            "password": db.get("PASSWORD") or None,
            "dbname": "postgres",
            "autocommit": True,
        }
        self.url = base.rsplit("/", 1)[0] + "/" + self.name
        self._drop()
        with psycopg.connect(**self.admin_params) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')

    def _drop(self):
        with psycopg.connect(**self.admin_params) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def close(self):
        if self.vendor == "postgresql":
            self._drop()


def production_env(folder: Path, database_url: str, cache_url: str = "locmemcache://") -> dict:
    """The variables the README's production section sets, pointed at the test's own folders."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CRM_", "DATABASE_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url,
        DJANGO_CACHE_URL=cache_url,
        DJANGO_STATIC_ROOT=str(folder / "static"),
        CRM_PRIVATE_MEDIA_ROOT=str(folder / "private"),
        DJANGO_EMAIL_URL="consolemail://",
        DJANGO_LOG_LEVEL="WARNING",
    )
    return env


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=600
    )
    if done.returncode:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """gunicorn serving config.wsgi on a free port, its log in a file the test can show."""

    def __init__(self, env: dict, folder: Path, workers: int = 2):
        self.port = free_port()
        self.log = folder / "gunicorn.log"
        self.process = subprocess.Popen(
            [GUNICORN, "config.wsgi", "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers)],
            cwd=BASE_DIR,
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        self._wait_until_up()

    def _wait_until_up(self, seconds: float = 60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited:\n{self.log.read_text()}")
            try:
                if Client(self.port).get("/health/").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"gunicorn did not answer /health/ within {seconds}s:\n{self.log.read_text()}")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes
    url: str

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class Client:
    """A browser's requests as they reach gunicorn from a TLS proxy: X-Forwarded-Proto https, its cookies kept."""

    port: int
    language: str = "en"
    cookies: dict = field(default_factory=dict)
    log: list = field(default_factory=list)  # (method, path, status) of every request

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, form: dict | None = None) -> Response:
        headers = {
            "Host": f"127.0.0.1:{self.port}",
            "X-Forwarded-Proto": "https",
            "Accept-Language": self.language,
            "User-Agent": "crm-deployed-walk",
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = self.origin
            headers["Referer"] = self.origin + path
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            raw = conn.getresponse()
            data = raw.read()
            for header in raw.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    if morsel["max-age"] == "0" or not morsel.value and morsel["expires"]:
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
            response = Response(raw.status, dict(raw.headers), data, path)
        finally:
            conn.close()
        self.log.append((method, path, response.status))
        return response

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, form: dict) -> Response:
        return self.request("POST", path, form)

    def login(self, path: str, username: str, password: str) -> Response:
        page = self.get(path)
        token = csrf_token(page.text)
        return self.post(path, {"csrfmiddlewaretoken": token, "username": username, "password": password})


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def local_path(href: str, current: str) -> str | None:
    """The path of a same-site link, or None for anchors, javascript: and other sites."""
    href = unescape(href.strip())
    if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
        return None
    parts = urlsplit(urljoin(current, href))
    if parts.netloc and not parts.netloc.startswith("127.0.0.1"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def static_references(html: str, current: str) -> set[str]:
    found = re.findall(r'<(?:link|script|img)\b[^>]*?\b(?:href|src)="([^"]+)"', html)
    return {path for href in found if (path := local_path(href, current)) and path.startswith("/static/")}


def links_in(html: str, current: str) -> list[str]:
    return [path for href in re.findall(r'<a\b[^>]*?\bhref="([^"]+)"', html) if (path := local_path(href, current))]


def plain_get(port: int, path: str) -> Response:
    """A request straight to gunicorn, as a load balancer's probe sends it: plain HTTP, no proxy headers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Host": f"127.0.0.1:{port}"})
        raw = conn.getresponse()
        return Response(raw.status, dict(raw.headers), raw.read(), path)
    finally:
        conn.close()


def inline_scripts_outside_policy(html: str, policy: str) -> list[str]:
    """Inline scripts the page's Content-Security-Policy would block: neither its nonce nor a listed hash."""
    script_src = next((d.split()[1:] for d in policy.split(";") if d.split()[:1] == ["script-src"]), [])
    nonces = {s[len("'nonce-") : -1] for s in script_src if s.startswith("'nonce-")}
    blocked = []
    for attrs, body in re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S):
        if "src=" in attrs or "application/json" in attrs:
            continue
        nonce = re.search(r'nonce="([^"]+)"', attrs)
        digest = "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        if not (nonce and nonce.group(1) in nonces) and digest not in script_src:
            blocked.append(f"{digest} {body.strip()[:60]!r}")
    return blocked
