"""Importing leads: a preview turns a file into a plan, row by row; confirming applies exactly that plan.

Why not django-import-export's row loop: it saves one row at a time (about 800 rows/s here) and matches rows
against the whole table. This importer streams the file in batches, validates in Python, stages the rows in
`LeadImportRow`, classifies them with set-based SQL (duplicates in the file, existing customers, customers of
others) and writes new customers, their history and their links with INSERT … SELECT. Memory stays flat
however long the file is, and on any failure the transaction leaves nothing behind.
"""

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from itertools import cycle, islice

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, Min, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _gettext
from django.utils.translation import gettext_lazy as _

from crm import access, selectors
from crm.lead_files import COLUMNS, SOURCE_ALIASES, open_lead_file, split_list
from crm.models import Course, Customer, LeadImport, LeadImportRow, Tag
from crm.phones import INVALID_PHONE, normalize_phone
from crm.services.leads import duplicate_phone_message

BATCH = 2000
Outcome = LeadImportRow.Outcome
OwnerMode = LeadImport.OwnerMode
FILLABLE = ["name", "qq", "wechat", "email", "content"]  # empty fields of an existing customer the file may fill
UNIQUE_CONTACTS = ["qq", "wechat", "email"]
# Addresses of this everyday shape pass Django's EmailValidator for certain; others go through it (it is slow).
PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9_%+-]{1,64}(?:\.[A-Za-z0-9_%+-]{1,64})*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)

PHONE_REQUIRED = _("A phone number is required.")
TOO_LONG = _("At most %(max)d characters.")
INVALID_QQ = _("A QQ number is 5 to 12 digits.")
INVALID_EMAIL = _("Enter a valid email address.")
UNKNOWN_SOURCE = _("Unknown source “%(value)s”. Use one of: %(choices)s.")
UNKNOWN_COURSE = _("Unknown course “%(value)s”.")
UNKNOWN_CONSULTANT = _("Unknown consultant “%(value)s”: give the username of an active salesperson.")
CONTACT_IN_FILE = _("The same %(column)s is given for another phone in row %(row)d.")
CONTACT_TAKEN = _("This %(column)s already belongs to another customer.")
NO_SALESPEOPLE = _("There is no active salesperson to share the leads among.")
CHOOSE_CONSULTANT = _("Choose the consultant who will own the new leads.")
NOT_ALLOWED = _("You may not import leads.")
NOT_ALLOWED_TO_ASSIGN = _("Only sales managers can give imported leads to other consultants.")
ALREADY_IMPORTED = _("This file has already been imported (or the import was cancelled). Nothing was changed.")
STALE_PREVIEW = _(
    "The customers changed since the preview (%(count)d rows are affected). Nothing was imported: preview the "
    "file again."
)
CONFLICT = _("The import could not be saved (%(error)s). Nothing was imported: preview the file again.")
NOT_YOUR_IMPORT = _("Only the person who previewed this import can confirm it.")


class ImportRefused(Exception):
    """The import cannot go ahead; the message says why, and nothing was written."""


# ------------------------------------------------------------------------------------------------------------
# Preview
# ------------------------------------------------------------------------------------------------------------


def lead_import_preview(
    *, upload, by, owner_mode: str = OwnerMode.IMPORTER, consultant=None, name: str | None = None, progress=None
) -> LeadImport:
    """Read `upload`, judge every row and store the plan; writes no customer. Raises LeadFileError/ImportRefused."""
    if not by.has_perm("crm.import_customer"):
        raise PermissionDenied(NOT_ALLOWED)
    if owner_mode != OwnerMode.IMPORTER and not by.has_perm("crm.reassign_customer"):
        raise PermissionDenied(NOT_ALLOWED_TO_ASSIGN)
    if owner_mode == OwnerMode.CHOSEN and consultant is None:
        raise ImportRefused(CHOOSE_CONSULTANT)
    lead_file = open_lead_file(upload)  # judges the whole file before anything is stored
    cleaner = RowCleaner(by, owner_mode, consultant)
    name = (name or getattr(upload, "name", None) or "leads")[:255]
    with transaction.atomic():
        lead_import = LeadImport.objects.create(
            created_by=by,
            original_name=name,
            file_format=lead_file.format,
            encoding=lead_file.encoding,
            owner_mode=owner_mode,
            chosen_consultant=consultant if owner_mode == OwnerMode.CHOSEN else None,
            unknown_columns=lead_file.unknown_columns,
        )
        for batch in _batched(lead_file.rows(), BATCH):
            _stage(lead_import, (cleaner.clean(number, values) for number, values in batch))
            if progress:
                progress(batch[-1][0] - 1)  # data rows read so far
        _classify(lead_import, by)
        upload.seek(0)  # kept for the record, once the stream has been read to its end
        lead_import.file.save(name, File(upload), save=False)
        _count(lead_import)
    return lead_import


