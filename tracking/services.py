"""Applies what a verified provider webhook reported: message statuses, customers' messages, session states.

One call per request, one transaction, a constant number of queries whatever the number of events:
the events not seen before (one INSERT … ON CONFLICT DO NOTHING RETURNING over their ids), their messages
(one query, only among the gateways the request authenticated for), the moves through
messaging.transitions.apply_reports (a refused move — `bounced` after `delivered` — is kept as an event row),
then the suppressions the events call for. A repeated event changes nothing; an event naming a message we do
not know is counted (and answered 200, so that the provider stops retrying it).
"""

from __future__ import annotations

import hashlib
import logging
import random
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from gateways import services as gateway_services
from gateways.backends.base import ConnectionEvent, InboundEvent, ProviderEvent, WebhookEvent
from gateways.models import Gateway
from messaging import services as messaging
from messaging import transitions
from messaging.models import Message, Suppression
from tracking.models import InboundMessage, SeenEvent
from xsender import events as platform
from xsender.redis import get_redis

logger = logging.getLogger(__name__)

REASONS = {"bounce": Suppression.Reason.BOUNCE, "complaint": Suppression.Reason.COMPLAINT,
           "opt_out": Suppression.Reason.OPT_OUT}  # fmt: skip
WORKING = "WORKING"
UNMATCHED_KEY = "xsender:tracking:unmatched"
PURGE_CHANCE = 0.002  # about one request in 500 deletes a bounded slice of expired event ids
PURGE_BATCH = 5000


@dataclass
class Outcome:
    applied: int = 0  # events that moved a message
    kept: int = 0  # events kept as history without moving the message (late, or moving nothing)
    duplicates: int = 0
    unmatched: int = 0  # events naming a message none of the gateways sent
    inbound: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def event_key(scope: str, event_id: str) -> str:
    return hashlib.sha256(f"{scope}|{event_id}".encode()).hexdigest()


def _first_seen(scope: str, events: list[WebhookEvent]) -> list[WebhookEvent]:
    """The events whose id was never applied in `scope`, recorded as seen now (one statement)."""
    keyed = {event_key(scope, e.event_id): e for e in events}
    if not keyed:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tracking_seenevent (key, seen_at) SELECT unnest(%s::varchar[]), %s "
            "ON CONFLICT (key) DO NOTHING RETURNING key",
            [list(keyed), timezone.now()],
        )
        fresh = {row[0] for row in cursor.fetchall()}
    return [event for key, event in keyed.items() if key in fresh]


def receive_events(*, scope: str, home: Gateway | None, gateways: list[Gateway], events: list[WebhookEvent]) -> Outcome:
    """Applies `events` of a request verified for `gateways` (`home`: the gateway whose URL was called, or None
    at a site-wide URL). `scope` names where event ids are unique (a gateway, or a provider site-wide)."""
    outcome = Outcome()
    with transaction.atomic():
        fresh = _first_seen(scope, events)
        outcome.duplicates = len(events) - len(fresh)
        statuses = [e for e in fresh if isinstance(e, ProviderEvent)]
        if statuses:
            _apply_statuses(gateways, statuses, outcome)
        inbound = [e for e in fresh if isinstance(e, InboundEvent)]
        if inbound and home is not None:
            outcome.inbound = len(record_inbound(gateway=home, events=inbound))
        for event in (e for e in fresh if isinstance(e, ConnectionEvent)):
            if home is not None:
                record_connection(gateway=home, event=event)
    if outcome.unmatched:
        _count_unmatched(scope, outcome.unmatched)
    if random.random() < PURGE_CHANCE:  # noqa: S311 — not security: spreads the purge over requests
        purge_seen_events()
    return outcome


def _report(message: Message, event: ProviderEvent) -> transitions.Report:
    payload = {"event_id": event.event_id, "detail": event.detail}
    if event.error:
        payload["error"] = event.error
    return transitions.Report(
        message=message, status=event.status or "", at=event.occurred_at, error=event.error, payload=payload,
        kind=event.kind or (event.status or "").lower(),
    )  # fmt: skip


