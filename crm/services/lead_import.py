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

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Count, Exists, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm import access, selectors
from crm.lead_files import COLUMNS, SOURCE_ALIASES, open_lead_file, split_list
from crm.models import Branch, Course, Customer, LeadImport, LeadImportRow, Tag
from crm.phones import INVALID_PHONE, normalize_phone
from crm.services.leads import DUPLICATE_PHONE_UNOWNED, duplicate_phone_message

BATCH = 2000
Outcome = LeadImportRow.Outcome
OwnerMode = LeadImport.OwnerMode
FILLABLE = ["name", "qq", "wechat", "email", "content"]  # empty fields of an existing customer the file may fill
UNIQUE_CONTACTS = ["qq", "wechat", "email"]
# Raw SQL below names these tables as they are: plain lowercase names need no quotes.
STAGING = LeadImportRow._meta.db_table
CUSTOMERS = Customer._meta.db_table
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
UNKNOWN_CAMPUS = _("Unknown campus “%(value)s”.")
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
        _analyze_staging()
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
        self.campuses = {name.casefold(): pk for pk, name in Branch.objects.values_list("pk", "name")}
        self.default_source = str(Customer.Source.OTHER.value)
        self.owner_mode = owner_mode
        self.round_robin = None
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

    def clean(self, number: int, values: tuple[str, ...]) -> tuple:
        """The row as staged: (number, outcome, errors, phone, name, …). Runs once per row: kept lean.

        A valid row is staged as new; classifying then rewrites only the rows that turn out otherwise.
        """
        name, phone, qq, wechat, email, source, courses, campus, tags, consultant, content = values  # FIELDS
        errors = []  # (field, message)
        if not phone:
            errors.append(("phone", PHONE_REQUIRED))
        else:
            try:
                phone = normalize_phone(phone)
            except ValidationError:
                errors.append(("phone", INVALID_PHONE))
        for field, value, limit in (("name", name, 64), ("wechat", wechat, 64), ("email", email, 254)):
            if len(value) > limit:
                errors.append((field, TOO_LONG % {"max": limit}))
        if qq and not (qq.isdigit() and 5 <= len(qq) <= 12):
            errors.append(("qq", INVALID_QQ))
        if email and not PLAIN_EMAIL.fullmatch(email):
            try:
                validate_email(email)
            except ValidationError:
                errors.append(("email", INVALID_EMAIL))
        source_value = self.sources.get(source.casefold()) if source else self.default_source
        if source_value is None:
            errors.append(("source", UNKNOWN_SOURCE % {"value": source, "choices": self.source_names}))
        course_ids = ""
        if courses:
            ids = []
            for course in split_list(courses):
                pk = self.courses.get(course.casefold())
                if pk is None:
                    errors.append(("courses", UNKNOWN_COURSE % {"value": course}))
                elif pk not in ids:
                    ids.append(pk)
            course_ids = ",".join(map(str, ids))
        campus_id = self.campuses.get(campus.casefold()) if campus else None
        if campus and campus_id is None:
            errors.append(("branch", UNKNOWN_CAMPUS % {"value": campus}))
        tag_names = ",".join(dict.fromkeys(tag[:32] for tag in split_list(tags)))[:255] if tags else ""
        owner = self._owner(consultant, errors)
        return (
            number,
            "invalid" if errors else "new",
            "\n".join(f"{self.labels[field]}\t{message}" for field, message in errors),
            phone[:32],
            name[:64],
            qq[:16],
            wechat[:64],
            email[:254],
            source_value or "",
            content,
            course_ids,
            tag_names,
            owner,
            campus_id,
        )

    def _owner(self, name, errors):
        if self.round_robin:
            return next(self.round_robin)
        if self.owner_mode == OwnerMode.COLUMN and name:
            owner = self.consultants.get(name.casefold())
            if owner is None:
                errors.append(("consultant", UNKNOWN_CONSULTANT % {"value": name}))
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
    "branch_id",
]


