"""The send path's rules for one item: pure functions, no database.

`check_items` turns typed items into drafts (normalised recipient, cost) or raises ValidationFailed whose
errors carry each item's index and a neutral field name; dialects name the fields their own way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import idna
import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone

from gateways.backends import get_backend_class
from messaging.items import EmailItem, Item, SmsItem, WhatsAppItem
from messaging.segments import sms_segments
from xsender.errors import FieldError, GatewayNotFound, ValidationFailed
from xsender.hot_settings import setting
from xsender.validators import validate_email

if TYPE_CHECKING:
    from gateways.models import Gateway

SMS_TYPES = ("plain", "otp", "marketing")
WHATSAPP_MEDIA = ("image", "video", "audio", "document")
ATTACHMENT_TYPES = ("image", "file")
MAX_ATTACHMENTS = 10
MAX_GATEWAY = 100
# Lengths the API documents (messaging/api/schema.py reads them from here).
LIMITS = {
    "subject": 998, "email_body": 1_000_000, "sender_name": 150, "sms_body": 1600, "wa_body": 4096, "url": 2048,
    "wa_template": 100_000,
}  # fmt: skip
MAX_TEMPLATE_NAME = 512  # Meta's limit for a template's name
# A CR or LF in a header-bound field would let a tenant add headers (Bcc:) or make the mail library refuse
# the whole message at send time; NUL is refused everywhere (PostgreSQL cannot store it in text).
HEADER_BREAKS = ("\r", "\n", "\x00")


@dataclass
class Draft:
    """One checked recipient, normalised (E.164 numbers, lower-case IDNA emails, aware schedule_at)."""

    recipient: str
    body: str
    subject: str = ""
    sender_name: str = ""
    reply_to: str = ""
    list_unsubscribe: str = ""
    from_email: str = ""
    text_body: str = ""
    sms_type: str = ""
    media: str = ""
    media_url: str = ""
    whatsapp_template: dict[str, Any] | None = None
    attachments: list[dict[str, str]] = field(default_factory=list)
    gateway: str = ""
    schedule_at: datetime | None = None
    cost: int = 1


class _Errors:
    """Collects one item's errors: {"index", "field", "message"}."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.items: list[FieldError] = []

    def add(self, name: str, message: str) -> None:
        self.items.append({"index": self.index, "field": name, "message": message})

    def text(self, value: str, name: str, *, limit: int, required: bool = True, header: bool = False) -> str:
        if not value:
            if required:
                self.add(name, "This field is required.")
            return ""
        if len(value) > limit:
            self.add(name, f"At most {limit} characters.")
        # HEADER_BREAKS for a header, NUL anywhere: tested one by one (a bulk checks several fields an item)
        if "\x00" in value or (header and ("\r" in value or "\n" in value)):
            self.add(name, "Line breaks are not allowed here." if header else "NUL characters are not allowed.")
        return value

    def url(self, value: str, name: str) -> str:
        value = self.text(value, name, limit=LIMITS["url"], header=True)
        if value:
            try:
                parts = urlsplit(value)
            except ValueError:  # an unclosed IPv6 bracket ("http://[::1") is not a URL: a 400, never a 500
                parts = None
            if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
                self.add(name, "Must be an http(s) URL.")
        return value

    def choice(self, value: str, name: str, choices: tuple[str, ...]) -> str:
        if value not in choices:
            self.add(name, f"Must be one of: {', '.join(c for c in choices if c)}.")
        return value


def normalise_email(value: str) -> str:
    """Lower case, with the domain in its ASCII (IDNA) form, so `bücher.example` and `xn--bcher-kva.example`
    are one address for suppressions and duplicates. Raises ValueError for a domain IDNA refuses."""
    local, at, domain = value.strip().rpartition("@")
    if not at:
        return value.strip().lower()
    ascii_domain = idna.encode(domain, uts46=True).decode() if not domain.isascii() else domain
    return f"{local}@{ascii_domain}".lower()


def normalise_number(value: str) -> str | None:
    """E.164 form of `value`, or None if it is not a possible phone number."""
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


