"""Backups: a round trip gives back every row and every private file's bytes; a bad file or target is refused."""

import hashlib
import io
import json
import tarfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils.functional import empty

from crm import backups
from crm.models import EnrollmentDocument
from crm.services import enrollment as enrollments
from crm.storage import private_storage
from tests import factories, files

# The backup reads the database from other processes (pg_dump) or connections: the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def add_documents(sales):
    customer = factories.CustomerFactory(consultant=sales)
    enrollment = enrollments.enrollment_start(customer=customer, class_grade=factories.ClassGradeFactory(), by=sales)
    pdf = files.upload("id-back.pdf", files.PDF, "application/pdf")
    enrollments.documents_add(enrollment=enrollment, uploads=[files.png(), pdf])


def snapshot() -> dict:
    """Rows per table, and each document's stored bytes."""
    counts = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
    documents = {}
    for document in EnrollmentDocument.objects.all():
        with document.file.open("rb") as file:
            documents[document.file.name] = file.read()
    return {"rows": counts, "documents": documents}


def use_private_root(settings, path: Path) -> None:
    settings.PRIVATE_MEDIA_ROOT = path
    private_storage._wrapped = empty


def make_backup(tmp_path) -> Path:
    out = io.StringIO()
    call_command("backup", output_dir=tmp_path / "backups", stdout=out)
    return Path(out.getvalue().splitlines()[-1])  # the path is the last line


def restore(archive) -> str:
    out = io.StringIO()
    call_command("restore", str(archive), stdout=out)
    return out.getvalue()


# --- round trip


@contextmanager
def scratch_postgresql_database():
    """Point the connection at a new empty database (as on a fresh machine), then drop it and point it back."""
    name = connection.settings_dict["NAME"]
    scratch = connection.ops.quote_name(f"{name}_restore")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {scratch}")
        cursor.execute(f"CREATE DATABASE {scratch} TEMPLATE template0")  # template0: no one else is ever connected
    connection.close()
    connection.settings_dict["NAME"] = f"{name}_restore"
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = name
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE {scratch} WITH (FORCE)")


@contextmanager
def emptied_sqlite_database():
    """The in-memory test database without a table; migrated again if the restore failed to fill it."""
    connection.disable_constraint_checking()
    try:
        with connection.cursor() as cursor:
            for table in connection.introspection.table_names():
                cursor.execute(f"DROP TABLE {connection.ops.quote_name(table)}")
    finally:
        connection.enable_constraint_checking()
    try:
        yield
    finally:
        if not connection.introspection.table_names():
            call_command("migrate", verbosity=0)


def round_trip(sales, settings, tmp_path, fresh_database):
    call_command("seed_demo", stdout=io.StringIO())
    add_documents(sales)
    before = snapshot()
    assert len(before["documents"]) == 2 and before["rows"]["crm_customer"] > 1
    archive = make_backup(tmp_path)

    with fresh_database():
        use_private_root(settings, tmp_path / "restored")
        in_the_way = tmp_path / "restored" / next(iter(before["documents"]))
        in_the_way.parent.mkdir(parents=True)
        in_the_way.write_bytes(b"someone else's file")
        with pytest.raises(CommandError, match="already exist"):
            restore(archive)
        assert connection.introspection.table_names() == []  # refused before touching the database
        assert in_the_way.read_bytes() == b"someone else's file"

        in_the_way.unlink()
        output = restore(archive)
        assert snapshot() == before
    assert "and 2 private files" in output


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the PostgreSQL round trip runs with DATABASE_URL=postgres"
)
def test_postgresql_round_trip_restores_every_row_and_file(sales, settings, tmp_path):
    round_trip(sales, settings, tmp_path, scratch_postgresql_database)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite round trip runs when the suite runs on SQLite")
def test_sqlite_round_trip_restores_every_row_and_file(sales, settings, tmp_path):
    round_trip(sales, settings, tmp_path, emptied_sqlite_database)


def test_backup_lists_every_private_file_with_its_checksum(sales, tmp_path, private_media):
    add_documents(sales)
    with tarfile.open(make_backup(tmp_path)) as tar:
        assert tar.getnames() == [backups.MANIFEST, backups.DATABASE_MEMBERS[connection.vendor], backups.PRIVATE]
        manifest = json.load(tar.extractfile(backups.MANIFEST))
    listed = {entry["path"]: entry["sha256"] for entry in manifest["private"]["files"]}
    stored = {document.file.name: document.sha256 for document in EnrollmentDocument.objects.all()}
    assert listed == stored
    assert manifest["migrations"]["crm"].startswith("0")


def test_backup_stores_linked_files_as_plain_files(tmp_path, private_media):
    """A folder or file linked from another disk is backed up by content, as restore accepts only plain files."""
    elsewhere = tmp_path / "other-disk"
    elsewhere.mkdir()
    (elsewhere / "leads.csv").write_bytes(b"name,phone\n")
    private_media.mkdir()
    (private_media / "imports").symlink_to(elsewhere)
    with tarfile.open(make_backup(tmp_path)) as tar:
        private = members(tar.extractfile(backups.PRIVATE).read())
    assert private == {"imports/leads.csv": b"name,phone\n"}


# --- refusals: each leaves the database and the private folder as they were


