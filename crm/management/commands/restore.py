"""Bring a backup back into an empty database and the private-files folder, after proving it intact."""

import json
import shutil
import sqlite3
import tarfile
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils.translation import gettext as _

from crm import backups


class Command(BaseCommand):
    help = (
        "Restore a file written by `backup` into an EMPTY database and the private-files folder. "
        "Every checksum is verified first; nothing existing is ever overwritten."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the backup .tar file")

    def handle(self, *args, file, **options):
        file = Path(file)
        root = Path(settings.PRIVATE_MEDIA_ROOT)
        with tempfile.TemporaryDirectory() as work:
            work = Path(work)
            manifest = Verifier(file).verify(work)
            files = manifest["private"]["files"]
            self.stdout.write(
                _("%(file)s: backup of %(created)s, every checksum matches.")
                % {"file": file, "created": manifest["created_at"]}
            )
            check_empty_database(manifest["database"]["vendor"])
            check_no_file_exists(root, files)
            load_database(manifest["database"]["vendor"], work / manifest["database"]["member"])
            unpack(work / backups.PRIVATE, root)
        self.stdout.write(
            _("Restored the %(vendor)s database (%(tables)d tables) and %(count)d private files into %(folder)s.")
            % {
                "vendor": backups.VENDOR_NAMES[manifest["database"]["vendor"]],
                "tables": len(connection.introspection.table_names()),
                "count": len(files),
                "folder": root,
            }
        )
        self.stdout.write(_("Latest migrations in the backup:"))
        for app, name in sorted(manifest["migrations"].items()):
            self.stdout.write(f"  {app} {name}")
        self.stdout.write(_("If this CRM is newer than the backup, run `manage.py migrate` before starting it."))


class Verifier:
    """Reads a backup file into a work folder, refusing it unless every byte matches the manifest."""

    def __init__(self, file: Path):
        self.file = file

    def not_a_backup(self):
        return CommandError(_("%s is not a CRM backup (a .tar written by `manage.py backup`).") % self.file)

    def damaged(self, name):
        return CommandError(
            _("%(file)s is damaged or was altered: %(name)s does not match its manifest. Use another copy.")
            % {"file": self.file, "name": name}
        )

    def verify(self, work: Path) -> dict:
        if not self.file.is_file():
            raise CommandError(_("%s does not exist.") % self.file)
        try:
            tar = tarfile.open(self.file)
        except tarfile.TarError:
            raise self.not_a_backup() from None
        with tar:
            manifest = self.manifest(tar)
            for entry in (manifest["database"], manifest["private"]):
                self.copy_member(tar, entry, work)
        self.check_private_files(work / backups.PRIVATE, manifest["private"]["files"])
        return manifest

    def manifest(self, tar) -> dict:
        first = tar.firstmember  # the manifest comes first: read before a damaged end can get in the way
        if first is None or first.name != backups.MANIFEST or not first.isfile():
            raise self.not_a_backup()
        try:
            manifest = json.load(tar.extractfile(first))
        except (ValueError, tarfile.TarError):
            raise self.not_a_backup() from None
        if not isinstance(manifest, dict) or manifest.get("format") != backups.FORMAT:
            raise self.not_a_backup()
        if manifest.get("version") != backups.VERSION:
            raise CommandError(
                _("%(file)s is a backup of format version %(version)s, which this CRM cannot read.")
                % {"file": self.file, "version": manifest.get("version")}
            )
        try:  # the members' names come from our own list, never from the file
            database, private = manifest["database"], manifest["private"]
            valid = (
                database["member"] == backups.DATABASE_MEMBERS[database["vendor"]]
                and private["member"] == backups.PRIVATE
                and all(
                    isinstance(entry["path"], str) and {"sha256", "size"} <= entry.keys() for entry in private["files"]
                )
                and isinstance(manifest["migrations"], dict)
                and "created_at" in manifest
            )
        except (KeyError, TypeError, AttributeError):
            valid = False
        if not valid:
            raise self.damaged(backups.MANIFEST)
        return manifest

    def copy_member(self, tar, entry: dict, work: Path) -> None:
        try:
            member = tar.getmember(entry["member"])
            if not member.isfile():
                raise self.damaged(entry["member"])
            with tar.extractfile(member) as source, open(work / member.name, "xb") as target:
                found = backups.copy_hashed(source, target)
        except (KeyError, tarfile.TarError):  # missing, or the file ends early
            raise self.damaged(entry["member"]) from None
        if found != (entry["sha256"], entry["size"]):
            raise self.damaged(entry["member"])

    def check_private_files(self, path: Path, files: list[dict]) -> None:
        expected = {entry["path"]: (entry["sha256"], entry["size"]) for entry in files}
        seen = set()
        try:
            with tarfile.open(path) as tar:
                for member in tar:
                    # Only plain files inside the folder: no links, devices or paths climbing out of it.
                    if not member.isfile() or not backups.safe_member_name(member.name):
                        raise CommandError(
                            _("%(file)s holds %(name)s, which is not a plain file inside the private folder.")
                            % {"file": self.file, "name": member.name}
                        )
                    with tar.extractfile(member) as source:
                        found = backups.copy_hashed(source)
                    if member.name in seen or expected.get(member.name) != found:
                        raise self.damaged(member.name)
                    seen.add(member.name)
        except tarfile.TarError:
            raise self.damaged(backups.PRIVATE) from None
        missing = sorted(expected.keys() - seen)
        if missing:
            raise self.damaged(missing[0])


def check_empty_database(vendor: str) -> None:
    if vendor != connection.vendor:
        raise CommandError(
            _(
                "This backup holds a %(backup)s database, but the database in settings is %(target)s. "
                "Set DATABASE_URL to an empty %(backup)s database."
            )
            % {"backup": backups.VENDOR_NAMES[vendor], "target": connection.display_name}
        )
    tables = connection.introspection.table_names()
    if tables:
        raise CommandError(
            _(
                "The database %(name)s already has %(count)d tables; restore only fills an empty database. "
                "Create an empty database, point DATABASE_URL at it and run restore again."
            )
            % {"name": connection.settings_dict["NAME"], "count": len(tables)}
        )


def check_no_file_exists(root: Path, files: list[dict]) -> None:
    taken = [entry["path"] for entry in files if (root / entry["path"]).exists() or (root / entry["path"]).is_symlink()]
    if taken:
        raise CommandError(
            _(
                "%(count)d of the backup's private files already exist in %(folder)s (%(example)s); "
                "restore never overwrites files. Move them away or point CRM_PRIVATE_MEDIA_ROOT at an empty folder."
            )
            % {"count": len(taken), "folder": root, "example": taken[0]}
        )


def load_database(vendor: str, path: Path) -> None:
    if vendor == "postgresql":
        # One transaction: a failure leaves the database empty. A fresh machine may lack the original owner and
        # roles, so objects belong to whoever restores them.
        backups.run_pg(
            "pg_restore", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error", str(path)
        )
        return
    connection.ensure_connection()
    source = sqlite3.connect(path)
    try:
        source.backup(connection.connection)
    finally:
        source.close()


def unpack(path: Path, root: Path) -> None:
    """Write the verified private files; "x" mode refuses any file (or link) that appeared since the check."""
    with tarfile.open(path) as tar:
        for member in tar:
            target = root / member.name
            target.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as source, open(target, "xb") as copy:
                shutil.copyfileobj(source, copy)