def _email_address(value: str, errors: _Errors, name: str = "recipient", required: bool = True) -> str:
    value = errors.text(value.strip(), name, limit=254, required=required, header=True)
    if not value:
        return ""
    value, valid = _checked_email(value)
    if not valid:
        errors.add(name, f"{value!r} is not a valid email address.")
    return value


@lru_cache(maxsize=256)
def _checked_email(value: str) -> tuple[str, bool]:
    """(normalised address, whether it is valid): kept for the addresses a bulk repeats on every item (a
    campaign's from-address and reply-to), which the validator would otherwise check a thousand times."""
    try:
        value = normalise_email(value)
        validate_email(value)
    except (DjangoValidationError, ValueError, idna.IDNAError):
        return value, False
    return value, True


def _number(value: str, errors: _Errors) -> str:
    value = errors.text(value.strip(), "recipient", limit=32, header=True)
    if not value:
        return ""
    number = normalise_number(value)
    if number is None:
        errors.add("recipient", f"{value!r} is not a valid phone number (use international format, e.g. +15555550123).")
        return ""
    return number


def _schedule(value: datetime | None, errors: _Errors) -> datetime | None:
    if value is not None and timezone.is_naive(value):
        errors.add("schedule_at", "Must carry a time zone.")
        return None
    if value is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:  # 0001-01-01 east of UTC, 9999-12-31 west of it: no UTC instant, unstorable
            errors.add("schedule_at", "Out of range: no such instant in UTC.")
            return None
    return value


def _email(item: EmailItem, errors: _Errors) -> Draft:
    if len(item.attachments) > MAX_ATTACHMENTS:
        errors.add("attachments", f"At most {MAX_ATTACHMENTS} attachments per email.")
    attachments = []
    for index, attachment in enumerate(item.attachments):
        kind = errors.choice(attachment.kind, f"attachments.{index}.kind", ATTACHMENT_TYPES)
        attachments.append({"type": kind, "url": errors.url(attachment.url, f"attachments.{index}.url")})
    return Draft(
        recipient=_email_address(item.recipient, errors),
        subject=errors.text(item.subject, "subject", limit=LIMITS["subject"], header=True),
        body=errors.text(item.body, "body", limit=LIMITS["email_body"]),
        sender_name=errors.text(
            item.sender_name, "sender_name", limit=LIMITS["sender_name"], required=False, header=True
        ),
        reply_to=_email_address(item.reply_to, errors, "reply_to", required=False),
        list_unsubscribe=_own_url(item.list_unsubscribe, errors, "list_unsubscribe"),
        from_email=_email_address(item.from_email, errors, "from_email", required=False),
        text_body=errors.text(item.text, "text", limit=LIMITS["email_body"], required=False),
        attachments=attachments,
    )


def _own_url(value: str, errors: _Errors, name: str) -> str:
    """One of our own public URLs (a header-bound value: no line break), or "". Only XSender itself sets it."""
    value = errors.text(value, name, limit=LIMITS["url"], required=False, header=True)
    if value and not value.startswith(setting("XSENDER_BASE_URL").rstrip("/") + "/"):
        errors.add(name, "Must be one of this server's URLs (XSENDER_BASE_URL).")
    return value


def _sms(item: SmsItem, errors: _Errors) -> Draft:
    body = errors.text(item.body, "body", limit=LIMITS["sms_body"])
    return Draft(
        recipient=_number(item.recipient, errors),
        body=body,
        sms_type=errors.choice(item.sms_type or "plain", "sms_type", SMS_TYPES),
        cost=sms_segments(body) if body else 1,
    )


def _whatsapp(item: WhatsAppItem, errors: _Errors) -> Draft:
    media = errors.choice(item.media, "media", ("", *WHATSAPP_MEDIA))
    template = _whatsapp_template(item.template, errors)
    if template is not None and (media or item.body):
        errors.add("template", "An approved template is sent alone: no body or media with it.")
    return Draft(
        recipient=_number(item.recipient, errors),
        body=errors.text(item.body, "body", limit=LIMITS["wa_body"], required=not media and item.template is None),
        media=media,
        media_url=errors.url(item.media_url, "media_url") if media else "",
        whatsapp_template=template,
    )


