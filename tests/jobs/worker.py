"""A real Celery worker process for tests: Redis as the broker, the test's own database and email folder."""

import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

CELERY = str(Path(sys.executable).with_name("celery"))


def _broker_url() -> str:
    """A Redis database of the tests' own (the machine's Redis serves `make prod` on 1 and 2), one per xdist
    worker: tests running at once must neither empty each other's queue nor have their tasks taken by each
    other's worker process (which would run them against another test database)."""
    if url := os.environ.get("CRM_TEST_BROKER_URL"):
        return url
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    return f"redis://127.0.0.1:6379/{5 + worker}"


BROKER_URL = _broker_url()


def database_url() -> str:
    """The database the test process is using right now (the test database), as a URL for the worker."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = f"{db['USER']}:{db['PASSWORD']}@" if db.get("PASSWORD") else f"{db['USER']}@" if db.get("USER") else ""
    return f"postgres://{auth}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    def __init__(self, folder: Path, **extra_env: str):
        self.log = folder / "worker.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CRM_", "DATABASE_URL", "CELERY"))}
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DJANGO_SECRET_KEY="worker-test",
            DATABASE_URL=database_url(),
            CELERY_BROKER_URL=BROKER_URL,
            CRM_PRIVATE_MEDIA_ROOT=str(settings.PRIVATE_MEDIA_ROOT),
            **extra_env,
        )
        self.process = subprocess.Popen(
            [
                CELERY,
                "-A",
                "config",
                "worker",
                "--pool",
                "solo",
                "--loglevel",
                "info",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        self._wait_for("ready")

    def _wait_for(self, text: str, seconds: float = 60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the worker exited:\n{self.log.read_text()}")
            if text in self.log.read_text():
                return
            time.sleep(0.2)
        raise AssertionError(f"the worker did not log {text!r} within {seconds}s:\n{self.log.read_text()}")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
