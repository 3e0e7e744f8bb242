"""Counts kept on write, so the dashboard reads a few thousand rows however many leads and payments there are.

Each tally is kept by database triggers on the table it counts (its `Rule`), so every writer keeps it exact: the
services, the set-based import and pool SQL, a queryset update, a delete alike. On PostgreSQL they are statement
triggers over transition tables (a set-based INSERT of 100,000 rows is one grouped upsert); on SQLite row
triggers. `install_tallies` (re)creates them and recounts every tally from its rows, after every migrate and
flush. 0 stands for "none" in a key (no owner: the pool; no campus), so keys are unique without NULLs.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from .leads import CAN_BE_LATE, WORKED_ON, Customer

# SQL over one row of the counted table, named in the SQL as `row` (NEW, OLD or an alias): column -> expression.
RowSQL = Callable[[object, str], dict[str, str]]


@dataclass(frozen=True)
class Rule:
    """How a tally follows the table it counts: what one counted row adds, under which key."""

    name: str  # its triggers' (and PostgreSQL functions') prefix
    tally: str  # the tally's table
    source: str  # the table it counts
    key: RowSQL  # tally key column -> its value for a row
    adds: RowSQL  # tally count column -> what a row adds to it
    counted: Callable[[str], str]  # which rows count at all (SQL condition)


def _month_of(connection, column: str) -> str:
    """SQL for the first day of the month of `column` in the school's time zone (as TruncMonth reads it)."""
    zone = settings.TIME_ZONE
    if connection.vendor == "postgresql":
        return f"date_trunc('month', {column} AT TIME ZONE '{zone}')::date"
    # Django registers this function on every SQLite connection it opens (the ORM's TruncMonth calls it too).
    return f"date(django_datetime_trunc('month', {column}, '{zone}', 'UTC'))"


def _cents(connection, column: str) -> str:
    """SQL for a money column in whole cents: sums of integers stay exact (SQLite keeps decimals as floats)."""
    if connection.vendor == "postgresql":
        return f"ROUND({column} * 100)::bigint"
    return f"CAST(ROUND({column} * 100) AS INTEGER)"


def _sql_list(values) -> str:
    return ", ".join(f"'{value}'" for value in values)


class LeadTally(models.Model):
    """How many leads came in each month (the school's time zone), per owner, campus and source, in each status.

    The dashboard's lead figures sum these rows instead of grouping every lead. One column per status
    (STATUS_COLUMNS) keeps the rows four times fewer.
    """

    month = models.DateField(_("month"))
    owner = models.BigIntegerField(_("owner"), default=0)
    branch = models.BigIntegerField(_("campus"), default=0)
    source = models.CharField(_("source"), max_length=16)
    new_leads = models.IntegerField(_("new"), default=0)
    following_leads = models.IntegerField(_("following"), default=0)
    enrolled_leads = models.IntegerField(_("enrolled"), default=0)
    lost_leads = models.IntegerField(_("lost"), default=0)

    class Meta:
        verbose_name = _("lead tally")
        verbose_name_plural = _("lead tallies")
        constraints = [models.UniqueConstraint(fields=["month", "owner", "branch", "source"], name="lead_tally_key")]
        indexes = [models.Index(fields=["owner", "month"], name="lead_tally_owner")]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.owner} {self.branch} {self.source}"


# Customer status -> its LeadTally column.
STATUS_COLUMNS = {status: f"{status}_leads" for status in Customer.Status.values}

LEADS = Rule(
    name="crm_lead_tally",
    tally="crm_leadtally",
    source="crm_customer",
    key=lambda connection, row: {
        "month": _month_of(connection, f"{row}.created_at"),
        "owner": f"COALESCE({row}.consultant_id, 0)",
        "branch": f"COALESCE({row}.branch_id, 0)",
        "source": f"{row}.source",
    },
    adds=lambda connection, row: {
        column: f"CASE WHEN {row}.status = '{status}' THEN 1 ELSE 0 END" for status, column in STATUS_COLUMNS.items()
    },
    counted=lambda row: "true",
)


