"""Validation of send items: pure functions, no database. Every error names its field (`contact.2.number`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils import timezone

from messaging.segments import sms_segments

SMS_TYPES = ("plain", "otp", "marketing")
WHATSAPP_MEDIA = ("image", "video", "audio", "document")
ATTACHMENT_TYPES = ("image", "file")
SCHEDULE_FORMAT = "%Y-%m-%d %H:%M:%S"
MAX_ATTACHMENTS = 10
LIMITS = {"subject": 998, "message": 1_000_000, "sender_name": 150, "body": 1600, "wa_message": 4096, "url": 2048}


@dataclass
class Item:
    """One validated recipient, normalised (E.164 numbers, lower-case emails, aware schedule_at)."""

    recipient: str
    body: str
    subject: str = ""
    sender_name: str = ""
    sms_type: str = ""
    media: str = ""
    media_url: str = ""
    attachments: list[dict[str, str]] = field(default_factory=list)
    gateway_identifier: str = ""
    schedule_at: datetime | None = None
    cost: int = 1


class _Errors:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.items: list[dict[str, str]] = []

    def add(self, name: str, message: str) -> None:
        self.items.append({"field": f"{self.prefix}.{name}", "message": message})


def _text(raw: dict[str, Any], name: str, errors: _Errors, *, required: bool, limit: int) -> str:
    value = raw.get(name)
    if value is None or value == "":
        if required:
            errors.add(name, f"The {name} field is required.")
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        errors.add(name, f"The {name} field must be a string.")
        return ""
    value = str(value)
    if len(value) > limit:
        errors.add(name, f"The {name} field may not be longer than {limit} characters.")
    return value


def _choice(raw: dict[str, Any], name: str, errors: _Errors, choices: tuple[str, ...], default: str) -> str:
    value = raw.get(name) or default
    if value not in choices:
        errors.add(name, f"The {name} field must be one of: {', '.join(c for c in choices if c)}.")
        return default
    return value


def _url(value: str, name: str, errors: _Errors) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        errors.add(name, f"The {name} field must be an http(s) URL.")
    return value


def _email(raw: dict[str, Any], errors: _Errors) -> str:
    value = _text(raw, "email", errors, required=True, limit=254).strip()
    if value:
        try:
            validate_email(value)
        except DjangoValidationError:
            errors.add("email", f"{value!r} is not a valid email address.")
    return value.lower()


def normalise_number(value: str) -> str | None:
    """E.164 form of `value`, or None if it is not a valid phone number."""
    region = settings.XSENDER_DEFAULT_PHONE_REGION or None
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    # "Possible" (right length for the country), not "valid": valid-range metadata lags behind real number
    # plans, and the documented test range +1 555-01XX is never "valid" although carriers and fakes accept it.
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _number(raw: dict[str, Any], errors: _Errors) -> str:
    value = _text(raw, "number", errors, required=True, limit=32).strip()
    if not value:
        return ""
    number = normalise_number(value)
    if number is None:
        errors.add("number", f"{value!r} is not a valid phone number (use international format, e.g. +15555550123).")
        return ""
    return number


def parse_schedule_at(value: Any) -> datetime:
    """Parses `Y-m-d H:i:s` in the server's TIME_ZONE. Raises ValueError."""
    if not isinstance(value, str):
        raise ValueError("not a string")
    naive = datetime.strptime(value.strip(), SCHEDULE_FORMAT)
    return timezone.make_aware(naive, timezone.get_default_timezone())


def _schedule(raw: dict[str, Any], errors: _Errors) -> datetime | None:
    value = raw.get("schedule_at")
    if value in (None, ""):
        return None
    try:
        return parse_schedule_at(value)
    except (ValueError, TypeError):
        errors.add("schedule_at", "The schedule_at field must be in Y-m-d H:i:s format (server time zone).")
        return None


