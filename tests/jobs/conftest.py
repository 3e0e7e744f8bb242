import os

import pytest
import redis
from celery import Celery

from tests.jobs.worker import BROKER_URL


@pytest.fixture
def broker(monkeypatch):
    """`broker(task)` sends the task to Redis (the xdist worker's own database, emptied first) by an app of the
    test's own, so the project's app (inline in tests) is left untouched; the worker runs the project's app."""
    try:
        redis.Redis.from_url(BROKER_URL).flushdb()
    except redis.ConnectionError:
        if os.environ.get("CI"):  # CI starts Redis (.ci/run): a missing one is a failure there
            raise
        pytest.skip(f"no Redis at {BROKER_URL}")
    sender = Celery("test-sender", broker=BROKER_URL, set_as_current=False)

    def route(task):
        monkeypatch.setattr(task, "delay", lambda *args, **kwargs: sender.send_task(task.name, args, kwargs))

    yield route
    sender.close()