class DueTally(models.Model):
    """How many leads in use have their next follow-up on each day, per owner: those that can be late (new or
    following) and enrolled ones (whose call counts on its day, never as late). "Due today" is one day's row per
    owner, "overdue" a sum over the past days' rows: as exact as the days go by, with nothing to recount."""

    day = models.DateField(_("day"))
    owner = models.BigIntegerField(_("owner"), default=0)
    can_be_late = models.IntegerField(_("new or following"), default=0)
    enrolled = models.IntegerField(_("enrolled"), default=0)

    class Meta:
        verbose_name = _("follow-up tally")
        verbose_name_plural = _("follow-up tallies")
        constraints = [models.UniqueConstraint(fields=["owner", "day"], name="due_tally_key")]

    def __str__(self):
        return f"{self.day} {self.owner}"


DUE = Rule(
    name="crm_due_tally",
    tally="crm_duetally",
    source="crm_customer",
    key=lambda connection, row: {"day": f"{row}.next_follow_up", "owner": f"COALESCE({row}.consultant_id, 0)"},
    adds=lambda connection, row: {
        "can_be_late": f"CASE WHEN {row}.status IN ({_sql_list(CAN_BE_LATE)}) THEN 1 ELSE 0 END",
        "enrolled": f"CASE WHEN {row}.status = '{Customer.Status.ENROLLED}' THEN 1 ELSE 0 END",
    },
    counted=lambda row: (
        f"{row}.archived_at IS NULL AND {row}.next_follow_up IS NOT NULL AND {row}.status IN ({_sql_list(WORKED_ON)})"
    ),
)


class PaymentTally(models.Model):
    """How many payments were made each month (the school's time zone) for each course, and their sum in cents."""

    month = models.DateField(_("month"))
    course = models.BigIntegerField(_("course"))
    payments = models.IntegerField(_("payments"), default=0)
    cents = models.BigIntegerField(_("amount in cents"), default=0)

    class Meta:
        verbose_name = _("payment tally")
        verbose_name_plural = _("payment tallies")
        constraints = [models.UniqueConstraint(fields=["month", "course"], name="payment_tally_key")]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.course}"


PAYMENTS = Rule(
    name="crm_payment_tally",
    tally="crm_paymenttally",
    source="crm_payment",
    key=lambda connection, row: {"month": _month_of(connection, f"{row}.paid_at"), "course": f"{row}.course_id"},
    adds=lambda connection, row: {"payments": "1", "cents": _cents(connection, f"{row}.amount")},
    counted=lambda row: "true",
)

RULES = [LEADS, DUE, PAYMENTS]


# --- the triggers ----------------------------------------------------------------------------------------------


def _deltas(rule: Rule, connection, row: str, sign: str, source: str = "") -> str:
    """The rows `row` of `source` (none: a trigger's NEW or OLD) as tally deltas of `sign`."""
    key = [f"{sql} AS {column}" for column, sql in rule.key(connection, row).items()]
    adds = [f"{sign} * ({sql}) AS {column}" for column, sql in rule.adds(connection, row).items()]
    origin = f" FROM {source} {row}" if source else ""
    return f"SELECT {', '.join(key + adds)}{origin} WHERE {rule.counted(row)}"


def _columns(rule: Rule, connection) -> tuple[list[str], list[str]]:
    return list(rule.key(connection, "r")), list(rule.adds(connection, "r"))


def _grouped(rule: Rule, connection, deltas: str) -> str:
    key, adds = _columns(rule, connection)
    sums = ", ".join(f"SUM({column})" for column in adds)
    changed = " OR ".join(f"SUM({column}) <> 0" for column in adds)
    # In key order: concurrent statements then lock the tally rows they share in the same order, never crosswise.
    grouped = f"GROUP BY {', '.join(key)} HAVING {changed} ORDER BY {', '.join(key)}"
    return f"SELECT {', '.join(key)}, {sums} FROM ({deltas}) changes {grouped}"


