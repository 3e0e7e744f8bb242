"""A 20,000-row lead file through `manage.py import_leads`, with repeats in the file and phones of existing
customers (the salesperson's own and a colleague's), on whichever database the suite runs.

It asserts outcomes, not time: a plan that grows with the square of the file (as the duplicate check once did on
PostgreSQL, about three minutes at this size) shows up as the suite running far past its usual time.
"""

import io

import pytest
from django.core.management import call_command

from crm.models import Customer, LeadImport
from crm.services import lead_import as service
from crm.services.leads import duplicate_phone_message

pytestmark = pytest.mark.django_db
ROWS = 20_000  # ten-row pattern below, repeated
SHARE = ROWS // 10


def own_phone(i: int) -> str:
    return f"+86135{i:08d}"


def their_phone(i: int) -> str:
    return f"+86136{i:08d}"


def write_file(path):
    """Each ten rows: six new leads, one own customer, one colleague's customer, one repeat of the own customer
    and one repeat of the first new lead (spelled differently). Own customers with an even number gain an email."""
    lines = ["name,phone,email"]
    for n in range(0, ROWS, 10):
        i = n // 10
        for k in range(10):
            number = n + k
            if k == 3:
                email = f"own{i}@example.com" if i % 2 == 0 else ""
                lines.append(f"Own again {i},{own_phone(i)[3:]},{email}")
            elif k == 6:
                lines.append(f"Theirs {i},{their_phone(i)},their{i}@example.com")
            elif k == 8:
                lines.append(f"Own repeated {i},{own_phone(i)},repeat{i}@example.com")
            elif k == 9:
                lines.append(f"New repeated {i},+86 137 {n:08d},new-repeat{i}@example.com")
            else:
                lines.append(f"New {number},137{number:08d},new{number}@example.com")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_large_file_with_repeats_and_existing_customers_imports_exactly_its_plan(tmp_path, sales, other_sales):
    Customer.objects.bulk_create(
        [Customer(name=f"Own {i}", phone=own_phone(i), consultant=sales) for i in range(SHARE)]
        + [Customer(name=f"Theirs {i}", phone=their_phone(i), consultant=other_sales) for i in range(SHARE)]
    )
    path = tmp_path / "leads.csv"
    write_file(path)
    out = io.StringIO()

    call_command("import_leads", str(path), consultant=sales.username, stdout=out, stderr=io.StringIO())

    done = LeadImport.objects.get()
    counts = (done.total, done.new, done.updated, done.unchanged, done.duplicate, done.invalid)
    assert counts == (ROWS, 6 * SHARE, SHARE // 2, SHARE // 2, 2 * SHARE, SHARE)
    assert f"Imported {6 * SHARE} new leads, updated {SHARE // 2}." in out.getvalue()

    # New leads: one customer per phone, the first row of a repeated phone wins.
    assert Customer.objects.count() == 2 * SHARE + 6 * SHARE
    assert Customer.objects.filter(consultant=sales).count() == SHARE + 6 * SHARE
    assert Customer.objects.get(phone="+8613700000000").name == "New 0"
    assert Customer.objects.get(phone=f"+86137{ROWS - 10:08d}").email == f"new{ROWS - 10}@example.com"
    assert not Customer.objects.filter(email__startswith="new-repeat").exists()

    # Own customers: empty emails filled from their first row only, names kept.
    own = Customer.objects.filter(phone__startswith="+86135")
    assert own.filter(email__startswith="own").count() == SHARE // 2
    assert not own.filter(email__startswith="repeat").exists()
    assert not own.exclude(name__startswith="Own ").exists()

    # A colleague's customers: untouched, and each row says whose customer it is without naming it.
    theirs = Customer.objects.filter(consultant=other_sales)
    assert theirs.count() == SHARE and not theirs.exclude(email="").exists()
    first_invalid = next(service.invalid_rows(done, limit=1))
    assert first_invalid == (8, "phone", duplicate_phone_message(theirs.first()))

    # Repeats point at the row they repeat; history has one record per customer the import touched.
    assert list(service.duplicate_rows(done, limit=2)) == [(10, 5, own_phone(0)), (11, 2, "+8613700000000")]
    history = Customer.history.filter(history_change_reason__contains=f"import {done.pk}")
    assert history.filter(history_type="+").count() == 6 * SHARE
    assert history.filter(history_type="~").count() == SHARE // 2
