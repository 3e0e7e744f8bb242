"""Importing leads: a preview turns a file into a plan, row by row; confirming applies exactly that plan.

Why not django-import-export's row loop: it saves one row at a time (about 800 rows/s here) and matches rows
against the whole table. This importer streams the file in batches, validates in Python, stages the rows in
`LeadImportRow`, classifies them with set-based SQL (duplicates in the file, existing customers, customers of
others) and writes new customers, their history and their links with INSERT … SELECT. Memory stays flat
however long the file is, and on any failure the transaction leaves nothing behind.
"""

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import cycle, islice

from django.conf import settings
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
EXISTING = [Outcome.UPDATED, Outcome.UNCHANGED]  # rows of customers already in the table
IMPORTED = [Outcome.NEW, Outcome.UPDATED]  # rows that confirming writes
# Raw SQL below names these tables as they are: plain lowercase names need no quotes.
STAGING = LeadImportRow._meta.db_table
CUSTOMERS = Customer._meta.db_table
COURSE_LINKS = Customer.consult_courses.through._meta.db_table
TAG_LINKS = Customer.tags.through._meta.db_table
TAGS = Tag._meta.db_table
# A staged row and its customer once confirmed. Found by phone, the key classifying matched on: new customers'
# ids are not written back to their rows (an UPDATE of every new row, which took nearly as long as inserting them).
ROW_CUSTOMERS = f"{STAGING} s JOIN {CUSTOMERS} c ON c.phone = s.phone"
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
    check_may_import(by, owner_mode, consultant)
    lead_file = open_lead_file(upload)  # judges the whole file before anything is stored
    cleaner = RowCleaner(by, owner_mode, consultant)
    name = file_name(upload, name)
    with transaction.atomic():
        lead_import = LeadImport.objects.create(
            **described(lead_file, by=by, owner_mode=owner_mode, consultant=consultant, name=name)
        )
        for batch in _batched(lead_file.rows(), BATCH):
            stage(lead_import, cleaner, batch)
            if progress:
                progress(batch[-1][0] - 1)  # data rows read so far
        judge(lead_import, by)
        upload.seek(0)  # kept for the record, once the stream has been read to its end
        lead_import.file.save(name, File(upload), save=False)
        count(lead_import)
    return lead_import


def check_may_import(by, owner_mode: str, consultant) -> None:
    if not by.has_perm("crm.import_customer"):
        raise PermissionDenied(NOT_ALLOWED)
    if owner_mode != OwnerMode.IMPORTER and not by.has_perm("crm.reassign_customer"):
        raise PermissionDenied(NOT_ALLOWED_TO_ASSIGN)
    if owner_mode == OwnerMode.CHOSEN and consultant is None:
        raise ImportRefused(CHOOSE_CONSULTANT)


def file_name(upload, name: str | None) -> str:
    return (name or getattr(upload, "name", None) or "leads")[:255]


def described(lead_file, *, by, owner_mode: str, consultant, name: str) -> dict:
    """A new import's fields: who imports which file, read how, and who will own its new leads."""
    return dict(
        created_by=by,
        original_name=name,
        file_format=lead_file.format,
        encoding=lead_file.encoding,
        owner_mode=owner_mode,
        chosen_consultant=consultant if owner_mode == OwnerMode.CHOSEN else None,
        unknown_columns=lead_file.unknown_columns,
    )


def stage(lead_import: LeadImport, cleaner: "RowCleaner", batch: list[tuple[int, tuple[str, ...]]]) -> None:
    """One batch of the file's (row number, cells), judged row by row and staged."""
    _stage(lead_import, (cleaner.clean(number, values) for number, values in batch))


def judge(lead_import: LeadImport, by) -> None:
    """Classify the staged rows against each other and the customers (in the caller's transaction)."""
    _skip_jit()
    _analyze_staging()
    _classify(lead_import, by)


