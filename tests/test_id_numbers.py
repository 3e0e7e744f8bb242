"""Mainland ID numbers: format, birth date and check digit, as people type them."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from crm.id_numbers import birth_date, validate_mainland_id


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("11010519491231002X", "11010519491231002X"),
        ("11010519491231002x", "11010519491231002X"),
        (" 11010519491231002X ", "11010519491231002X"),
        ("１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"),  # full-width, from a Chinese keyboard
    ],
)
def test_valid_numbers_are_stored_in_one_form(typed, stored):
    assert validate_mainland_id(typed) == stored
    assert birth_date(stored) == datetime.date(1949, 12, 31)


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("110105194912310021", "does not match"),  # wrong check digit
        ("11010519491331002X", "not a real date"),  # 13th month
        ("11010521491231002X", "not a real date"),  # born in the future
        ("1101051949123100", "18 characters"),
        ("²1010519491231002X", "does not match"),  # read as 2 (NFKC), so the check digit catches it
        ("١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", "18 characters"),  # neither are other scripts' digits
    ],
)
def test_invalid_numbers_are_refused_in_words(typed, reason):
    with pytest.raises(ValidationError, match=reason):
        validate_mainland_id(typed)