class RowCleaner:
    """Validates one row's cells into the values to stage, with each problem named by column."""

    def __init__(self, by, owner_mode, consultant):
        self.sources = {}
        for value, label in Customer.Source.choices:
            for key in (value, str(label), _gettext_zh(label), *SOURCE_ALIASES.get(value, ())):
                self.sources[key.casefold()] = value
        self.source_names = ", ".join(str(label) for _value, label in Customer.Source.choices)
        self.courses = {name.casefold(): pk for pk, name in Course.objects.values_list("pk", "name")}
        self.owner_mode = owner_mode
        self.consultants = {}
        if owner_mode == OwnerMode.COLUMN:
            for user in selectors.consultants():
                for key in (user.username, user.get_full_name()):
                    if key:
                        self.consultants[key.casefold()] = user.pk
        if owner_mode == OwnerMode.ROUND_ROBIN:
            ids = list(selectors.salespeople().values_list("pk", flat=True))
            if not ids:
                raise ImportRefused(NO_SALESPEOPLE)
            self.round_robin = cycle(ids)
        self.default_owner = consultant.pk if owner_mode == OwnerMode.CHOSEN else by.pk
        self.labels = {c.field: c.chinese if _is_chinese() else c.english for c in COLUMNS}

    def clean(self, number: int, values: dict[str, str]) -> tuple:
        errors = []

        def error(field, message):
            errors.append(f"{self.labels[field]}\t{message}")

        phone = values.get("phone", "")
        if not phone:
            error("phone", PHONE_REQUIRED)
        else:
            try:
                phone = normalize_phone(phone)
            except ValidationError:
                error("phone", INVALID_PHONE)
        for field, limit in (("name", 64), ("wechat", 64), ("email", 254)):
            if len(values.get(field, "")) > limit:
                error(field, TOO_LONG % {"max": limit})
        qq = values.get("qq", "")
        if qq and not (qq.isdigit() and 5 <= len(qq) <= 12):
            error("qq", INVALID_QQ)
        email = values.get("email", "")
        if email and not PLAIN_EMAIL.fullmatch(email):
            try:
                validate_email(email)
            except ValidationError:
                error("email", INVALID_EMAIL)
        source = values.get("source", "")
        source_value = self.sources.get(source.casefold()) if source else Customer.Source.OTHER
        if source_value is None:
            error("source", UNKNOWN_SOURCE % {"value": source, "choices": self.source_names})
        course_ids = []
        for course in split_list(values.get("courses", "")):
            if course.casefold() in self.courses:
                course_ids.append(self.courses[course.casefold()])
            else:
                error("courses", UNKNOWN_COURSE % {"value": course})
        tags = [tag[:32] for tag in split_list(values.get("tags", ""))]
        owner = self._owner(values.get("consultant", ""), error)
        return (
            number,
            Outcome.INVALID if errors else "",
            "\n".join(errors),
            phone[:32],
            values.get("name", "")[:64],
            qq[:16],
            values.get("wechat", "")[:64],
            email[:254],
            source_value or "",
            values.get("content", ""),
            ",".join(str(pk) for pk in dict.fromkeys(course_ids)),
            ",".join(dict.fromkeys(tags))[:255],
            owner,
        )

    def _owner(self, name, error):
        if self.owner_mode == OwnerMode.ROUND_ROBIN:
            return next(self.round_robin)
        if self.owner_mode == OwnerMode.COLUMN and name:
            owner = self.consultants.get(name.casefold())
            if owner is None:
                error("consultant", UNKNOWN_CONSULTANT % {"value": name})
            return owner
        return self.default_owner