def _upsert(rule: Rule, connection, rows: str) -> str:
    key, adds = _columns(rule, connection)
    added = ", ".join(f"{column} = {rule.tally}.{column} + excluded.{column}" for column in adds)
    return (
        f"INSERT INTO {rule.tally} ({', '.join(key + adds)}) {rows} "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {added}"
    )


def _trigger(rule: Rule, event: str) -> str:
    return f"{rule.name}_{event}"


def _postgresql_triggers(rule: Rule, connection) -> list[str]:
    new = _deltas(rule, connection, "n", "1", "new_rows")
    old = _deltas(rule, connection, "o", "-1", "old_rows")
    bodies = {
        "insert": (new, "REFERENCING NEW TABLE AS new_rows"),
        "update": (f"{old} UNION ALL {new}", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        "delete": (old, "REFERENCING OLD TABLE AS old_rows"),
    }
    statements = []
    for event, (deltas, referencing) in bodies.items():
        name = _trigger(rule, event)
        statements += [
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {_upsert(rule, connection, _grouped(rule, connection, deltas))}; RETURN NULL; END $$",
            # Replaced, not dropped: DROP TRIGGER would hold off the table's readers too until the recount commits.
            f"CREATE OR REPLACE TRIGGER {name} AFTER {event.upper()} ON {rule.source} {referencing} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()",
        ]
    return statements


def read_columns(rule: Rule, connection) -> list[str]:
    """The columns of the counted table that the rule reads: an UPDATE of no other column moves a row."""
    sql = _deltas(rule, connection, "NEW", "1")
    return sorted(set(re.findall(r"\bNEW\.(\w+)", sql)))


def _sqlite_triggers(rule: Rule, connection) -> list[str]:
    def upsert(row: str, sign: str) -> str:
        return _upsert(rule, connection, _deltas(rule, connection, row, sign)) + ";"

    watched = ", ".join(read_columns(rule, connection))
    bodies = {
        "insert": ("AFTER INSERT", upsert("NEW", "1")),
        "update": (f"AFTER UPDATE OF {watched}", upsert("OLD", "-1") + " " + upsert("NEW", "1")),
        "delete": ("AFTER DELETE", upsert("OLD", "-1")),
    }
    statements = []
    for event, (when, body) in bodies.items():
        statements += [
            f"DROP TRIGGER IF EXISTS {_trigger(rule, event)}",
            f"CREATE TRIGGER {_trigger(rule, event)} {when} ON {rule.source} BEGIN {body} END",
        ]
    return statements


def drop_tally_triggers(connection, prefix: str, source: str) -> None:
    """Drop the triggers named `prefix` on `source` (migrating back)."""
    with connection.cursor() as cursor:
        for event in ("insert", "update", "delete"):
            name = f"{prefix}_{event}"
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {source}")
                cursor.execute(f"DROP FUNCTION IF EXISTS {name}()")
            else:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def install_tallies(connection) -> None:
    """(Re)create every tally's triggers for the current time zone and recount it from its rows, with writers held
    off meanwhile: run after every migrate or flush (crm.apps), so each is exact from then on."""
    tables = set(connection.introspection.table_names())
    triggers = _postgresql_triggers if connection.vendor == "postgresql" else _sqlite_triggers
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        for rule in RULES:
            if rule.tally not in tables:
                continue  # migrated back to before it
            if connection.vendor == "postgresql":
                cursor.execute(f"LOCK TABLE {rule.source} IN SHARE ROW EXCLUSIVE MODE")
            for statement in triggers(rule, connection):
                cursor.execute(statement)
            cursor.execute(f"DELETE FROM {rule.tally}")
            every_row = _deltas(rule, connection, "r", "1", rule.source)
            key, adds = _columns(rule, connection)
            cursor.execute(
                f"INSERT INTO {rule.tally} ({', '.join(key + adds)}) {_grouped(rule, connection, every_row)}"
            )