class RowCleaner:
    """Validates one row's cells into the values to stage, with each problem named by column."""

    def __init__(self, by, owner_mode, consultant):
        self.sources = {}
        for value, label in Customer.Source.choices:
            for key in (value, str(label), _gettext_zh(label), *SOURCE_ALIASES.get(value, ())):
                self.sources[key.casefold()] = value
        self.source_names = ", ".join(str(label) for _value, label in Customer.Source.choices)
        self.courses = {name.casefold(): pk for pk, name in Course.objects.values_list("pk", "name")}
        # A file repeats a few course cells over and over: each is judged once.
        self.course_cell = lru_cache(maxsize=1024)(self._course_cell)
        self.region = settings.PHONE_DEFAULT_REGION
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
                phone = normalize_phone(phone, self.region)
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
            course_ids, unknown = self.course_cell(courses)
            errors.extend(("courses", UNKNOWN_COURSE % {"value": course}) for course in unknown)
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

    def _course_cell(self, cell: str) -> tuple[str, tuple[str, ...]]:
        """The cell's course ids as staged ("3,5") and the names in it that are no course."""
        ids, unknown = [], []
        for course in split_list(cell):
            pk = self.courses.get(course.casefold())
            if pk is None:
                unknown.append(course)
            elif pk not in ids:
                ids.append(pk)
        return ",".join(map(str, ids)), tuple(unknown)

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
    pk = lead_import.pk
    _bulk_insert(STAGING, ["lead_import_id", *_STAGED], ((pk, *row) for row in rows))


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


def _skip_jit() -> None:
    """No JIT compiling for the rest of the transaction (PostgreSQL only). The planner prices the classifying
    statement's per-row subqueries high enough to compile it, and compiling took longer than running it (0.5 s
    of 0.7 s at 50,000 rows); these statements run once, so compiled code never pays back."""
    if connection.vendor == "postgresql":
        _execute("SET LOCAL jit = off", [])


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
    # One pass finds the valid rows that are not new after all and judges them: repeats of an earlier valid row's
    # phone (a window finds each phone's first row in one sort; a correlated EXISTS per row was quadratic), and
    # rows of existing customers, matched by the normalized phone, as updating their customer or not. Only those
    # rows are rewritten.
    _execute(
        f"UPDATE {STAGING} AS s SET "
        f"outcome = CASE WHEN r.row_number > r.first_row THEN %s WHEN {_changes_customer()} THEN %s ELSE %s END, "
        f"first_row_number = CASE WHEN r.row_number > r.first_row THEN r.first_row END, "
        f"customer_id = CASE WHEN r.row_number = r.first_row THEN c.id END, "
        f"seen_updated_at = CASE WHEN r.row_number = r.first_row THEN c.updated_at END "
        f"FROM (SELECT w.id, w.row_number, w.phone, MIN(w.row_number) OVER (PARTITION BY w.phone) AS first_row "
        f"FROM {STAGING} w WHERE w.lead_import_id = %s AND w.outcome = %s) r "
        f"LEFT JOIN {CUSTOMERS} c ON c.phone = r.phone "
        f"WHERE s.id = r.id AND (r.row_number > r.first_row OR c.id IS NOT NULL)",
        [Outcome.DUPLICATE, Outcome.UPDATED, Outcome.UNCHANGED, lead_import.pk, Outcome.NEW],
    )
    if not access.sees_all_customers(by):
        _refuse_customers_of_others(rows, by)
    _refuse_taken_contacts(lead_import)


def _fills(field: str) -> str:
    """SQL: the staged row `s` gives its existing customer `c` a value for the empty `field`. The one rule for the
    preview's plan and the confirmation's writes; a contact already another customer's is left empty rather than
    failing the import."""
    sql = f"s.{field} <> '' AND c.{field} = ''"
    if field in UNIQUE_CONTACTS:  # "NOT (o.… = '')", the partial unique index's own words, lets SQLite use it too
        sql += f" AND NOT EXISTS (SELECT 1 FROM {CUSTOMERS} o WHERE o.{field} = s.{field} AND NOT (o.{field} = ''))"
    return sql


def _changes_customer() -> str:
    """SQL: the staged row `s` would change its existing customer `c`: an empty field or campus filled, or a course
    or tag it lacks (fewer of the row's listed ones linked than it lists)."""
    linked_courses = f"SELECT COUNT(*) FROM {COURSE_LINKS} l WHERE l.customer_id = c.id AND " + _listed(
        "s.course_ids", "CAST(l.course_id AS TEXT)"
    )
    linked_tags = (
        f"SELECT COUNT(*) FROM {TAG_LINKS} l JOIN {TAGS} t ON t.id = l.tag_id WHERE l.customer_id = c.id AND "
        + _listed("s.tag_names", "t.name")
    )
    return " OR ".join(
        [
            *(f"({_fills(field)})" for field in FILLABLE),
            "(s.branch_id IS NOT NULL AND c.branch_id IS NULL)",
            f"(s.course_ids <> '' AND ({linked_courses}) < {_list_length('s.course_ids')})",
            f"(s.tag_names <> '' AND ({linked_tags}) < {_list_length('s.tag_names')})",
        ]
    )


