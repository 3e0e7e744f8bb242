"""Limits shared by every worker: two gunicorn workers over one Redis cache let through exactly the limit in total."""

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import redis

from tests.deployed.server import BASE_DIR, GUNICORN, Client, FreshDatabase, free_port, manage, production_env

CACHE_URL = "rediscache://127.0.0.1:6379/6"  # a Redis database of this test's own, emptied first
LIMIT = 12


@pytest.fixture
def two_workers(tmp_path):
    try:
        redis.Redis.from_url(CACHE_URL.replace("rediscache", "redis")).flushdb()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    database = FreshDatabase(tmp_path)
    env = production_env(tmp_path, database.url, CACHE_URL)
    env["CRM_PUBLIC_RATE_LIMIT_PER_MINUTE"] = str(LIMIT)
    manage(env, "collectstatic", "--no-input", "-v", "0")
    manage(env, "migrate", "--no-input", "-v", "0")
    port, log = free_port(), tmp_path / "access.log"
    process = subprocess.Popen(
        [
            GUNICORN,
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--access-logfile",
            str(log),
            "--access-logformat",
            "%(p)s %(s)s %(U)s",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=(tmp_path / "gunicorn.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_up(port, process)
        yield port, log
    finally:
        process.terminate()
        process.wait(timeout=20)
        database.close()


def wait_up(port, process):
    for _ in range(300):
        if process.poll() is not None:
            raise AssertionError("gunicorn exited")
        try:
            if Client(port).get("/health/").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("gunicorn did not come up")


def both_workers_up(port, log):
    """Until each worker has answered a request (the second may boot later than the first answered)."""
    for _ in range(100):
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda _: Client(port).get("/health/").status, range(8)))
        if len({line.split()[0] for line in log.read_text().splitlines()}) == 2:
            return
    raise AssertionError("the second worker never answered")


def test_the_public_limit_holds_across_two_workers(two_workers):
    port, log = two_workers
    both_workers_up(port, log)
    path = "/enroll/not-a-real-token/"
    with ThreadPoolExecutor(max_workers=6) as pool:  # at once, so both workers take some
        statuses = list(pool.map(lambda _: Client(port).get(path).status, range(3 * LIMIT)))
    assert statuses.count(429) == 2 * LIMIT and len(statuses) - statuses.count(429) == LIMIT, statuses
    served_by = {line.split()[0] for line in log.read_text().splitlines() if urlsplit(line.split()[2]).path == path}
    assert len(served_by) == 2, f"one worker answered everything: {served_by}"  # else the test proves nothing
