"""Phone numbers: one canonical form (E.164) so that every spelling of a number finds the same customer."""

import re
from functools import cache

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

E164 = re.compile(r"\+[1-9]\d{5,14}")
INVALID_PHONE = _("Enter a valid phone number, e.g. 138 0013 8000 or +86 138 0013 8000.")


SEPARATORS = re.compile(r"[\s\-().]")


@cache
def _mobile_plan(region: str):
    """The region's country code and mobile number pattern, from phonenumbers' own metadata."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.mobile is None or not metadata.mobile.national_number_pattern:
        return None
    pattern = re.compile(metadata.mobile.national_number_pattern)
    return str(metadata.country_code), pattern, set(metadata.mobile.possible_length)


def _normalize_mobile(text: str, region: str) -> str | None:
    """The common case without a full parse: a mobile of the default region, bare or after its country code.

    It accepts only what phonenumbers' mobile pattern for the region accepts, so the answer is the same as the
    full parse (a test compares them); anything else returns None and takes the full path.
    """
    plan = _mobile_plan(region)
    if plan is None:
        return None
    country_code, pattern, lengths = plan
    digits = SEPARATORS.sub("", text)
    for prefix in ("+" + country_code, "00" + country_code, country_code):
        if digits.startswith(prefix) and (prefix != country_code or len(digits) - len(prefix) in lengths):
            digits = digits[len(prefix) :]  # a bare country code counts only when a full mobile follows it
            break
    if digits.isdigit() and len(digits) in lengths and pattern.fullmatch(digits):
        return f"+{country_code}{digits}"
    return None


def normalize_phone(raw: str, region: str | None = None) -> str:
    """Return the E.164 form of `raw`, read in the school's default region; raise ValidationError if invalid."""
    text = (raw or "").strip()
    region = region or settings.PHONE_DEFAULT_REGION
    fast = _normalize_mobile(text, region)
    if fast:
        return fast
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise ValidationError(INVALID_PHONE, code="invalid_phone") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(INVALID_PHONE, code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def try_normalize_phone(raw: str) -> str:
    """The normalized form when `raw` is a valid number, else `raw` unchanged (for lookups and saves)."""
    if E164.fullmatch(raw):
        return raw  # already canonical, or invalid and so returned unchanged anyway: skip the parse
    try:
        return normalize_phone(raw)
    except ValidationError:
        return raw


def format_phone(e164: str) -> str:
    """A readable international form for display."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def dialable_phone(e164: str) -> str:
    """The number as it is dialled from the school's region (139 1111 4444; 00 1 202-555-0100 abroad).

    Spreadsheets keep it as text (it has spaces and never starts with "+"), and the importer reads it back.
    """
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_out_of_country_calling_number(number, settings.PHONE_DEFAULT_REGION)


def mask_phone(e164: str) -> str:
    """The number with its middle hidden (138****8000), for people who may not have it yet; the country code
    shows only for numbers outside the school's region."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return "****"
    digits = phonenumbers.national_significant_number(number)
    masked = f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 8 else f"****{digits[-2:]}"
    home = phonenumbers.country_code_for_region(settings.PHONE_DEFAULT_REGION)
    return masked if number.country_code == home else f"+{number.country_code} {masked}"


class PhoneNumberField(models.CharField):
    """A CharField that stores, validates and looks up phone numbers in E.164 form."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 32)  # room for typed spaces and dashes; stored form is shorter
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return value
        return normalize_phone(value)

    def get_prep_value(self, value):
        # Not CharField's, which runs to_python (validation) on every lookup and save: an invalid value in a
        # filter finds nothing instead of raising, and placeholders (an erased person's) can be stored.
        value = models.Field.get_prep_value(self, value)
        return try_normalize_phone(str(value)) if value else value

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.attname)
        if value:
            value = try_normalize_phone(value)
            setattr(model_instance, self.attname, value)
        return value