_STAGED = [
    "row_number",
    "outcome",
    "errors",
    "phone",
    "name",
    "qq",
    "wechat",
    "email",
    "source",
    "content",
    "course_ids",
    "tag_names",
    "consultant_id",
]


def _stage(lead_import: LeadImport, rows: Iterable[tuple]) -> None:
    """One executemany per batch: the staging table is ours, so the ORM's per-object work is not needed."""
    table = LeadImportRow._meta.db_table
    columns = ", ".join(connection.ops.quote_name(c) for c in ["lead_import_id", *_STAGED, "changes"])
    placeholders = ", ".join(["%s"] * (len(_STAGED) + 2))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",
            [(lead_import.pk, *row, "") for row in rows],
        )


def _classify(lead_import: LeadImport, by) -> None:
    rows = LeadImportRow.objects.filter(lead_import=lead_import)
    pending = rows.filter(outcome="")
    # Duplicates inside the file: every later row with a phone seen in an earlier valid row.
    first = pending.filter(phone=OuterRef("phone")).order_by("row_number").values("row_number")[:1]
    pending.update(first_row_number=Subquery(first))  # served by the (import, phone, row number) index
    pending.filter(first_row_number__lt=F("row_number")).update(outcome=Outcome.DUPLICATE)
    rows.filter(outcome="", first_row_number=F("row_number")).update(first_row_number=None)
    # Existing customers, matched by the normalized phone.
    pending.update(customer_id=Subquery(Customer.objects.filter(phone=OuterRef("phone")).values("pk")[:1]))
    pending.filter(customer_id__isnull=True).update(outcome=Outcome.NEW)
    if not access.sees_all_customers(by):
        _refuse_customers_of_others(rows, by)
    _refuse_taken_contacts(rows)
    _plan_updates(rows)


def _refuse_customers_of_others(rows, by) -> None:
    """A salesperson's file can neither see nor touch a colleague's customer: the row says whose it is."""
    foreign = rows.filter(outcome="").exclude(customer_id__in=access.visible_customers(by).values("pk"))
    owners = Customer.objects.filter(pk__in=foreign.values("customer_id")).values_list("consultant", flat=True)
    for owner_id in set(owners):
        example = Customer.objects.filter(consultant_id=owner_id).select_related("consultant").first()
        message = f"{_label('phone')}\t{duplicate_phone_message(example)}"
        foreign.filter(customer__consultant_id=owner_id).update(
            outcome=Outcome.INVALID, errors=message, customer_id=None
        )


def _refuse_taken_contacts(rows) -> None:
    """QQ, WeChat and email are unique: a new lead may not reuse one given earlier in the file or already taken."""
    for field in UNIQUE_CONTACTS:
        label = _label(field)
        # Phones are deduplicated already, so rows sharing a contact here are different people: keep the first.
        candidates = rows.filter(outcome__in=[Outcome.NEW, ""]).exclude(**{field: ""})
        clashes = candidates.order_by().values(field).annotate(first=Min("row_number"), n=Count("pk")).filter(n__gt=1)
        for clash in clashes.iterator():
            message = CONTACT_IN_FILE % {"column": label, "row": clash["first"]}
            rows.filter(outcome=Outcome.NEW, row_number__gt=clash["first"], **{field: clash[field]}).update(
                outcome=Outcome.INVALID, errors=f"{label}\t{message}"
            )
        # The inner "not empty" lets the database use the partial unique index on the contact.
        taken = Customer.objects.filter(**{field: OuterRef(field)}).exclude(**{field: ""})
        rows.filter(outcome=Outcome.NEW).exclude(**{field: ""}).filter(Exists(taken)).update(
            outcome=Outcome.INVALID, errors=f"{label}\t{CONTACT_TAKEN % {'column': label}}"
        )