def _attachments(raw: dict[str, Any], errors: _Errors) -> list[dict[str, str]]:
    value = raw.get("attachments")
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        errors.add("attachments", "The attachments field must be a list of {type, url}.")
        return []
    if len(value) > MAX_ATTACHMENTS:
        errors.add("attachments", f"At most {MAX_ATTACHMENTS} attachments per email.")
    cleaned = []
    for index, attachment in enumerate(value):
        name = f"attachments.{index}"
        if not isinstance(attachment, dict):
            errors.add(name, "Each attachment must be an object with type and url.")
            continue
        kind = attachment.get("type")
        if kind not in ATTACHMENT_TYPES:
            errors.add(f"{name}.type", f"The type field must be one of: {', '.join(ATTACHMENT_TYPES)}.")
        url = attachment.get("url")
        if not isinstance(url, str) or not url:
            errors.add(f"{name}.url", "The url field is required.")
            continue
        cleaned.append({"type": str(kind), "url": _url(url, f"{name}.url", errors)})
    return cleaned


def _email_item(raw: dict[str, Any], errors: _Errors) -> Item:
    return Item(
        recipient=_email(raw, errors),
        subject=_text(raw, "subject", errors, required=True, limit=LIMITS["subject"]),
        body=_text(raw, "message", errors, required=True, limit=LIMITS["message"]),
        sender_name=_text(raw, "sender_name", errors, required=False, limit=LIMITS["sender_name"]),
        attachments=_attachments(raw, errors),
        gateway_identifier=_text(raw, "gateway_identifier", errors, required=False, limit=100),
        schedule_at=_schedule(raw, errors),
    )


def _sms_item(raw: dict[str, Any], errors: _Errors) -> Item:
    body = _text(raw, "body", errors, required=True, limit=LIMITS["body"])
    return Item(
        recipient=_number(raw, errors),
        body=body,
        sms_type=_choice(raw, "sms_type", errors, SMS_TYPES, "plain"),
        gateway_identifier=_text(raw, "gateway_identifier", errors, required=False, limit=100),
        schedule_at=_schedule(raw, errors),
        cost=sms_segments(body) if body else 1,
    )


def _whatsapp_item(raw: dict[str, Any], errors: _Errors) -> Item:
    media = _choice(raw, "media", errors, ("", *WHATSAPP_MEDIA), "")
    url = _text(raw, "url", errors, required=bool(media), limit=LIMITS["url"])
    if url:
        _url(url, "url", errors)
    return Item(
        recipient=_number(raw, errors),
        body=_text(raw, "message", errors, required=not media, limit=LIMITS["wa_message"]),
        media=media,
        media_url=url if media else "",
        gateway_identifier=_text(raw, "session_name", errors, required=False, limit=100),
        schedule_at=_schedule(raw, errors),
    )


PARSERS = {"email": _email_item, "sms": _sms_item, "whatsapp": _whatsapp_item}
GATEWAY_FIELD = {"email": "gateway_identifier", "sms": "gateway_identifier", "whatsapp": "session_name"}


def validate_items(channel: str, items: Any, prefix: str = "contact") -> tuple[list[Item], list[dict[str, str]]]:
    """Validates every item; returns (items, errors). Errors name fields as `{prefix}.{index}.{field}`."""
    if not isinstance(items, list) or not items:
        return [], [{"field": prefix, "message": f"The {prefix} field must be a non-empty list of recipients."}]
    limit = settings.XSENDER_MAX_RECIPIENTS
    if len(items) > limit:
        return [], [{"field": prefix, "message": f"At most {limit} recipients per request ({len(items)} given)."}]
    parse = PARSERS[channel]
    cleaned, errors = [], []
    for index, raw in enumerate(items):
        item_errors = _Errors(f"{prefix}.{index}")
        if not isinstance(raw, dict):
            item_errors.items.append({"field": f"{prefix}.{index}", "message": "Each recipient must be an object."})
        else:
            cleaned.append(parse(raw, item_errors))
        errors.extend(item_errors.items)
    return cleaned, errors
