"""Phone numbers: one canonical form (E.164) so that every spelling of a number finds the same customer."""

import re

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

E164 = re.compile(r"\+[1-9]\d{5,14}")
INVALID_PHONE = _("Enter a valid phone number, e.g. 138 0013 8000 or +86 138 0013 8000.")


def normalize_phone(raw: str, region: str | None = None) -> str:
    """Return the E.164 form of `raw`, read in the school's default region; raise ValidationError if invalid."""
    text = (raw or "").strip()
    try:
        number = phonenumbers.parse(text, region or settings.PHONE_DEFAULT_REGION)
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
        value = super().get_prep_value(value)
        return try_normalize_phone(value) if value else value

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.attname)
        if value:
            value = try_normalize_phone(value)
            setattr(model_instance, self.attname, value)
        return value
