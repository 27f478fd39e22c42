"""Platform events for tenants' webhooks, published by the app where they happen and recorded by whoever
subscribed (the webhooks app's outbox), synchronously, inside the publisher's transaction — so an event is
recorded exactly when what caused it is committed, and never otherwise.

Publishers sit below the webhooks app (accounts: `credit.low`; devices: `device.online`/`device.offline`;
inbound tracking: `message.received`, `gateway.disconnected`), so they cannot import it: they publish here, and
the webhooks app subscribes from its AppConfig.ready(). Message status moves reach the outbox through
messaging.transitions' observers instead (they come in batches). xsender imports no app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone


@dataclass(frozen=True)
class PlatformEvent:
    type: str  # e.g. "device.offline"
    user_id: int | None  # the tenant it concerns; None for the admin's (then by_admin is true)
    by_admin: bool = False
    data: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=timezone.now)


Subscriber = Callable[[list[PlatformEvent]], None]
_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> None:
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)


def unsubscribe(subscriber: Subscriber) -> None:
    if subscriber in _subscribers:
        _subscribers.remove(subscriber)


def publish(events: list[PlatformEvent]) -> None:
    """Hands `events` to every subscriber now, inside the caller's transaction."""
    if events:
        for subscriber in _subscribers:
            subscriber(events)