def _whatsapp_template(value: Any, errors: _Errors) -> dict[str, Any] | None:
    """A WhatsApp Cloud approved template as the send path keeps it: {"name", "language", "components"}. Meta
    checks the components against the approved template; here only their shape and size."""
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.add("template", 'Must be an object with "name", "language" and "components".')
        return None
    name, language, components = value.get("name"), value.get("language"), value.get("components", [])
    if not isinstance(name, str) or not name.strip():
        errors.add("template.name", "The approved template's name is required.")
    elif len(name) > MAX_TEMPLATE_NAME or any(c in name for c in HEADER_BREAKS):
        errors.add("template.name", f"At most {MAX_TEMPLATE_NAME} characters on one line.")
    if not isinstance(language, str) or not language.strip() or len(language) > 16:
        errors.add("template.language", "A language code such as en or en_US.")
    elif any(c in language for c in HEADER_BREAKS):
        errors.add("template.language", "Line breaks are not allowed here.")
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        errors.add("template.components", "Must be a list of component objects.")
    else:
        try:
            serialised = json.dumps(components)
        except (TypeError, ValueError):
            serialised = ""
            errors.add("template.components", "Must be plain JSON data.")
        if _has_nul(components):  # PostgreSQL's jsonb cannot store one
            errors.add("template.components", "NUL characters are not allowed.")
        elif len(serialised) > LIMITS["wa_template"]:
            errors.add("template.components", f"At most {LIMITS['wa_template']} characters of JSON.")
    return {"name": name, "language": language, "components": components}


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


CHECKS: dict[str, Any] = {"email": _email, "sms": _sms, "whatsapp": _whatsapp}


def item_errors(
    channel: str, items: Sequence[Item], *, max_items: int | None = None
) -> tuple[list[Draft], list[FieldError]]:
    """Checks every item; returns (drafts, errors) — errors name `index` and a neutral field. At most `max_items`
    items (default: XSENDER_MAX_RECIPIENTS, what one API request may carry)."""
    if not items:
        return [], [{"field": "items", "message": "At least one recipient is required."}]
    limit = settings.XSENDER_MAX_RECIPIENTS if max_items is None else max_items
    if len(items) > limit:
        return [], [{"field": "items", "message": f"At most {limit} recipients per request ({len(items)} given)."}]
    check = CHECKS[channel]
    drafts, errors = [], []
    for index, item in enumerate(items):
        collected = _Errors(index)
        draft = check(item, collected)
        draft.gateway = collected.text(item.gateway, "gateway", limit=MAX_GATEWAY, required=False, header=True)
        draft.schedule_at = _schedule(item.schedule_at, collected)
        drafts.append(draft)
        errors.extend(collected.items)
    return drafts, errors


def check_gateway_features(channel: str, drafts: Sequence[Draft], gateways: Sequence[Gateway]) -> None:
    """Raises GatewayNotFound naming the first item whose gateway cannot send it as asked — an approved WhatsApp
    template to a gateway whose provider has no such thing (a WhatsApp Web bridge) — before anything is stored or
    charged. Not found, as for a gateway the principal may not use: no usable gateway was named for that item (a
    campaign pauses on it until the tenant chooses another gateway, rather than skipping its recipients)."""
    if channel != "whatsapp":
        return
    for index, (draft, gateway) in enumerate(zip(drafts, gateways, strict=True)):
        if draft.whatsapp_template is not None and not get_backend_class(gateway.provider).sends_templates:
            raise GatewayNotFound(
                f"Gateway {gateway.identifier!r} ({gateway.provider}) cannot send approved WhatsApp templates: "
                "choose a WhatsApp Cloud gateway.",
                index=index,
                field="gateway",
            )


def check_items(channel: str, items: Sequence[Item], *, max_items: int | None = None) -> list[Draft]:
    """The drafts of `items`; raises ValidationFailed naming every bad field of every item."""
    drafts, errors = item_errors(channel, items, max_items=max_items)
    if errors:
        raise ValidationFailed(errors, message=errors[0]["message"])
    return drafts