def _apply_statuses(gateways: list[Gateway], events: list[ProviderEvent], outcome: Outcome) -> None:
    found = transitions.find_by_provider_ids(
        gateway_ids=[g.pk for g in gateways if g.pk], provider_message_ids=[e.provider_message_id for e in events]
    )
    matched = [(found[e.provider_message_id], e) for e in events if e.provider_message_id in found]
    outcome.unmatched = len(events) - len(matched)
    if not matched:
        return
    applied = transitions.apply_reports(reports=[_report(m, e) for m, e in matched], keep_refused=True)
    outcome.applied = sum(1 for a in applied if a.changed)
    outcome.kept = len(applied) - outcome.applied
    for message, event in matched:
        if event.suppress in REASONS:
            user = None if message.by_admin else message.user  # the admin's sends check global entries only
            messaging.add_suppression(
                user=user, channel=message.channel, address=message.recipient, reason=REASONS[event.suppress]
            )
    unsubscribed = [(m, e) for m, e in matched if e.kind == "unsubscribed"]
    platform.publish([_message_event("message.unsubscribed", m, e) for m, e in unsubscribed])


def _message_event(kind: str, message: Message, event: ProviderEvent) -> platform.PlatformEvent:
    data = {"uid": str(message.uid), "channel": message.channel, "status": message.status,
            "recipient": message.recipient, "gateway": message.gateway.identifier if message.gateway else None}  # fmt: skip
    return platform.PlatformEvent(
        type=kind, user_id=None if message.by_admin else message.user_id, by_admin=message.by_admin, data=data,
        at=event.occurred_at or timezone.now(),
    )  # fmt: skip


def record_inbound(*, gateway: Gateway, events: list[InboundEvent]) -> list[InboundMessage]:
    """Stores customers' messages to `gateway` and publishes each as `message.received`."""
    now = timezone.now()
    rows = InboundMessage.objects.bulk_create(
        InboundMessage(
            user_id=gateway.owner_id, gateway=gateway, channel=gateway.channel, sender=e.sender[:64], body=e.body,
            media_type=e.media_type[:32], media_url=e.media_url[:2048], provider_message_id=e.provider_message_id[:255],
            received_at=e.occurred_at or now, raw=e.detail,
        )
        for e in events
    )  # fmt: skip
    platform.publish([
        platform.PlatformEvent(
            type="message.received", user_id=gateway.owner_id, by_admin=gateway.owner_id is None, at=row.received_at,
            data={"uid": str(row.uid), "channel": row.channel, "from": row.sender, "body": row.body,
                  "media_type": row.media_type, "media_url": row.media_url, "gateway": gateway.identifier},
        )
        for row in rows
    ])  # fmt: skip
    return rows


def record_connection(*, gateway: Gateway, event: ConnectionEvent) -> None:
    """Stores the session state on the gateway; a session that stops being WORKING publishes
    `gateway.disconnected`."""
    stopped = gateway_services.set_connection_state(
        gateway=gateway, state=event.state, connected=event.connected, connected_state=WORKING
    )
    if stopped:
        platform.publish([
            platform.PlatformEvent(
                type="gateway.disconnected", user_id=gateway.owner_id, by_admin=gateway.owner_id is None,
                data={"gateway": gateway.identifier, "provider": gateway.provider, "state": event.state},
            )
        ])  # fmt: skip


def _count_unmatched(scope: str, count: int) -> None:
    """Counts events that named no message we know, per scope (shown by `unmatched_counts`)."""
    try:
        get_redis().hincrby(UNMATCHED_KEY, scope, count)
    except Exception as exc:  # noqa: BLE001 — a count, never a reason to fail the provider's request
        logger.warning("Could not count unmatched webhook events (%s).", type(exc).__name__)


def unmatched_counts() -> dict[str, int]:
    raw = get_redis().hgetall(UNMATCHED_KEY)
    return {k.decode() if isinstance(k, bytes) else k: int(v) for k, v in raw.items()}


def purge_seen_events() -> int:
    """Forgets event ids older than XSENDER_WEBHOOK_EVENT_RETENTION_DAYS (a bounded slice per call)."""
    cutoff = timezone.now() - timedelta(days=settings.XSENDER_WEBHOOK_EVENT_RETENTION_DAYS)
    ids = SeenEvent.objects.filter(seen_at__lt=cutoff).values_list("pk", flat=True)[:PURGE_BATCH]
    deleted, _ = SeenEvent.objects.filter(pk__in=list(ids)).delete()
    return deleted
