"""Write one backup file: the database, the private uploads, and a manifest of their checksums (see crm/backups.py)."""

import datetime
import io
import json
import os
import sqlite3
import tarfile
import tempfile
from pathlib import Path

import django
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm import backups

S3_NOT_INCLUDED = gettext_lazy(
    "The uploads are in the S3 bucket “%(bucket)s”, not in this backup: keep them with the bucket's own "
    "versioning or replication."
)


class Command(BaseCommand):
    help = "Back up the database and the private uploads into one .tar file (var/backups/ unless --output-dir)."

    def add_arguments(self, parser):
        parser.add_argument("--output-dir", default=settings.VAR_DIR / "backups", type=Path, help="where to write it")

    def handle(self, *args, output_dir, **options):
        output_dir = Path(output_dir)
        vendor = connection.vendor
        if vendor not in backups.DATABASE_MEMBERS:
            raise CommandError(_("Backups cover PostgreSQL and SQLite databases, not %s.") % connection.display_name)
        created = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        target = output_dir / f"crm-{created:%Y%m%dT%H%M%SZ}.tar"
        if target.exists():
            raise CommandError(_("%s already exists: wait a second and run the backup again.") % target)
        output_dir.mkdir(parents=True, exist_ok=True, mode=0o700)  # ID documents: readable by the owner only
        with tempfile.TemporaryDirectory(dir=output_dir) as work:
            work = Path(work)
            # The database before the files: an upload made meanwhile leaves a spare file, never a row without one.
            database = work / backups.DATABASE_MEMBERS[vendor]
            dump_database(vendor, database)
            files = archive_private_files(Path(settings.PRIVATE_MEDIA_ROOT), work / backups.PRIVATE, self.stderr)
            manifest = {
                "format": backups.FORMAT,
                "version": backups.VERSION,
                "created_at": created.isoformat(),
                "django": django.get_version(),
                "migrations": latest_migrations(),
                "database": {"vendor": vendor, **backups.describe(database)},
                "private": {**backups.describe(work / backups.PRIVATE), "files": files},
            }
            archive = work / "backup.tar"
            with tarfile.open(archive, "w") as tar:
                data = json.dumps(manifest, indent=2).encode()
                info = tarfile.TarInfo(backups.MANIFEST)
                info.size, info.mtime = len(data), int(created.timestamp())
                tar.addfile(info, io.BytesIO(data))
                tar.add(database, arcname=database.name)
                tar.add(work / backups.PRIVATE, arcname=backups.PRIVATE)
            archive.chmod(0o600)
            os.replace(archive, target)
        if settings.PRIVATE_S3:
            self.stderr.write(S3_NOT_INCLUDED % {"bucket": settings.PRIVATE_S3["bucket_name"]})
        self.stdout.write(
            _("Backed up the %(vendor)s database (%(size)s) and %(count)d private files into:")
            % {
                "vendor": backups.VENDOR_NAMES[vendor],
                "size": filesizeformat(manifest["database"]["size"]),
                "count": len(files),
            }
        )
        self.stdout.write(str(target))


def dump_database(vendor: str, path: Path) -> None:
    if vendor == "postgresql":
        backups.run_pg("pg_dump", "--format=custom", f"--file={path}")
        return
    # SQLite's online backup copies a consistent database even while the CRM writes to it.
    connection.ensure_connection()
    target = sqlite3.connect(path)
    try:
        connection.connection.backup(target)
    finally:
        target.close()


def archive_private_files(root: Path, path: Path, stderr) -> list[dict]:
    """Tar every file under `root`; each one's path, sha256 and size, hashed from the bytes in the tar.

    Links are followed (a folder may live on another disk) and stored as the plain files restore accepts.
    """
    with tarfile.open(path, "w", dereference=True) as tar:
        for folder, dirs, names in os.walk(root, followlinks=True):
            dirs.sort()
            for name in sorted(names):
                file = Path(folder, name)
                if not file.is_file():  # a broken link, a socket: nothing to keep
                    stderr.write(_("Skipped %s: not a regular file.") % file)
                    continue
                tar.add(file, arcname=file.relative_to(root).as_posix(), recursive=False)
    files = []
    with tarfile.open(path) as tar:
        for member in tar:
            sha256, size = backups.copy_hashed(tar.extractfile(member))
            files.append({"path": member.name, "sha256": sha256, "size": size})
    return files


def latest_migrations() -> dict[str, str]:
    """The last migration applied per app: which code version the data needs."""
    latest = {}
    for app, name in sorted(MigrationRecorder(connection).applied_migrations()):
        latest[app] = name
    return latest
