"""The backup file shared by the `backup` and `restore` commands.

One uncompressed tar holding `manifest.json` (first), the database (a pg_dump custom-format dump, or an SQLite file) and
`private.tar`, the private uploads. The manifest lists the sha256 and size of both and of every private file, so
restore can prove the file intact before it touches anything.
"""

import hashlib
import os
import subprocess

from django.core.management.base import CommandError
from django.db import connection
from django.utils.translation import gettext as _

FORMAT = "crm-backup"
VERSION = 1
MANIFEST = "manifest.json"
PRIVATE = "private.tar"
DATABASE_MEMBERS = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
VENDOR_NAMES = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
CHUNK = 1 << 20


def copy_hashed(source, target=None) -> tuple[str, int]:
    """Read `source` to its end (writing it to `target` if given); its sha256 and size."""
    digest, size = hashlib.sha256(), 0
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if target is not None:
            target.write(chunk)
    return digest.hexdigest(), size


def describe(path) -> dict:
    """The manifest entry of one member written from `path`."""
    with open(path, "rb") as file:
        sha256, size = copy_hashed(file)
    return {"member": path.name, "sha256": sha256, "size": size}


def safe_member_name(name: str) -> bool:
    """A relative path that stays inside the folder it is unpacked into."""
    return all(part not in ("", ".", "..") for part in name.split("/"))


def run_pg(program: str, *arguments: str) -> None:
    """Run pg_dump or pg_restore against the database in settings, the password in the environment only."""
    database = connection.settings_dict
    args = [program]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER"), ("--dbname", "NAME")):
        if database.get(key):
            args.append(f"{flag}={database[key]}")
    args += arguments  # last, so pg_restore's input file is the final argument on every platform
    # Django's psql client already knows which settings become libpq variables (password, SSL, service).
    _args, pg_env = connection.client.settings_to_cmd_args_env(database, [])
    try:
        result = subprocess.run(args, env={**os.environ, **(pg_env or {})}, capture_output=True, text=True)
    except FileNotFoundError:
        raise CommandError(_("%s was not found: install the PostgreSQL client programs.") % program) from None
    if result.returncode:
        raise CommandError(_("%(program)s failed: %(error)s") % {"program": program, "error": result.stderr.strip()})
