"""Mainland China resident ID numbers (GB 11643): format, birth date and check digit."""

import datetime
import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK_CHARS = "10X98765432"
FORMAT = re.compile(r"[0-9]{17}[0-9X]")

BAD_FORMAT = _("A mainland ID number has 18 characters: 17 digits and a last digit or X.")
BAD_DATE = _("The birth date inside this ID number is not a real date.")
BAD_CHECKSUM = _("This ID number's last character does not match the others: please check it for a typo.")


def validate_mainland_id(value: str) -> str:
    """The ID number in upper case if valid; ValidationError in words otherwise."""
    # Full-width digits typed on a Chinese keyboard count; other scripts' digits do not.
    number = unicodedata.normalize("NFKC", value or "").strip().upper()
    if not FORMAT.fullmatch(number):
        raise ValidationError(BAD_FORMAT, code="format")
    try:
        birth = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(BAD_DATE, code="date") from None
    if not datetime.date(1900, 1, 1) <= birth <= timezone.localdate():
        raise ValidationError(BAD_DATE, code="date")
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], WEIGHTS, strict=True))
    if CHECK_CHARS[total % 11] != number[17]:
        raise ValidationError(BAD_CHECKSUM, code="checksum")
    return number


def birth_date(number: str) -> datetime.date:
    return datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def mask_id_number(number: str) -> str:
    """An ID number for those who may not see it whole: its first and last four characters."""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]