def _listed(items: str, item: str) -> str:
    """SQL: `item` is one of the comma-separated `items`. REPLACE finds it alike on every database, where LIKE
    would read % and _ in a tag's name as wildcards."""
    return f"REPLACE(',' || {items} || ',', ',' || {item} || ',', '') <> ',' || {items} || ','"


def _list_length(items: str) -> str:
    """SQL: how many names the non-empty comma-separated `items` lists (the cleaner lists each once)."""
    return f"LENGTH({items}) - LENGTH(REPLACE({items}, ',', '')) + 1"


def _refuse_customers_of_others(rows, by) -> None:
    """A salesperson's file can neither see nor touch a colleague's customer: the row says whose it is."""
    visible = access.visible_customers(by).filter(pk=OuterRef("customer_id"))
    # NOT EXISTS: an anti-join, never a row-by-row NOT IN.
    foreign = rows.filter(outcome__in=EXISTING).filter(~Exists(visible))
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
        seen_updated_at=None,
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
            f"FROM {STAGING} WHERE lead_import_id = %s AND outcome IN (%s, %s, %s) AND {field} <> '') c "
            f"WHERE {STAGING}.id = c.id AND c.outcome = %s AND c.row_number > c.first_row",
            [Outcome.INVALID, f"{label}\t{before}", after, lead_import.pk, Outcome.NEW, *EXISTING, Outcome.NEW],
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


def count(lead_import: LeadImport) -> None:
    """Store the outcome counts on the import (saving it whole)."""
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
            apply_plan(lead_import, by)
    except IntegrityError as error:
        raise ImportRefused(CONFLICT % {"error": error}) from None
    lead_import.refresh_from_db()
    return lead_import


def apply_plan(lead_import: LeadImport, by) -> None:
    """Write what the preview planned, in the caller's transaction; ImportRefused if the customers changed since."""
    _skip_jit()
    _check_still_valid(lead_import)
    _apply(lead_import, by)


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
    _insert_new_customers(lead_import, now)
    _fill_existing(lead_import, now)
    _link_courses_and_tags(lead_import)
    reason = gettext("Imported from %(file)s (import %(id)s)") % {
        "file": lead_import.original_name,
        "id": lead_import.pk,
    }
    _record_history(lead_import, now, reason, by)


def _insert_new_customers(lead_import: LeadImport, now) -> None:
    """INSERT … SELECT from the staged rows: one statement however many leads are new."""
    copied = ["name", "phone", "qq", "wechat", "email", "source", "content", "consultant_id", "branch_id"]
    _execute(
        f"INSERT INTO {CUSTOMERS} ({', '.join(copied)}, status, created_at, updated_at, assigned_at) "
        f"SELECT {', '.join(copied)}, %s, %s, %s, %s FROM {STAGING} WHERE lead_import_id = %s AND outcome = %s",
        [Customer.Status.NEW, now, now, now, lead_import.pk, Outcome.NEW],
    )


def _fill_existing(lead_import: LeadImport, now) -> None:
    """One statement fills what the preview planned, by the preview's own rule (`_fills`): the customers are as the
    preview saw them (`_check_still_valid`), so the plan is the same."""
    assignments = ", ".join(f"{f} = CASE WHEN {_fills(f)} THEN s.{f} ELSE c.{f} END" for f in FILLABLE)
    _execute(
        f"UPDATE {CUSTOMERS} AS c SET {assignments}, branch_id = COALESCE(c.branch_id, s.branch_id), updated_at = %s "
        f"FROM {STAGING} s WHERE c.id = s.customer_id AND s.lead_import_id = %s AND s.outcome = %s",
        [now, lead_import.pk, Outcome.UPDATED],
    )


