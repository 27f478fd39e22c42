"""WhatsApp Cloud API webhooks (Meta): the signature, and the statuses and customer messages they carry.

https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components — Meta batches several entry[],
changes[] and statuses[] in one POST, repeats deliveries for up to a day and a half, and does not keep their
order (a `read` may come without its `delivered`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from gateways.backends.base import InboundEvent, ProviderEvent

STATUSES = {"sent": "Sent", "delivered": "Delivered", "read": "Opened", "failed": "Failed"}
# Error codes that say the recipient does not want these messages: 131050 "user stopped marketing messages".
SUPPRESS = {131050: "opt_out"}
MEDIA = ("image", "video", "audio", "document", "sticker")


def meta_signature_valid(secret: str, body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return bool(header) and hmac.compare_digest(expected, header)


def cloud_values(body: Any) -> Iterator[dict[str, Any]]:
    """The `value` of every `messages` change of a whatsapp_business_account notification."""
    if not isinstance(body, dict) or body.get("object") != "whatsapp_business_account":
        return
    for entry in body.get("entry") or []:
        for change in entry.get("changes") or []:
            if change.get("field") == "messages" and isinstance(change.get("value"), dict):
                yield change["value"]


def _at(timestamp: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(timestamp), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def status_event(status: dict[str, Any]) -> ProviderEvent | None:
    name, wamid = status.get("status"), str(status.get("id") or "")
    if name not in STATUSES or not wamid:
        return None
    errors = status.get("errors") or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    code = first.get("code")
    error = f"{code}: {first.get('title') or first.get('message') or ''}".strip() if first else ""
    detail = {"status": status, "error_code": code, "error_title": first.get("title", "")}
    return ProviderEvent(
        provider_message_id=wamid, status=STATUSES[name], occurred_at=_at(status.get("timestamp")),  # type: ignore[arg-type]
        detail=detail, event_id=f"{wamid}:{name}", kind=name, error=error,
        suppress=SUPPRESS.get(code, "") if isinstance(code, int) else "",
    )  # fmt: skip


def inbound_event(message: dict[str, Any]) -> InboundEvent | None:
    kind, wamid = message.get("type", ""), str(message.get("id") or "")
    if not wamid or not message.get("from"):
        return None
    media = message.get(kind) if kind in MEDIA and isinstance(message.get(kind), dict) else {}
    body = (message.get("text") or {}).get("body", "") if kind == "text" else media.get("caption", "")
    return InboundEvent(
        sender="+" + str(message["from"]).lstrip("+"), body=str(body), occurred_at=_at(message.get("timestamp")),
        detail={"message": message}, event_id=f"{wamid}:received", provider_message_id=wamid,
        media_type=kind if media else "", media_url=f"media:{media['id']}" if media.get("id") else "",
    )  # fmt: skip
