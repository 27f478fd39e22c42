"""The event types a tenant's endpoint can ask for, and which message status each message event follows."""

from __future__ import annotations

MESSAGE_STATUS_EVENTS: dict[str, str] = {
    "Sent": "message.sent",
    "Delivered": "message.delivered",
    "Opened": "message.opened",
    "Clicked": "message.clicked",
    "Failed": "message.failed",
    "Bounced": "message.bounced",
    "Complained": "message.complained",
}
# Published through xsender.events by the app where they happen (inbound tracking, devices, accounts).
PLATFORM_EVENTS = (
    "message.unsubscribed",
    "message.received",
    "device.online",
    "device.offline",
    "gateway.disconnected",
    "credit.low",
)
EVENT_TYPES: tuple[str, ...] = (*MESSAGE_STATUS_EVENTS.values(), *PLATFORM_EVENTS)
# Sent on request from the panel or admin, whatever types the endpoint asked for.
TEST_EVENT = "webhook.test"
