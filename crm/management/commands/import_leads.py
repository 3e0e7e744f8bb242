"""Import a large lead file from the command line, with the same preview and checks as the admin."""

import sys

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from crm.lead_files import LeadFileError
from crm.models import LeadImport
from crm.services import lead_import as service

SHOWN_PROBLEMS = 50


class Command(BaseCommand):
    help = "Import leads from a CSV or XLSX file: preview, then (unless --dry-run) import in one transaction."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--consultant", help="username who owns the new leads (default: round-robin)")
        parser.add_argument("--by", help="username recorded as the importer (default: the consultant)")
        parser.add_argument("--dry-run", action="store_true", help="preview only; change nothing")

    def handle(self, *args, file, consultant, by, dry_run, **options):
        User = get_user_model()
        try:
            owner = User.objects.get(username=consultant) if consultant else None
            importer = User.objects.get(username=by) if by else owner
        except User.DoesNotExist as error:
            raise CommandError(str(error)) from None
        if importer is None:
            raise CommandError(_("Give --consultant, or --by with round-robin assignment."))
        mode = LeadImport.OwnerMode.IMPORTER if owner == importer else LeadImport.OwnerMode.ROUND_ROBIN
        if owner and owner != importer:
            mode = LeadImport.OwnerMode.CHOSEN
        total = self.count_lines(file)
        try:
            with open(file, "rb") as upload:
                lead_import = service.lead_import_preview(
                    upload=upload,
                    by=importer,
                    owner_mode=mode,
                    consultant=owner,
                    name=file.rsplit("/", 1)[-1],
                    progress=lambda done: self.progress(done, total),
                )
        except (LeadFileError, service.ImportRefused, PermissionDenied, OSError) as error:
            raise CommandError(str(error)) from None
        sys.stderr.write("\n")
        self.report(lead_import)
        if dry_run:
            service.lead_import_cancel(lead_import=lead_import, by=importer)
            self.stdout.write(_("Dry run: nothing was imported."))
            return
        try:
            done = service.lead_import_confirm(lead_import=lead_import, by=importer)
        except service.ImportRefused as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(_("Imported %(new)d new leads, updated %(updated)d.") % vars(done)))

    def report(self, lead_import):
        for label, value in (
            (_("rows"), lead_import.total),
            (_("new"), lead_import.new),
            (_("existing, updated"), lead_import.updated),
            (_("existing, unchanged"), lead_import.unchanged),
            (_("duplicate in file"), lead_import.duplicate),
            (_("invalid"), lead_import.invalid),
        ):
            self.stdout.write(f"  {label:<22} {value:>9,}")
        if lead_import.unknown_columns:
            self.stdout.write(_("Unknown columns, not imported: %s") % ", ".join(lead_import.unknown_columns))
        for row, column, reason in service.invalid_rows(lead_import, limit=SHOWN_PROBLEMS):
            self.stdout.write(
                _("  row %(row)d, %(column)s: %(reason)s") % {"row": row, "column": column, "reason": reason}
            )

    @staticmethod
    def count_lines(path) -> int | None:
        if path.lower().endswith(".xlsx"):
            return None
        with open(path, "rb") as f:
            return max(sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b"")) - 1, 1)

    @staticmethod
    def progress(done: int, total: int | None) -> None:
        if total:
            filled = min(30, done * 30 // total)
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done:,}/{total:,} rows")
        else:
            sys.stderr.write(f"\r{done:,} rows")
        sys.stderr.flush()