@pytest.fixture
def archive(sales, tmp_path):
    add_documents(sales)
    return make_backup(tmp_path)


@pytest.fixture
def restored_root(settings, tmp_path):
    use_private_root(settings, tmp_path / "restored")
    return tmp_path / "restored"


def members(source: Path | bytes) -> dict[str, bytes]:
    data = source if isinstance(source, bytes) else source.read_bytes()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {member.name: tar.extractfile(member).read() for member in tar}


def tar_bytes(entries) -> bytes:
    """A tar of (name, bytes) regular files; a TarInfo with None for bytes adds a link or folder."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for entry, data in entries:
            if isinstance(entry, tarfile.TarInfo):
                tar.addfile(entry)
            else:
                info = tarfile.TarInfo(entry)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def with_private_tar(parts: dict, private_tar: bytes, files=None) -> dict:
    """The parts with another private.tar, its checksum updated in the manifest (and its file list, if given)."""
    manifest = json.loads(parts[backups.MANIFEST])
    manifest["private"].update(sha256=hashlib.sha256(private_tar).hexdigest(), size=len(private_tar))
    if files is not None:
        manifest["private"]["files"] = files
    return {**parts, backups.MANIFEST: json.dumps(manifest).encode(), backups.PRIVATE: private_tar}


def write(tmp_path, parts: dict) -> Path:
    path = tmp_path / "altered.tar"
    path.write_bytes(tar_bytes(parts.items()))
    return path


def test_refuses_a_database_that_has_tables(archive, restored_root):
    with pytest.raises(CommandError, match="already has .* tables.*Create an empty database"):
        restore(archive)
    assert not restored_root.exists()


def flip_last_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


def damaged_database(parts):
    name = backups.DATABASE_MEMBERS[connection.vendor]
    return {**parts, name: flip_last_byte(parts[name])}, name


def damaged_document(parts):
    """A document changed and private.tar's checksum forged: the document's own checksum still catches it."""
    documents = members(parts[backups.PRIVATE])
    name = sorted(documents)[0]
    documents[name] = flip_last_byte(documents[name])
    return with_private_tar(parts, tar_bytes(documents.items())), name


def damaged_manifest(parts):
    manifest = json.loads(parts[backups.MANIFEST])
    del manifest["database"]
    return {**parts, backups.MANIFEST: json.dumps(manifest).encode()}, backups.MANIFEST


@pytest.mark.parametrize("damage", [damaged_database, damaged_document, damaged_manifest])
def test_refuses_a_damaged_or_altered_backup(archive, restored_root, tmp_path, damage):
    parts, name = damage(members(archive))
    with pytest.raises(CommandError, match=f"damaged or was altered: {name} does not match"):
        restore(write(tmp_path, parts))
    assert not restored_root.exists()


def test_refuses_a_truncated_backup(archive, restored_root, tmp_path):
    cut = tmp_path / "cut.tar"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(CommandError, match="damaged or was altered"):
        restore(cut)
    assert not restored_root.exists()


@pytest.mark.parametrize(
    "content",
    [
        b"name,phone\nWang,13800000000\n",
        tar_bytes([("database.dump", b"PGDMP")]),
        tar_bytes([("manifest.json", b'{"format": "something else"}')]),
        tar_bytes([("manifest.json", b"not json")]),
    ],
    ids=["csv", "tar-without-manifest", "other-manifest", "manifest-not-json"],
)
def test_refuses_what_is_not_a_backup(tmp_path, content):
    path = tmp_path / "crm-20250101T000000Z.tar"
    path.write_bytes(content)
    with pytest.raises(CommandError, match="is not a CRM backup"):
        restore(path)


def test_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        restore(tmp_path / "nowhere.tar")


def link(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


@pytest.mark.parametrize(
    "entry",
    [
        ("../outside.png", files.png_bytes()),
        ("/tmp/absolute.png", b"x"),
        (link("enrollment/a.png", "/etc/passwd"), None),
    ],
    ids=["climbs-out", "absolute", "symlink"],
)
def test_refuses_private_members_that_are_not_plain_files_inside_the_folder(archive, restored_root, tmp_path, entry):
    name, data = entry
    name = name.name if isinstance(name, tarfile.TarInfo) else name
    listed = [{"path": name, "sha256": hashlib.sha256(data or b"").hexdigest(), "size": len(data or b"")}]
    parts = with_private_tar(members(archive), tar_bytes([entry]), files=listed)  # a consistent, crafted manifest
    with pytest.raises(CommandError, match="not a plain file inside the private folder"):
        restore(write(tmp_path, parts))
    assert not restored_root.exists() and not (tmp_path / "outside.png").exists()


def test_refuses_a_backup_of_the_other_database_kind(archive, restored_root, tmp_path):
    other = "sqlite" if connection.vendor == "postgresql" else "postgresql"
    parts = members(archive)
    manifest = json.loads(parts.pop(backups.MANIFEST))
    data = parts.pop(manifest["database"]["member"])
    manifest["database"].update(vendor=other, member=backups.DATABASE_MEMBERS[other])
    parts = {backups.MANIFEST: json.dumps(manifest).encode(), backups.DATABASE_MEMBERS[other]: data, **parts}
    with pytest.raises(CommandError, match="Set DATABASE_URL to an empty"):
        restore(write(tmp_path, parts))
    assert not restored_root.exists()