def _plan_updates(rows) -> None:
    """For rows of existing customers: the empty fields and missing courses/tags the row would add."""
    existing = rows.filter(outcome="").order_by("row_number")
    columns = ["pk", "row_number", "customer_id", *FILLABLE, "course_ids", "tag_names"]
    last = 0
    while batch := [
        dict(zip(columns, r, strict=True)) for r in existing.filter(row_number__gt=last).values_list(*columns)[:BATCH]
    ]:
        last = batch[-1]["row_number"]
        ids = [row["customer_id"] for row in batch]
        customers = {c["pk"]: c for c in Customer.objects.filter(pk__in=ids).values("pk", "updated_at", *FILLABLE)}
        courses, tags = defaultdict(set), defaultdict(set)
        for customer_id, course_id in Customer.consult_courses.through.objects.filter(customer_id__in=ids).values_list(
            "customer_id", "course_id"
        ):
            courses[customer_id].add(str(course_id))
        for customer_id, name in Customer.tags.through.objects.filter(customer_id__in=ids).values_list(
            "customer_id", "tag__name"
        ):
            tags[customer_id].add(name)
        taken = _taken_contacts(batch)
        updates = []
        for row in batch:
            customer = customers[row["customer_id"]]
            changes = {}
            for field in FILLABLE:
                value = row[field]
                if value and not customer[field]:
                    if field in UNIQUE_CONTACTS and taken.get((field, value), customer["pk"]) != customer["pk"]:
                        continue  # already another customer's: leave the field empty rather than fail
                    changes[field] = value
            new_courses = [int(pk) for pk in row["course_ids"].split(",") if pk and pk not in courses[customer["pk"]]]
            new_tags = [name for name in row["tag_names"].split(",") if name and name not in tags[customer["pk"]]]
            if new_courses:
                changes["courses"] = new_courses
            if new_tags:
                changes["tags"] = new_tags
            outcome = Outcome.UPDATED if changes else Outcome.UNCHANGED
            updates.append((outcome, json.dumps(changes, ensure_ascii=False), customer["updated_at"], row["pk"]))
        with connection.cursor() as cursor:
            table = connection.ops.quote_name(LeadImportRow._meta.db_table)
            cursor.executemany(
                f"UPDATE {table} SET outcome = %s, changes = %s, seen_updated_at = %s WHERE id = %s",
                [(o, c, connection.ops.adapt_datetimefield_value(seen), pk) for o, c, seen, pk in updates],
            )


def _taken_contacts(batch) -> dict:
    taken = {}
    for field in UNIQUE_CONTACTS:
        values = {row[field] for row in batch if row[field]}
        if values:
            for value, pk in Customer.objects.filter(**{f"{field}__in": values}).values_list(field, "pk"):
                taken[(field, value)] = pk
    return taken


def _count(lead_import: LeadImport) -> None:
    counts = dict(lead_import.rows.order_by().values_list("outcome").annotate(n=Count("pk")))
    lead_import.total = sum(counts.values())
    for outcome in Outcome.values:
        setattr(lead_import, outcome, counts.get(outcome, 0))
    lead_import.save()


# ------------------------------------------------------------------------------------------------------------
# Confirm
# ------------------------------------------------------------------------------------------------------------


def lead_import_confirm(*, lead_import: LeadImport, by) -> LeadImport:
    """Apply the preview's plan in one transaction; refuse, writing nothing, if anything changed since."""
    if lead_import.created_by_id != by.pk:
        raise PermissionDenied(NOT_YOUR_IMPORT)
    try:
        with transaction.atomic():
            # Claiming the import first makes a double submission find it already taken.
            claimed = LeadImport.objects.filter(pk=lead_import.pk, status=LeadImport.Status.PREVIEWED).update(
                status=LeadImport.Status.IMPORTED, imported_at=timezone.now()
            )
            if not claimed:
                raise ImportRefused(ALREADY_IMPORTED)
            _check_still_valid(lead_import)
            _apply(lead_import, by)
    except IntegrityError as error:
        raise ImportRefused(CONFLICT % {"error": error}) from None
    lead_import.refresh_from_db()
    return lead_import


