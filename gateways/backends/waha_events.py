"""WAHA's webhook events (https://waha.devlike.pro/docs/how-to/events/): `message.ack`, `session.status` and
inbound `message`, each `{"id", "timestamp", "event", "session", "payload"}`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateways.backends.base import ConnectionEvent, InboundEvent, ProviderEvent, WebhookEvent

# ack levels: -1 ERROR, 0 PENDING, 1 SERVER, 2 DEVICE, 3 READ, 4 PLAYED.
ACKS = {-1: "Failed", 1: "Sent", 2: "Delivered", 3: "Opened", 4: "Opened"}
WORKING = "WORKING"


def _at(timestamp: Any) -> datetime | None:
    try:
        value = int(timestamp)
        return datetime.fromtimestamp(value / 1000 if value > 10**11 else value, UTC)  # WAHA: ms; payloads: s
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _ack(body: dict[str, Any], payload: dict[str, Any]) -> ProviderEvent | None:
    ack, message_id = payload.get("ack"), str(payload.get("id") or "")
    if ack not in ACKS or not message_id or isinstance(ack, bool):
        return None
    name = str(payload.get("ackName") or ack).lower()
    error = "WhatsApp reported an error for this message." if ack == -1 else ""
    return ProviderEvent(
        provider_message_id=message_id, status=ACKS[ack], occurred_at=_at(body.get("timestamp")),  # type: ignore[arg-type]
        detail={"payload": payload}, event_id=f"{message_id}:ack:{ack}", kind=f"ack_{name}", error=error,
    )  # fmt: skip


def _inbound(body: dict[str, Any], payload: dict[str, Any]) -> InboundEvent | None:
    if payload.get("fromMe") or not payload.get("from") or not payload.get("id"):
        return None
    media = payload.get("media") if payload.get("hasMedia") and isinstance(payload.get("media"), dict) else {}
    mimetype = str(media.get("mimetype") or "")
    return InboundEvent(
        sender="+" + str(payload["from"]).split("@", 1)[0], body=str(payload.get("body") or ""),
        occurred_at=_at(payload.get("timestamp")), detail={"payload": payload},
        event_id=str(body.get("id") or f"{payload['id']}:received"), provider_message_id=str(payload["id"]),
        media_type=mimetype.split("/", 1)[0] if mimetype else "", media_url=str(media.get("url") or ""),
    )  # fmt: skip


def parse(body: Any) -> WebhookEvent | None:
    if not isinstance(body, dict) or not isinstance(body.get("payload"), dict):
        raise ValueError("Not a WAHA event.")
    payload, kind = body["payload"], body.get("event")
    if kind == "message.ack":
        return _ack(body, payload)
    if kind == "message":
        return _inbound(body, payload)
    if kind == "session.status" and payload.get("status"):
        state = str(payload["status"])[:32]
        event_id = str(body.get("id") or f"session:{state}:{body.get('timestamp')}")
        return ConnectionEvent(state=state, detail={"payload": payload}, event_id=event_id, connected=state == WORKING)
    return None