def _link_courses_and_tags(lead_import: LeadImport) -> None:
    """Each new or updated customer gets the row's courses and tags that it lacks. A single course or tag per row,
    the usual case, goes set-based (NOT EXISTS skips a link it has: a fifth cheaper than ON CONFLICT here); lists
    of them through Python."""
    rows = lead_import.rows.order_by().filter(outcome__in=IMPORTED)  # unordered: DISTINCT below is over names alone
    tag_lists = rows.exclude(tag_names="").values_list("tag_names", flat=True).distinct()
    tag_ids = _ensure_tags({name for names in tag_lists for name in names.split(",")})
    single = "s.lead_import_id = %s AND s.outcome IN (%s, %s) AND {column} <> '' AND {column} NOT LIKE %s"
    params = [lead_import.pk, *IMPORTED, "%,%"]
    _execute(
        f"INSERT INTO {COURSE_LINKS} (customer_id, course_id) SELECT c.id, CAST(s.course_ids AS INTEGER) "
        f"FROM {ROW_CUSTOMERS} WHERE {single.format(column='s.course_ids')} AND NOT EXISTS (SELECT 1 FROM "
        f"{COURSE_LINKS} l WHERE l.customer_id = c.id AND l.course_id = CAST(s.course_ids AS INTEGER))",
        params,
    )
    _execute(
        f"INSERT INTO {TAG_LINKS} (customer_id, tag_id) SELECT c.id, t.id FROM {ROW_CUSTOMERS} "
        f"JOIN {TAGS} t ON t.name = s.tag_names WHERE {single.format(column='s.tag_names')} "
        f"AND NOT EXISTS (SELECT 1 FROM {TAG_LINKS} l WHERE l.customer_id = c.id AND l.tag_id = t.id)",
        params,
    )
    several = rows.filter(Q(course_ids__contains=",") | Q(tag_names__contains=","))
    customer = Customer.objects.filter(phone=OuterRef("phone")).order_by().values("pk")
    listed = several.values_list(Subquery(customer), "course_ids", "tag_names").iterator(chunk_size=BATCH)
    for batch in _batched(listed, BATCH):
        _insert_links(
            COURSE_LINKS, "course_id", [(pk, int(c)) for pk, courses, _t in batch for c in courses.split(",") if c]
        )
        _insert_links(TAG_LINKS, "tag_id", [(pk, tag_ids[t]) for pk, _c, tags in batch for t in tags.split(",") if t])


def _ensure_tags(names: set[str]) -> dict[str, int]:
    names.discard("")
    Tag.objects.bulk_create([Tag(name=name) for name in names], ignore_conflicts=True)
    return dict(Tag.objects.filter(name__in=names).values_list("name", "pk")) if names else {}


def _insert_links(table: str, column: str, pairs: list[tuple[int, int]]) -> None:
    if pairs:
        values, params = _values(pairs)
        _execute(f"INSERT INTO {table} (customer_id, {column}) {values} ON CONFLICT DO NOTHING", params)


def _record_history(lead_import: LeadImport, now, reason: str, by) -> None:
    """One history row per new ("+") or updated ("~") customer, copied by INSERT … SELECT, with who imported it and
    from which file."""
    history = Customer.history.model
    q = connection.ops.quote_name
    kept = {f.attname for f in history._meta.concrete_fields}  # the history's copy leaves some fields out
    tracked = [f.column for f in Customer._meta.concrete_fields if f.attname in kept]
    extra = ["history_date", "history_change_reason", "history_type", "history_user_id"]
    columns = ", ".join(q(c) for c in [*tracked, *extra])
    selected = ", ".join(f"c.{q(c)}" for c in tracked)
    _execute(
        f"INSERT INTO {q(history._meta.db_table)} ({columns}) "
        f"SELECT {selected}, %s, %s, CASE WHEN s.outcome = %s THEN '+' ELSE '~' END, %s FROM {ROW_CUSTOMERS} "
        f"WHERE s.lead_import_id = %s AND s.outcome IN (%s, %s)",
        [now, reason, Outcome.NEW, by.pk, lead_import.pk, *IMPORTED],
    )


# ------------------------------------------------------------------------------------------------------------


CANCELLABLE = [
    LeadImport.Status.QUEUED,
    LeadImport.Status.READING,
    LeadImport.Status.PREVIEWED,
    LeadImport.Status.FAILED,
]


def lead_import_cancel(*, lead_import: LeadImport, by) -> bool:
    """Drop an import that will not be confirmed (its staged rows go with it); a worker reading it stops at its
    next batch. An import being confirmed (or done) is past cancelling: False then, and nothing changes."""
    if lead_import.created_by_id != by.pk:
        raise PermissionDenied(NOT_YOUR_IMPORT)
    with transaction.atomic():
        cancelled = LeadImport.objects.filter(pk=lead_import.pk, status__in=CANCELLABLE).update(
            status=LeadImport.Status.CANCELLED
        )
        if cancelled:
            lead_import.rows.all().delete()
    return bool(cancelled)


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
