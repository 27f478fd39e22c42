"""The rules of a contact's own values: email and phone in the form the send path uses, statuses, time zones, and
custom field values typed by their field. Pure checks (one query at most, to read the tenant's custom fields); the
writes are contacts.services'."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

import idna
from django.core.exceptions import ValidationError as DjangoValidationError

from accounts.models import User
from contacts.models import ContactStatus, CustomField
from messaging.validation import normalise_email, normalise_number
from xsender.errors import FieldError, ValidationFailed
from xsender.validators import validate_email

NAME_LIMIT = 255
TEXT_LIMIT = 255  # SendX: a text custom field holds at most 255 characters
TRUE, FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}

# Fast paths for the common shapes (an import checks a million of them): each accepts a subset of what the full
# check accepts, and returns what it would return; anything else takes the full check. An ASCII address whose
# local part is a dot-atom of plain characters and whose domain is LDH labels with a letters-only TLD (a subset
# of Django's validate_email, its IDNA step a no-op); a North American number already in E.164 (+1, an area
# code not starting with 0 or 1, ten digits: what phonenumbers reads as itself, checked over every area code in
# tests/contacts/test_values.py).
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", re.ASCII
)
_NANP_E164 = re.compile(r"\+1[2-9][0-9]{9}", re.ASCII)


def check_email(value: str, field: str = "email") -> str:
    """`value` lower case with an ASCII domain, or "" for none. Raises ValidationFailed naming `field`."""
    value = (value or "").strip()
    if not value:
        return ""
    if value.isascii() and len(value) <= 254 and _PLAIN_EMAIL.fullmatch(lower := value.lower()):
        return lower
    try:
        value = normalise_email(value)
        if len(value) > 254:
            raise ValueError
        validate_email(value)
    except (DjangoValidationError, ValueError, idna.IDNAError):
        raise ValidationFailed.single(field, f"{value!r} is not a valid email address.") from None
    return value


def check_phone(value: str, field: str = "phone") -> str:
    """`value` in E.164, or "" for none. Raises ValidationFailed naming `field`."""
    value = (value or "").strip()
    if not value:
        return ""
    if _NANP_E164.fullmatch(value):
        return value
    number = normalise_number(value)
    if number is None:
        raise ValidationFailed.single(field, f"{value!r} is not a phone number in international format.")
    return number


# Names the system's zone database holds that are not places: the host's own setting, and tzdata's placeholder.
NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


@cache
def _time_zones() -> dict[str, str]:
    """Every IANA time zone name the system knows, by its lower-case form (read once a process: an import checks
    a million values with one dict lookup each)."""
    return {name.lower(): name for name in zoneinfo.available_timezones() - NOT_ZONES}


def time_zone_names() -> list[str]:
    """Every IANA time zone name a contact may have, sorted (the panel's suggestions)."""
    return sorted(_time_zones().values())


def check_time_zone(value: Any, field: str = "time_zone") -> str:
    """`value` as the IANA name of a time zone spelled as the zone database does ("europe/paris" →
    "Europe/Paris"; a link such as "US/Eastern" stays as named), or "" for none (the server's zone). Raises
    ValidationFailed naming `field`."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationFailed.single(field, "Enter a time zone name such as Europe/Paris.")
    value = value.strip()
    if not value:
        return ""
    name = _time_zones().get(value.lower())
    if name is None:
        raise ValidationFailed.single(
            field, f"{value[:64]!r} is not a time zone; use an IANA name such as Europe/Paris."
        )
    return name


def check_status(value: str, field: str) -> str:
    if value not in ContactStatus.values:
        raise ValidationFailed.single(field, f"Unknown status {value!r}; use one of {', '.join(ContactStatus.values)}.")
    return value


def check_name(value: str, field: str = "name") -> str:
    value = (value or "").strip()
    if not value or len(value) > NAME_LIMIT:
        raise ValidationFailed.single(field, f"Enter 1 to {NAME_LIMIT} characters.")
    return value


def check_text(value: Any, field: str) -> str:
    if not isinstance(value, str) or len(value) > NAME_LIMIT:
        raise ValidationFailed.single(field, f"Enter at most {NAME_LIMIT} characters.")
    return value.strip()


# ---------------------------------------------------------------- custom field values


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int | float):
        number = Decimal(str(value))
    else:
        number = Decimal(str(value).strip())  # InvalidOperation is an ArithmeticError, caught below
    if not number.is_finite():
        raise ValueError
    return int(number) if number == number.to_integral_value() else float(number)


def _date(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if len(text) != 10:  # fromisoformat also takes 20240115; the spec says YYYY-MM-DD
        raise ValueError
    return date.fromisoformat(text).isoformat()


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE | FALSE:
        return text in TRUE
    raise ValueError


def _text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError
    text = str(value)
    if len(text) > TEXT_LIMIT:
        raise ValueError
    return text


def _phone(value: Any) -> str:
    number = normalise_number(str(value))
    if number is None:
        raise ValueError
    return number


PARSERS = {
    CustomField.Type.TEXT: (_text, f"Enter text of at most {TEXT_LIMIT} characters."),
    CustomField.Type.NUMBER: (_number, "Enter a number."),
    CustomField.Type.DATE: (_date, "Enter a date as YYYY-MM-DD."),
    CustomField.Type.BOOLEAN: (_boolean, "Enter true or false."),
    CustomField.Type.PHONE: (_phone, "Enter a phone number in international format."),
}


def typed_value(field: CustomField, value: Any) -> Any:
    """`value` as `field` stores it; ValueError when it does not fit the field's type."""
    if field.type == CustomField.Type.CHOICE:
        if not isinstance(value, str) or value not in field.choices:
            raise ValueError
        return value
    parse, _ = PARSERS[CustomField.Type(field.type)]
    try:
        return parse(value)
    except (ArithmeticError, TypeError):
        raise ValueError from None


def value_error(field: CustomField) -> str:
    if field.type == CustomField.Type.CHOICE:
        return f"Choose one of {', '.join(field.choices)}."
    return PARSERS[CustomField.Type(field.type)][1]


def check_custom(
    *, owner: User, values: Mapping[str, Any], fields: Iterable[CustomField] | None = None
) -> dict[str, Any]:
    """`values` keyed by each field's public id, typed by the field; a key may be the field's public id or its
    name, and a value of None or "" removes it (kept as None in the result). Raises ValidationFailed naming every
    unknown field or bad value as `custom.<key as given>`. One query (the tenant's fields) unless `fields` given."""
    if not values:
        return {}
    known = list(fields) if fields is not None else list(CustomField.objects.for_tenant(owner))
    by_key = {f.public_id: f for f in known} | {f.name: f for f in known}
    typed: dict[str, Any] = {}
    errors: list[FieldError] = []
    for key, value in values.items():
        field = by_key.get(key)
        if field is None:
            errors.append({"field": f"custom.{key}", "message": f"Unknown custom field {key!r}."})
        elif value is None or value == "":
            typed[field.public_id] = None
        else:
            try:
                typed[field.public_id] = typed_value(field, value)
            except ValueError:
                errors.append({"field": f"custom.{key}", "message": value_error(field)})
    if errors:
        raise ValidationFailed(errors, message=errors[0]["message"])
    return typed


def merged_custom(stored: Mapping[str, Any], typed: Mapping[str, Any]) -> dict[str, Any]:
    """`stored` with `typed` applied: a None removes its key."""
    merged = {**stored, **typed}
    return {key: value for key, value in merged.items() if value is not None}