def _stage(lead_import: LeadImport, rows: Iterable[tuple]) -> None:
    """One bulk write per batch: the staging table is ours, so the ORM's per-object work is not needed."""
    _bulk_insert(STAGING, ["lead_import_id", *_STAGED, "changes"], ((lead_import.pk, *row, "") for row in rows))


def _bulk_insert(table: str, columns: list[str], rows: Iterable[tuple]) -> None:
    """COPY on PostgreSQL, whose executemany still runs one INSERT per row (several times slower than COPY);
    executemany elsewhere, which is what SQLite has."""
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({placeholders})", rows)


def _analyze_staging() -> None:
    """Fresh planner statistics for the staged rows (PostgreSQL only; SQLite's planner does not use them).

    Rows staged in the open transaction have none, so PostgreSQL takes this import's rows for one and may plan
    nested loops that grow with the square of the file. SKIP_LOCKED: ANALYZE's lock is held to the end of the
    transaction and conflicts with itself, so a second import at the same time would wait for the first; it
    goes on with older statistics instead (the statements below stay linear without them, only slower).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Only the columns the statements filter, join and sort on: the text columns would double its time.
            cursor.execute(f"ANALYZE (SKIP_LOCKED) {STAGING} (lead_import_id, outcome, row_number, phone, customer_id)")


def _execute(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _values(rows: list[tuple]) -> tuple[str, list]:
    """A VALUES list for `rows` and its parameters: a batch in one statement (one per row is several times slower
    on PostgreSQL). Its columns are named column1, column2, … on both databases."""
    row = f"({', '.join(['%s'] * len(rows[0]))})"
    return f"VALUES {', '.join([row] * len(rows))}", [value for r in rows for value in r]


def _classify(lead_import: LeadImport, by) -> None:
    rows = LeadImportRow.objects.filter(lead_import=lead_import)
    # One pass finds the valid rows that are not new after all: repeats of an earlier valid row's phone (a window
    # finds each phone's first row in one sort; a correlated EXISTS per row was quadratic) and rows of existing
    # customers, matched by the normalized phone. Only those rows are rewritten.
    _execute(
        f"UPDATE {STAGING} SET outcome = CASE WHEN r.row_number > r.first_row THEN %s ELSE '' END, "
        f"first_row_number = CASE WHEN r.row_number > r.first_row THEN r.first_row END, "
        f"customer_id = CASE WHEN r.row_number = r.first_row THEN r.customer_id END "
        f"FROM (SELECT s.id, s.row_number, MIN(s.row_number) OVER (PARTITION BY s.phone) AS first_row, "
        f"c.id AS customer_id FROM {STAGING} s LEFT JOIN {CUSTOMERS} c ON c.phone = s.phone "
        f"WHERE s.lead_import_id = %s AND s.outcome = %s) r "
        f"WHERE {STAGING}.id = r.id AND (r.row_number > r.first_row OR r.customer_id IS NOT NULL)",
        [Outcome.DUPLICATE, lead_import.pk, Outcome.NEW],
    )
    if not access.sees_all_customers(by):
        _refuse_customers_of_others(rows, by)
    _refuse_taken_contacts(lead_import)
    _plan_updates(rows)


def _refuse_customers_of_others(rows, by) -> None:
    """A salesperson's file can neither see nor touch a colleague's customer: the row says whose it is."""
    visible = access.visible_customers(by).filter(pk=OuterRef("customer_id"))
    foreign = rows.filter(outcome="").filter(~Exists(visible))  # NOT EXISTS: an anti-join, never a row-by-row NOT IN
    owner_ids = set(
        Customer.objects.filter(pk__in=foreign.values("customer_id"))
        .order_by()
        .values_list("consultant_id", flat=True)
        .distinct()
    )
    if not owner_ids:
        return
    # One statement for all owners: each row gets the message naming its customer's owner.
    label = _label("phone")
    message = Case(
        *(
            When(consultant_id=pk, then=Value(f"{label}\t{duplicate_phone_message(Customer(consultant=owner))}"))
            for pk, owner in get_user_model().objects.in_bulk(owner_ids).items()
        ),
    )
    owner = Customer.objects.filter(pk=OuterRef("customer_id")).order_by()
    owners_message = Subquery(owner.annotate(m=message).values("m"))
    foreign.update(
        outcome=Outcome.INVALID,
        # The customer changed hands or went meanwhile: refused all the same, naming no one.
        errors=Coalesce(owners_message, Value(f"{label}\t{DUPLICATE_PHONE_UNOWNED}")),
        customer_id=None,
    )


def _refuse_taken_contacts(lead_import: LeadImport) -> None:
    """QQ, WeChat and email are unique: a new lead may not reuse one given earlier in the file or already taken."""
    rows = lead_import.rows.all()
    for field in UNIQUE_CONTACTS:
        label = _label(field)
        # Phones are deduplicated already, so rows sharing a contact here are different people: keep the first.
        # A window gives each row the first row of its contact; the message is built around the number in SQL.
        before, after = _around_number(CONTACT_IN_FILE, "row", column=label)
        _execute(
            f"UPDATE {STAGING} SET outcome = %s, errors = %s || CAST(c.first_row AS TEXT) || %s FROM ("
            f"SELECT id, outcome, row_number, MIN(row_number) OVER (PARTITION BY {field}) AS first_row "
            f"FROM {STAGING} WHERE lead_import_id = %s AND outcome IN (%s, '') AND {field} <> '') c "
            f"WHERE {STAGING}.id = c.id AND c.outcome = %s AND c.row_number > c.first_row",
            [Outcome.INVALID, f"{label}\t{before}", after, lead_import.pk, Outcome.NEW, Outcome.NEW],
        )
        # The inner "not empty" lets the database use the partial unique index on the contact.
        taken = Customer.objects.filter(**{field: OuterRef(field)}).exclude(**{field: ""})
        rows.filter(outcome=Outcome.NEW).exclude(**{field: ""}).filter(Exists(taken)).update(
            outcome=Outcome.INVALID, errors=f"{label}\t{CONTACT_TAKEN % {'column': label}}"
        )


def _around_number(message, key: str, **values) -> tuple[str, str]:
    """The translated `message` with `values` filled in, split where %(key)d goes, for SQL to put it there."""
    before, after = (str(message).replace(f"%({key})d", "\0") % values).split("\0")
    return before, after


def _plan_updates(rows) -> None:
    """For rows of existing customers: the empty fields and missing courses/tags the row would add."""
    existing = rows.filter(outcome="").order_by("row_number")
    columns = ["pk", "row_number", "customer_id", "course_ids", "tag_names", "outcome"]
    columns += [*FILLABLE, *(f"customer__{field}" for field in FILLABLE)]  # the row's value, then the customer's
    columns += ["branch_id", "customer__branch_id"]
    fills = list(enumerate(FILLABLE, start=6))
    width = len(FILLABLE)
    last = 0
    while batch := list(existing.filter(row_number__gt=last).values_list(*columns)[:BATCH]):
        last = batch[-1][1]
        ids = [row[2] for row in batch]
        courses, tags = defaultdict(set), defaultdict(set)
        links = Customer.consult_courses.through.objects.filter(customer_id__in=ids)
        for customer_id, course_id in links.values_list("customer_id", "course_id"):
            courses[customer_id].add(str(course_id))
        for customer_id, name in Customer.tags.through.objects.filter(customer_id__in=ids).values_list(
            "customer_id", "tag__name"
        ):
            tags[customer_id].add(name)
        taken = _taken_contacts({field: {row[i] for row in batch if row[i]} for i, field in fills})
        updates = []
        for row in batch:
            pk, _number, customer_id, course_ids, tag_names, _outcome = row[:6]
            changes = {}
            for i, field in fills:
                value = row[i]
                if value and not row[i + width]:
                    if taken.get((field, value), customer_id) != customer_id:
                        continue  # already another customer's: leave the field empty rather than fail
                    changes[field] = value
            campus_id, customer_campus_id = row[-2:]
            if campus_id and not customer_campus_id:
                changes["branch_id"] = campus_id
            if course_ids:
                new_courses = [int(c) for c in course_ids.split(",") if c not in courses[customer_id]]
                if new_courses:
                    changes["courses"] = new_courses
            if tag_names:
                new_tags = [name for name in tag_names.split(",") if name not in tags[customer_id]]
                if new_tags:
                    changes["tags"] = new_tags
            if changes:
                updates.append(("updated", json.dumps(changes, ensure_ascii=False), pk))
            else:
                updates.append(("unchanged", "", pk))
        # With each updated customer as the preview saw it, so confirming can tell whether it changed since.
        values, params = _values(updates)
        _execute(
            f"UPDATE {STAGING} SET outcome = v.column1, changes = v.column2, seen_updated_at = CASE "
            f"WHEN v.column1 = %s THEN (SELECT updated_at FROM {CUSTOMERS} c WHERE c.id = {STAGING}.customer_id) "
            f"END FROM ({values}) v WHERE {STAGING}.id = v.column3",
            [Outcome.UPDATED, *params],
        )


def _taken_contacts(values_by_field: dict[str, set]) -> dict:
    """(field, value) -> the customer that already has it, for the unique contacts among the given values."""
    taken = {}
    for field in UNIQUE_CONTACTS:
        values = values_by_field.get(field)
        if values:
            found = Customer.objects.filter(**{f"{field}__in": values}).exclude(**{field: ""})  # partial index
            for value, pk in found.values_list(field, "pk"):
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
    # The preview's statistics predate its outcomes; taken before the transaction, ANALYZE's lock is not held
    # through the import.
    _analyze_staging()
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
    # Raw SQL below takes the database's own datetime form, as the ORM would write it.
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rows = lead_import.rows.order_by()  # no join to the import for the default ordering: order does not matter here
    _insert_new_customers(lead_import, now)
    _execute(
        f"UPDATE {STAGING} SET customer_id = c.id FROM {CUSTOMERS} c "
        f"WHERE c.phone = {STAGING}.phone AND {STAGING}.lead_import_id = %s AND {STAGING}.outcome = %s",
        [lead_import.pk, Outcome.NEW],
    )
    _fill_existing(rows, now)
    _link_courses_and_tags(lead_import)
    reason = gettext("Imported from %(file)s (import %(id)s)") % {
        "file": lead_import.original_name,
        "id": lead_import.pk,
    }
    _record_history(lead_import, Outcome.NEW, "+", now, reason, by)
    _record_history(lead_import, Outcome.UPDATED, "~", now, reason, by)


def _insert_new_customers(lead_import: LeadImport, now) -> None:
    """INSERT … SELECT from the staged rows: one statement however many leads are new."""
    q = connection.ops.quote_name
    copied = ["name", "phone", "qq", "wechat", "email", "source", "content", "consultant_id", "branch_id"]
    columns = ", ".join(q(c) for c in [*copied, "status", "created_at", "updated_at", "assigned_at"])
    selected = ", ".join(q(c) for c in copied)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {q(Customer._meta.db_table)} ({columns}) "
            f"SELECT {selected}, %s, %s, %s, %s FROM {q(LeadImportRow._meta.db_table)} "
            f"WHERE lead_import_id = %s AND outcome = %s",
            [Customer.Status.NEW, now, now, now, lead_import.pk, Outcome.NEW],
        )


def _fill_existing(rows, now) -> None:
    """Fill only fields still empty: a value typed in since the preview is never overwritten."""
    q = connection.ops.quote_name
    assignments = ", ".join(
        f"{q(f)} = CASE WHEN {q(f)} = '' THEN COALESCE(v.column{i}, '') ELSE {q(f)} END"
        for i, f in enumerate(FILLABLE, start=1)
    )
    # The campus is cast: in a batch without any, PostgreSQL types the all-NULL column as text.
    campus, key = len(FILLABLE) + 1, len(FILLABLE) + 2
    updated = rows.filter(outcome=Outcome.UPDATED).values_list("customer_id", "changes")
    for batch in _batched(updated.iterator(chunk_size=BATCH), BATCH):
        plans = [(json.loads(changes), customer_id) for customer_id, changes in batch]
        values, params = _values([(*(p.get(f) for f in FILLABLE), p.get("branch_id"), pk) for p, pk in plans])
        _execute(
            f"UPDATE {CUSTOMERS} SET {assignments}, branch_id = COALESCE(branch_id, CAST(v.column{campus} AS BIGINT)), "
            f"updated_at = %s FROM ({values}) v WHERE {CUSTOMERS}.id = v.column{key}",
            [now, *params],
        )


def _link_courses_and_tags(lead_import: LeadImport) -> None:
    """Courses and tags of new and updated customers; a single course or tag per row goes set-based."""
    q = connection.ops.quote_name
    course_table = q(Customer.consult_courses.through._meta.db_table)
    tag_table = q(Customer.tags.through._meta.db_table)
    staged = q(LeadImportRow._meta.db_table)
    rows = lead_import.rows.order_by()  # unordered: DISTINCT below is then over the tag names alone
    new = rows.filter(outcome=Outcome.NEW)
    tag_ids = _ensure_tags(
        {
            name
            for names in new.exclude(tag_names="").values_list("tag_names", flat=True).distinct()
            for name in names.split(",")
        }
        | {
            name
            for changes in rows.filter(outcome=Outcome.UPDATED).values_list("changes", flat=True)
            for name in json.loads(changes).get("tags", [])
        }
    )
    single = "lead_import_id = %s AND outcome = %s AND {column} <> '' AND {column} NOT LIKE %s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {course_table} (customer_id, course_id) SELECT customer_id, CAST(course_ids AS INTEGER) "
            f"FROM {staged} WHERE {single.format(column='course_ids')}",
            [lead_import.pk, Outcome.NEW, "%,%"],
        )
        cursor.execute(
            f"INSERT INTO {tag_table} (customer_id, tag_id) SELECT r.customer_id, t.id FROM {staged} r "
            f"JOIN {q(Tag._meta.db_table)} t ON t.name = r.tag_names WHERE {single.format(column='r.tag_names')}",
            [lead_import.pk, Outcome.NEW, "%,%"],
        )
    several = new.filter(Q(course_ids__contains=",") | Q(tag_names__contains=","))
    planned = rows.filter(outcome=Outcome.UPDATED)
    links = [
        (customer_id, [int(pk) for pk in course_ids.split(",") if pk], [n for n in tag_names.split(",") if n])
        for customer_id, course_ids, tag_names in several.values_list(
            "customer_id", "course_ids", "tag_names"
        ).iterator()
    ]
    for customer_id, changes in planned.values_list("customer_id", "changes").iterator(chunk_size=BATCH):
        plan = json.loads(changes)
        if "courses" in plan or "tags" in plan:
            links.append((customer_id, plan.get("courses", []), plan.get("tags", [])))
        if len(links) >= BATCH:
            _insert_links(links, tag_ids, course_table, tag_table)
            links = []
    _insert_links(links, tag_ids, course_table, tag_table)


def _ensure_tags(names: set[str]) -> dict[str, int]:
    names.discard("")
    Tag.objects.bulk_create([Tag(name=name) for name in names], ignore_conflicts=True)
    return dict(Tag.objects.filter(name__in=names).values_list("name", "pk")) if names else {}


def _insert_links(links, tag_ids, course_table, tag_table) -> None:
    course_links = [(customer_id, pk) for customer_id, courses, _tags in links for pk in courses]
    tag_links = [(customer_id, tag_ids[name]) for customer_id, _courses, tags in links for name in tags]
    for table, column, pairs in ((course_table, "course_id", course_links), (tag_table, "tag_id", tag_links)):
        for batch in _batched(pairs, BATCH):
            values, params = _values(batch)
            _execute(f"INSERT INTO {table} (customer_id, {column}) {values} ON CONFLICT DO NOTHING", params)


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