def _check_still_valid(lead_import: LeadImport) -> None:
    rows = lead_import.rows.all()
    taken = rows.filter(outcome=Outcome.NEW).filter(Exists(Customer.objects.filter(phone=OuterRef("phone"))))
    changed = rows.filter(outcome=Outcome.UPDATED).exclude(customer__updated_at=F("seen_updated_at"))
    gone = rows.filter(outcome=Outcome.UPDATED, customer__isnull=True)
    stale = taken.count() + changed.count() + gone.count()
    if stale:
        raise ImportRefused(STALE_PREVIEW % {"count": stale})


def _apply(lead_import: LeadImport, by) -> None:
    now = timezone.now()
    rows = lead_import.rows.all()
    _insert_new_customers(lead_import, now)
    rows.filter(outcome=Outcome.NEW).update(
        customer_id=Subquery(Customer.objects.filter(phone=OuterRef("phone")).values("pk")[:1])
    )
    _fill_existing(rows, now)
    _link_courses_and_tags(rows)
    reason = _gettext("Imported from %(file)s (import %(id)s)") % {
        "file": lead_import.original_name,
        "id": lead_import.pk,
    }
    _record_history(lead_import, Outcome.NEW, "+", now, reason, by)
    _record_history(lead_import, Outcome.UPDATED, "~", now, reason, by)


def _insert_new_customers(lead_import: LeadImport, now) -> None:
    """INSERT … SELECT from the staged rows: one statement however many leads are new."""
    q = connection.ops.quote_name
    copied = ["name", "phone", "qq", "wechat", "email", "source", "content", "consultant_id"]
    columns = ", ".join(q(c) for c in [*copied, "status", "created_at", "updated_at"])
    selected = ", ".join(q(c) for c in copied)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {q(Customer._meta.db_table)} ({columns}) "
            f"SELECT {selected}, %s, %s, %s FROM {q(LeadImportRow._meta.db_table)} "
            f"WHERE lead_import_id = %s AND outcome = %s ORDER BY row_number",
            [Customer.Status.NEW, now, now, lead_import.pk, Outcome.NEW],
        )


def _fill_existing(rows, now) -> None:
    """Fill only fields still empty: a value typed in since the preview is never overwritten."""
    table = connection.ops.quote_name(Customer._meta.db_table)
    for batch in _batched(rows.filter(outcome=Outcome.UPDATED).values_list("customer_id", "changes").iterator(), BATCH):
        plans = [(customer_id, json.loads(changes)) for customer_id, changes in batch]
        with connection.cursor() as cursor:
            for field in FILLABLE:
                params = [(plan[field], now, pk) for pk, plan in plans if field in plan]
                if params:
                    column = connection.ops.quote_name(field)
                    cursor.executemany(
                        f"UPDATE {table} SET {column} = %s, updated_at = %s WHERE id = %s AND {column} = ''", params
                    )
            touched = [(now, pk) for pk, plan in plans if "courses" in plan or "tags" in plan]
            if touched:
                cursor.executemany(f"UPDATE {table} SET updated_at = %s WHERE id = %s", touched)


