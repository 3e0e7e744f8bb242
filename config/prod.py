"""`make prod`: the production stack on this machine, for trying it as a school would run it.

PostgreSQL (DATABASE_URL; the database is created if missing), Redis for the cache, sessions and the job queue,
DEBUG off, static files collected and served by whitenoise, gunicorn with several workers, one Celery worker and
Celery beat (the schedules of django-celery-beat) beside it; Ctrl+C stops all three. Every variable already set in
the environment (or .env) wins over the defaults below. Plain HTTP on 127.0.0.1: a real deployment puts a TLS
proxy in front and keeps DJANGO_SECURE_SSL_REDIRECT on (README, "Running in production").
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import environ
import psycopg
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
CELERY = str(Path(sys.executable).with_name("celery"))


def secret_key() -> str:
    """One random key for this machine's trial runs, kept so sessions survive a restart."""
    path = BASE_DIR / "var" / "prod_secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(get_random_secret_key())
        path.chmod(0o600)
    return path.read_text().strip()


def ensure_database(url: str) -> None:
    config = environ.Env.db_url_config(url)
    if "postgresql" not in config["ENGINE"]:
        return
    params = {"host": config["HOST"] or None, "port": config["PORT"] or None, "user": config["USER"] or None}
    params["password"] = config["PASSWORD"] or None
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]).fetchone():
            conn.execute(f'CREATE DATABASE "{config["NAME"]}"')
            print(f"Created the database {config['NAME']}.")


def main() -> None:
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
    port = os.environ.get("PORT", "8000")
    defaults = {
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/crm",
        "DJANGO_CACHE_URL": "rediscache://127.0.0.1:6379/1",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/3",
        "CELERY_WORKERS": "2",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",  # no TLS proxy in front on this machine
        "DJANGO_CONN_MAX_AGE": "60",
        "GUNICORN_WORKERS": "4",
    }
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("DJANGO_SECRET_KEY", secret_key())
    ensure_database(os.environ["DATABASE_URL"])
    for command in (["collectstatic", "--no-input", "-v", "0"], ["migrate", "--no-input", "-v", "0"], ["seed_demo"]):
        subprocess.run([PYTHON, "manage.py", *command], cwd=BASE_DIR, check=True)
    print(f"Serving the CRM in production mode on http://127.0.0.1:{port}/ (Ctrl+C stops it)", flush=True)
    workers, jobs = os.environ["GUNICORN_WORKERS"], os.environ["CELERY_WORKERS"]
    commands = [
        [GUNICORN, "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", workers],
        [CELERY, "-A", "config", "worker", "--concurrency", jobs, "--loglevel", "warning"],
        [CELERY, "-A", "config", "beat", "--loglevel", "warning", "--pidfile="],
    ]
    processes = [subprocess.Popen(command, cwd=BASE_DIR) for command in commands]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a plain `kill` stops the three as Ctrl+C does
    try:
        while all(process.poll() is None for process in processes):  # one stopping stops the others
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
