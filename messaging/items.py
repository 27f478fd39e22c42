"""What a caller asks the send path to send: one typed item per recipient, whatever dialect or page it came from.

A dialect (XSender, SendX), the panel's send form, campaigns and automations build these; `accept_messages`
checks and charges them. Nothing here knows a wire field name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Attachment:
    kind: str  # "image" | "file"
    url: str


@dataclass
class EmailItem:
    recipient: str
    subject: str
    body: str
    sender_name: str = ""
    reply_to: str = ""  # an email address replies go to, instead of the sender's
    # The From address, instead of the gateway's own (which stays the envelope sender of SMTP gateways). Only
    # campaigns set it, and only from one of the tenant's verified senders: no API dialect exposes it.
    from_email: str = ""
    text: str = ""  # the plain-text alternative of an HTML body ("" = derived from the HTML)
    # Our own unsubscribe URL (campaigns only): sent as List-Unsubscribe with RFC 8058 one-click; must start
    # with XSENDER_BASE_URL.
    list_unsubscribe: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    gateway: str = ""  # a gateway identifier; empty = the principal's default
    schedule_at: datetime | None = None  # aware; None or past = now


@dataclass
class SmsItem:
    recipient: str
    body: str
    sms_type: str = "plain"
    gateway: str = ""
    schedule_at: datetime | None = None


@dataclass
class WhatsAppItem:
    recipient: str
    body: str = ""
    media: str = ""  # "" for text, else image | video | audio | document
    media_url: str = ""
    # A WhatsApp Cloud approved template: {"name", "language" (a code such as en_US), "components" (Meta's
    # component objects, parameters filled in)}; the body may then be empty. Only WhatsApp Cloud gateways send it.
    template: dict[str, Any] | None = None
    gateway: str = ""
    schedule_at: datetime | None = None


Item = EmailItem | SmsItem | WhatsAppItem
ITEM_TYPES: dict[str, type[EmailItem] | type[SmsItem] | type[WhatsAppItem]] = {
    "email": EmailItem,
    "sms": SmsItem,
    "whatsapp": WhatsAppItem,
}