def _link_courses_and_tags(rows) -> None:
    q = connection.ops.quote_name
    course_table = q(Customer.consult_courses.through._meta.db_table)
    tag_table = q(Customer.tags.through._meta.db_table)
    linked = rows.filter(outcome__in=[Outcome.NEW, Outcome.UPDATED]).filter(~Q(course_ids="") | ~Q(tag_names=""))
    tag_ids = {}
    columns = ("customer_id", "outcome", "course_ids", "tag_names", "changes")
    for batch in _batched(linked.values_list(*columns).iterator(chunk_size=BATCH), BATCH):
        course_links, tag_links = [], []
        for customer_id, outcome, course_ids, tag_names, changes in batch:
            if outcome == Outcome.UPDATED:
                plan = json.loads(changes)
                courses, tags = plan.get("courses", []), plan.get("tags", [])
            else:
                courses = [int(pk) for pk in course_ids.split(",") if pk]
                tags = [name for name in tag_names.split(",") if name]
            course_links += [(customer_id, pk) for pk in courses]
            missing = {name for name in tags if name not in tag_ids}
            if missing:
                Tag.objects.bulk_create([Tag(name=name) for name in missing], ignore_conflicts=True)
                tag_ids.update(Tag.objects.filter(name__in=missing).values_list("name", "pk"))
            tag_links += [(customer_id, tag_ids[name]) for name in tags]
        with connection.cursor() as cursor:
            if course_links:
                cursor.executemany(
                    f"INSERT INTO {course_table} (customer_id, course_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                    course_links,
                )
            if tag_links:
                cursor.executemany(
                    f"INSERT INTO {tag_table} (customer_id, tag_id) VALUES (%s, %s) ON CONFLICT DO NOTHING", tag_links
                )


def _record_history(lead_import: LeadImport, outcome: str, history_type: str, now, reason: str, by) -> None:
    """One history row per customer, copied by INSERT … SELECT, with who imported it and from which file."""
    history = Customer.history.model
    q = connection.ops.quote_name
    tracked = [f.column for f in Customer._meta.concrete_fields]
    extra = ["history_date", "history_change_reason", "history_type", "history_user_id"]
    columns = ", ".join(q(c) for c in [*tracked, *extra])
    selected = ", ".join(f"c.{q(c)}" for c in tracked)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {q(history._meta.db_table)} ({columns}) "
            f"SELECT {selected}, %s, %s, %s, %s FROM {q(Customer._meta.db_table)} c "
            f"WHERE c.id IN (SELECT customer_id FROM {q(LeadImportRow._meta.db_table)} "
            f"WHERE lead_import_id = %s AND outcome = %s)",
            [now, reason, history_type, by.pk, lead_import.pk, outcome],
        )


# ------------------------------------------------------------------------------------------------------------


def lead_import_cancel(*, lead_import: LeadImport, by) -> None:
    """Drop a preview that will not be confirmed (its staged rows go with it)."""
    if lead_import.created_by_id != by.pk:
        raise PermissionDenied(NOT_YOUR_IMPORT)
    LeadImport.objects.filter(pk=lead_import.pk, status=LeadImport.Status.PREVIEWED).update(
        status=LeadImport.Status.CANCELLED
    )
    lead_import.rows.all().delete()


def invalid_rows(lead_import: LeadImport, limit: int | None = None) -> Iterator[tuple[int, str, str]]:
    """(row number, column, reason) for each problem of each invalid row, in file order."""
    rows = lead_import.rows.filter(outcome=Outcome.INVALID).order_by("row_number").values_list("row_number", "errors")
    for number, errors in rows[:limit] if limit else rows.iterator():
        for line in errors.splitlines():
            column, _sep, reason = line.partition("\t")
            yield number, column, reason


def duplicate_rows(lead_import: LeadImport, limit: int | None = None):
    rows = lead_import.rows.filter(outcome=Outcome.DUPLICATE).order_by("row_number")
    return (
        rows.values_list("row_number", "first_row_number", "phone")[:limit]
        if limit
        else rows.values_list("row_number", "first_row_number", "phone")
    )


def _label(field: str) -> str:
    column = next(c for c in COLUMNS if c.field == field)
    return column.chinese if _is_chinese() else column.english


def _is_chinese() -> bool:
    from django.utils.translation import get_language

    return (get_language() or "").lower().startswith("zh")


def _gettext_zh(label) -> str:
    from django.utils import translation

    with translation.override("zh-hans"):
        return str(label)


def _batched(iterable, size) -> Iterator[list]:
    iterator = iter(iterable)
    while batch := list(islice(iterator, size)):
        yield batch
