"""Reads of the dispatch log, always scoped to the tenant (another tenant's uid is a 404)."""

from __future__ import annotations

import uuid
from typing import Any

from django.utils import timezone

from accounts.models import CHANNELS, User
from messaging.models import Message
from xsender.errors import NotFound

TIMESTAMPS = (
    "created_at",
    "schedule_at",
    "queued_at",
    "processing_at",
    "sent_at",
    "delivered_at",
    "opened_at",
    "clicked_at",
    "failed_at",
    "updated_at",
)


def get_message(*, user: User, channel: str, uid: str) -> Message:
    """The user's message `uid` on `channel`; raises NotFound for anything else (bad uid, other tenant)."""
    try:
        parsed = uuid.UUID(str(uid))
    except ValueError:
        raise NotFound("Message not found.") from None
    if channel not in CHANNELS:
        raise NotFound("Message not found.")
    message = (
        Message.objects.filter(user=user, channel=channel, uid=parsed)
        .select_related("gateway")
        .prefetch_related("events")
        .first()
    )
    if message is None:
        raise NotFound("Message not found.")
    return message


def _stamp(value: Any) -> str | None:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else None


def message_detail(message: Message) -> dict[str, Any]:
    recipient_key = "email" if message.channel == "email" else "number"
    data: dict[str, Any] = {
        "uid": str(message.uid),
        "channel": message.channel,
        recipient_key: message.recipient,
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
        data.update(subject=message.subject, sender_name=message.sender_name, attachments=message.attachments)
    elif message.channel == "sms":
        data.update(body=message.body, sms_type=message.sms_type)
    else:
        data.update(message=message.body, media=message.media or None, url=message.media_url or None)
    data.update({name: _stamp(getattr(message, name)) for name in TIMESTAMPS})
    data["events"] = [{"event": e.kind, "at": _stamp(e.at), "data": e.payload} for e in message.events.all()]
    return data
