"""The XSender dialect's wire format for messages: `contact[]` objects in, dispatch records out.

Parsing turns each `contact` object into a typed item (messaging.items) and names its own shape errors;
the send path's errors come back with an item index and a neutral field, named here (`contact.0.email`).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from messaging.items import Attachment, EmailItem, Item, SmsItem, WhatsAppItem
from messaging.models import Message
from messaging.references import RECIPIENT_REFERENCES, Reference
from messaging.validation import item_errors
from xsender.api import parse_timestamp, stamp
from xsender.errors import DomainError, FieldError, ValidationFailed

PREFIX = "contact"
# Neutral field → XSender field, per channel (fields not listed keep their name).
WIRE_NAMES: dict[str, dict[str, str]] = {
    "email": {"recipient": "email", "body": "message", "gateway": "gateway_identifier"},
    "sms": {"recipient": "number", "gateway": "gateway_identifier"},
    "whatsapp": {"recipient": "number", "body": "message", "media_url": "url", "gateway": "session_name"},
}
RECIPIENT_KEY = {"email": "email", "sms": "number", "whatsapp": "number"}
FIELDS = {
    "email": (
        "email",
        "subject",
        "message",
        "sender_name",
        "reply_to",
        "gateway_identifier",
        "schedule_at",
        "attachments",
    ),
    "sms": ("number", "body", "sms_type", "gateway_identifier", "schedule_at"),
    "whatsapp": ("number", "message", "media", "url", "session_name", "schedule_at"),
}


def wire_field(channel: str, field: str | None, index: int | None = None) -> str:
    """`contact.{index}.{XSender name}` for a neutral field of an item (`contact` for the request's items)."""
    if field == "items":
        return PREFIX
    parts = (field or "").split(".")
    if parts[0]:
        parts[0] = WIRE_NAMES[channel].get(parts[0], parts[0])
    if len(parts) == 3 and parts[0] == "attachments" and parts[2] == "kind":
        parts[2] = "type"
    name = ".".join(p for p in parts if p)
    if index is None:
        return name
    return f"{PREFIX}.{index}.{name}" if name else f"{PREFIX}.{index}"


class _Reader:
    """Reads one `contact` object, recording shape errors under their XSender names."""

    def __init__(self, raw: dict[str, Any], index: int) -> None:
        self.raw, self.index = raw, index
        self.errors: list[FieldError] = []

    def error(self, name: str, message: str) -> None:
        self.errors.append({"field": f"{PREFIX}.{self.index}.{name}", "message": message})

    def text(self, name: str, raw: Any = None) -> str:
        value = self.raw.get(name) if raw is None else raw
        if value is None or value == "":
            return ""
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            self.error(name, "Must be a string.")
            return ""
        return str(value)

    def schedule(self) -> Any:
        value = self.text("schedule_at")
        if not value:
            return None
        try:
            return parse_timestamp(value)
        except ValueError:
            self.error("schedule_at", "Must be in Y-m-d H:i:s format (server time zone).")
            return None

    def attachments(self) -> list[Attachment]:
        value = self.raw.get("attachments")
        if value in (None, ""):
            return []
        if not isinstance(value, list):
            self.error("attachments", "Must be a list of {type, url}.")
            return []
        found = []
        for position, entry in enumerate(value):
            if not isinstance(entry, dict):
                self.error(f"attachments.{position}", "Each attachment must be an object with type and url.")
                continue
            found.append(Attachment(kind=self.text("type", entry.get("type")), url=self.text("url", entry.get("url"))))
        return found


# Fields that name content or recipients by reference (messaging.references), and the content fields a template
# stands for on each channel.
REFERENCE_FIELDS = ("template", "template_data", *RECIPIENT_REFERENCES)
CONTENT_FIELDS = {"email": ("subject", "message"), "sms": ("body",), "whatsapp": ("message", "media", "url")}
MAX_TEMPLATE_DATA = 100


def _reference_text(r: _Reader, name: str) -> str:
    """A reference field: when present, a non-empty string (an empty one is an error, not "absent": it would
    otherwise send to the address instead of the contact meant)."""
    value = r.raw.get(name)
    if not isinstance(value, str) or not value.strip():
        r.error(name, "Must be a non-empty string.")
        return ""
    if "\x00" in value:
        r.error(name, "NUL characters are not allowed.")
        return ""
    return value.strip()


def _template_data(r: _Reader) -> dict[str, Any]:
    value = r.raw.get("template_data")
    if value is None:
        return {}
    if not isinstance(value, dict):
        r.error("template_data", "Must be an object of names and values.")
        return {}
    if len(value) > MAX_TEMPLATE_DATA:
        r.error("template_data", f"At most {MAX_TEMPLATE_DATA} values.")
        return {}
    for key, item in value.items():
        if item is not None and not isinstance(item, (str, int, float, bool)):
            r.error(f"template_data.{key}", "Must be a string, number, boolean or null.")
    return value


def _reference(channel: str, r: _Reader, item: Item) -> Reference:
    """The entry's references; its shape errors recorded on the reader. An entry names one recipient (its address,
    or one of contact_id, list_id, tag); with a template it gives none of the content fields the template stands
    for."""
    found = {name: _reference_text(r, name) for name in ("template", *RECIPIENT_REFERENCES) if name in r.raw}
    address = RECIPIENT_KEY[channel]
    named = [name for name in (address, *RECIPIENT_REFERENCES) if name in r.raw]
    if len(named) > 1:
        r.error(named[1], f"Name one recipient: {address}, contact_id, list_id or tag — not {' and '.join(named)}.")
    elif not named:
        r.error(address, "This field is required (or contact_id, list_id or tag).")
    if "template" in r.raw:
        given = [name for name in CONTENT_FIELDS[channel] if name in r.raw]
        if given:
            r.error(given[0], "Give either a template or the content, not both.")
    elif "template_data" in r.raw:
        r.error("template_data", "Only with a template.")
    return Reference(
        index=r.index, item=item, template=found.get("template", ""), template_data=_template_data(r),
        contact_id=found.get("contact_id", ""), list_id=found.get("list_id", ""), tag=found.get("tag", ""),
    )  # fmt: skip


def _email(r: _Reader) -> EmailItem:
    return EmailItem(
        recipient=r.text("email"), subject=r.text("subject"), body=r.text("message"),
        sender_name=r.text("sender_name"), reply_to=r.text("reply_to"), attachments=r.attachments(),
        gateway=r.text("gateway_identifier"), schedule_at=r.schedule(),
    )  # fmt: skip


def _sms(r: _Reader) -> SmsItem:
    return SmsItem(
        recipient=r.text("number"), body=r.text("body"), sms_type=r.text("sms_type") or "plain",
        gateway=r.text("gateway_identifier"), schedule_at=r.schedule(),
    )  # fmt: skip


def _whatsapp(r: _Reader) -> WhatsAppItem:
    return WhatsAppItem(
        recipient=r.text("number"), body=r.text("message"), media=r.text("media"), media_url=r.text("url"),
        gateway=r.text("session_name"), schedule_at=r.schedule(),
    )  # fmt: skip


READERS = {"email": _email, "sms": _sms, "whatsapp": _whatsapp}


def name_errors(channel: str, errors: list[FieldError]) -> list[dict[str, str]]:
    return [{"field": wire_field(channel, e.get("field"), e.get("index")), "message": e["message"]} for e in errors]


def named(channel: str, exc: DomainError) -> DomainError:
    """`exc` with the item fields it names in XSender terms (`contact.0.email`)."""
    if isinstance(exc, ValidationFailed):
        errors = name_errors(channel, exc.errors)
        return ValidationFailed(
            errors, message=f"{errors[0]['field']}: {errors[0]['message']}" if errors else exc.message
        )
    if exc.index is not None:
        exc.message = f"{wire_field(channel, exc.field, exc.index)}: {exc.message}"
        exc.args, exc.index = (exc.message,), None
    return exc


def parse_contacts(channel: str, contact: Any) -> list[Item | Reference]:
    """The entries of a `contact` list: an item, or a Reference when the entry names a template or its recipients
    by reference. Raises ValidationFailed naming every bad field in XSender terms (shape errors and the send
    path's own checks together, so a client sees all of them at once)."""
    if not isinstance(contact, list):
        raise ValidationFailed.single(PREFIX, "The contact field must be a non-empty list of recipients.")
    entries: list[Item | Reference] = []
    errors = []
    for index, raw in enumerate(contact):
        if not isinstance(raw, dict):
            errors.append({"field": f"{PREFIX}.{index}", "message": "Each recipient must be an object."})
            continue
        reader = _Reader(raw, index)
        item = READERS[channel](reader)
        referenced = any(name in raw for name in REFERENCE_FIELDS)
        entries.append(_reference(channel, reader, item) if referenced else item)
        errors.extend(reader.errors)
    if errors:
        seen = {e["field"] for e in errors}
        items = [e for e in entries if not isinstance(e, Reference)]
        more = name_errors(channel, item_errors(channel, items)[1]) if len(items) == len(contact) else []
        errors.extend(e for e in more if e["field"] not in seen)
        raise ValidationFailed(errors, message=f"{errors[0]['field']}: {errors[0]['message']}")
    return entries


def from_entries(exc: DomainError, origins: list[int]) -> DomainError:
    """`exc` of the items expanded from a request's entries, with each item index turned into its entry's index
    (`origins[i]`: a list's members all come from one entry)."""
    if isinstance(exc, ValidationFailed):
        for error in exc.errors:
            if error.get("index") is not None:
                error["index"] = origins[error["index"]]
    elif exc.index is not None and exc.index < len(origins):
        exc.index = origins[exc.index]
    return exc


def query_contact(channel: str, params: Any) -> list[dict[str, Any]]:
    """The GET form's one recipient, from the query string."""
    item = {name: params[name] for name in FIELDS[channel] if name in params and name != "attachments"}
    # In a query string "+" decodes to a space: "?number=+1555…" arrives as " 1555…".
    if isinstance(item.get("number"), str) and item["number"].startswith(" "):
        item["number"] = "+" + item["number"].lstrip()
    return [item]


def created_at(value: Any) -> str:
    """`2026-05-23 12:00 PM` in the server's time zone, as the spec shows it."""
    return timezone.localtime(value).strftime("%Y-%m-%d %I:%M %p")


def accepted(channel: str, messages: list[Message]) -> list[dict[str, Any]]:
    key = RECIPIENT_KEY[channel]
    shown = {m.created_at: created_at(m.created_at) for m in messages}  # one request: one or a few instants
    return [
        {"uid": str(m.uid), key: m.recipient, "status": m.status, "created_at": shown[m.created_at]} for m in messages
    ]


TIMESTAMPS = (
    "created_at", "schedule_at", "queued_at", "processing_at", "sent_at", "delivered_at", "opened_at",
    "clicked_at", "failed_at", "updated_at",
)  # fmt: skip


def dispatch_record(message: Message) -> dict[str, Any]:
    """The status endpoint's record of one message (its events prefetched)."""
    data: dict[str, Any] = {
        "uid": str(message.uid),
        "channel": message.channel,
        RECIPIENT_KEY[message.channel]: message.recipient,
        "status": message.status,
        "gateway_identifier": message.gateway.identifier if message.gateway else None,
        "gateway_response": message.gateway_response,
        "provider_message_id": message.provider_message_id or None,
        "error": message.error or None,
        "attempts": message.attempts,
        "cost": message.cost,
        "by_admin": message.by_admin,
    }
    if message.channel == "email":
        data.update(
            subject=message.subject, sender_name=message.sender_name, from_email=message.from_email or None,
            reply_to=message.reply_to or None, attachments=message.attachments,
        )  # fmt: skip
    elif message.channel == "sms":
        data.update(body=message.body, sms_type=message.sms_type)
    else:
        data.update(
            message=message.body, media=message.media or None, url=message.media_url or None,
            template=message.whatsapp_template,
        )  # fmt: skip
    data.update({name: stamp(getattr(message, name)) for name in TIMESTAMPS})
    data["events"] = [{"event": e.kind, "at": stamp(e.at), "data": e.payload} for e in message.events.all()]
    return data
