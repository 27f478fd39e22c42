"""Applies what a verified provider webhook reported: message statuses, customers' messages, session states.

The answer never waits for the statuses to be applied: the receiver stores them in one statement (the event ids
not seen before become rows of the inbound queue, tracking.queue) and wakes its gateway's drain (tracking.jobs),
which applies them in batches of hundreds in a constant number of statements per batch: the messages their
provider ids name among the gateways that verified them (one query on the msg_provider_id index), the moves
through messaging.transitions.apply_reports (a refused move — `bounced` after `delivered` — is kept as an event
row), the suppressions the events call for (one statement). An event whose message is not known yet (the
provider called back before our worker wrote its id) waits and is tried again for XSENDER_INBOUND_MATCH_SECONDS,
then is counted as unmatched and dropped. Customers' messages and session states, rare, are applied at once.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from gateways import services as gateway_services
from gateways.backends.base import ConnectionEvent, InboundEvent, ProviderEvent, WebhookEvent
from gateways.models import Gateway
from messaging import services as messaging
from messaging import transitions
from messaging.models import Message, Suppression
from tracking import queue
from tracking.models import InboundMessage, SeenEvent, UnmatchedCount
from tracking.wake import wake_after_commit
from xsender import events as platform
from xsender.parsers import storable

logger = logging.getLogger(__name__)

REASONS = {"bounce": Suppression.Reason.BOUNCE, "complaint": Suppression.Reason.COMPLAINT,
           "opt_out": Suppression.Reason.OPT_OUT}  # fmt: skip
WORKING = "WORKING"
PURGE_BATCH = 5000
BATCH = 500  # events a drain applies per transaction
ENQUEUE_CHUNK = 1000  # events per INSERT (9 parameters each: PostgreSQL takes at most 65,535 per statement)
RETRY_CAP_SECONDS = 60  # an event waiting for its message is looked for again after 1, 2, 4 … at most 60 s


@dataclass
class Outcome:
    """The answer to the provider: how many of its events were taken, and what is known of them yet."""

    received: int = 0  # status events in the request
    queued: int = 0  # taken to be applied (the rest were duplicates)
    duplicates: int = 0
    unmatched: int = 0  # queued, naming no message of the verified gateways yet: kept and tried again for a while
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


def _storable(event: WebhookEvent) -> WebhookEvent:
    changes = {f.name: storable(getattr(event, f.name)) for f in fields(event)}
    same = all(changes[name] is getattr(event, name) for name in changes)
    return event if same else replace(event, **changes)


def receive_events(*, scope: str, home: Gateway | None, gateways: list[Gateway], events: list[WebhookEvent]) -> Outcome:
    """Takes `events` of a request verified for `gateways` (`home`: the gateway whose URL was called, or None at a
    site-wide URL). `scope` names where event ids are unique (a gateway, or a provider site-wide). Status events
    are queued for their gateway's drain; customers' messages and session states are applied at once. A NUL or
    lone surrogate in any field (which the database would refuse for the whole request, and the provider then
    send again for ever) is replaced, the rest kept as sent."""
    events = [_storable(event) for event in events]
    statuses = [e for e in events if isinstance(e, ProviderEvent)]
    others = [e for e in events if not isinstance(e, ProviderEvent)]
    outcome = Outcome(received=len(statuses))
    if statuses:
        _queue_statuses(scope, gateways, statuses, outcome)
    if others:
        with transaction.atomic():
            fresh = _first_seen(scope, others)
            outcome.duplicates += len(others) - len(fresh)
            inbound = [e for e in fresh if isinstance(e, InboundEvent)]
            if inbound and home is not None:
                outcome.inbound = len(record_inbound(gateway=home, events=inbound))
            for event in (e for e in fresh if isinstance(e, ConnectionEvent)):
                if home is not None:
                    record_connection(gateway=home, event=event)
    return outcome


def _queue_statuses(scope: str, gateways: list[Gateway], events: list[ProviderEvent], outcome: Outcome) -> None:
    """One statement: the events not seen before join the queue of the first verified gateway; its drain is woken
    (or nudged) once they are committed."""
    keyed = {event_key(scope, e.event_id): e for e in events}
    ids = sorted(g.pk for g in gateways if g.pk)
    if not ids:  # a site-wide secret with no admin gateway behind it: nothing could ever match
        outcome.duplicates = len(events) - len(keyed)
        outcome.unmatched = len(keyed)
        queue.count_unmatched(Counter({(scope, timezone.localdate()): len(keyed)}))
        return
    home = ids[0] if len(gateways) > 1 else gateways[0].pk
    known: list[bool] = []
    keys, now = list(keyed), timezone.now()
    for start in range(0, len(keys), ENQUEUE_CHUNK):
        chunk = {key: keyed[key] for key in keys[start : start + ENQUEUE_CHUNK]}
        known += queue.enqueue(gateway_id=home, gateway_ids=ids, scope=scope, keyed=chunk, now=now)
    outcome.queued, outcome.duplicates = len(known), len(events) - len(known)
    outcome.unmatched = known.count(False)
    if known:
        wake_after_commit([home])


# ---------------------------------------------------------------- the drain's batch


@dataclass
class Batch:
    claimed: int = 0
    applied: int = 0  # events that moved a message
    kept: int = 0  # events kept as history without moving the message
    waiting: int = 0  # events whose message is not known yet, put back
    dropped: int = 0  # of those, past XSENDER_INBOUND_MATCH_SECONDS: counted as unmatched and dropped


def _report(row: queue.Claimed, message: object) -> transitions.Report:
    payload = {"event_id": row.event_id, "detail": row.detail}
    if row.error:
        payload["error"] = row.error
    return transitions.Report(
        message=message, status=row.status, at=row.occurred_at, error=row.error, payload=payload,  # type: ignore[arg-type]
        kind=row.kind or row.status.lower(),
    )  # fmt: skip


def apply_queued(*, gateway_id: int, limit: int = BATCH) -> Batch:
    """Applies up to `limit` due events of the gateway's queue in one transaction: a constant number of statements
    whatever the batch's size."""
    now = timezone.now()
    with transaction.atomic():
        rows = queue.claim(gateway_id=gateway_id, now=now, limit=limit)
        matched = [r for r in rows if r.message_id is not None]
        batch = Batch(claimed=len(rows))
        if matched:
            _apply_matched(matched, batch)
        waiting = [r for r in rows if r.message_id is None]
        cutoff = now - timedelta(seconds=settings.XSENDER_INBOUND_MATCH_SECONDS)
        expired = [r for r in waiting if r.received_at <= cutoff]
        later = [(r.id, now + _retry_after(r.attempts)) for r in waiting if r.received_at > cutoff]
        if rows:
            queue.finish(done=[r.id for r in matched + expired], later=later)
        queue.count_unmatched(Counter((r.scope, timezone.localdate(now)) for r in expired))
    batch.waiting, batch.dropped = len(later), len(expired)
    return batch


def _retry_after(attempts: int) -> timedelta:
    return timedelta(seconds=min(RETRY_CAP_SECONDS, 2**attempts))


def _apply_matched(rows: list[queue.Claimed], batch: Batch) -> None:
    stubs = {r.message_id: transitions.message_ref(r.message_id) for r in rows}
    applied = transitions.apply_reports(reports=[_report(r, stubs[r.message_id]) for r in rows], keep_refused=True)
    batch.applied = sum(1 for a in applied if a.changed)
    batch.kept = len(applied) - batch.applied
    messaging.add_suppressions(
        entries=[
            (None if r.by_admin else r.user_id, r.channel, r.recipient, REASONS[r.suppress])  # the admin's: global
            for r in rows
            if r.suppress in REASONS
        ]
    )
    unsubscribed = [(r, a) for r, a in zip(rows, applied, strict=True) if r.kind == "unsubscribed"]
    platform.publish([_unsubscribed(r, a.status) for r, a in unsubscribed])


def _unsubscribed(row: queue.Claimed, status: str) -> platform.PlatformEvent:
    data = {"uid": str(row.message_uid), "channel": row.channel, "status": status, "recipient": row.recipient,
            "gateway": row.gateway_identifier or None}  # fmt: skip
    return platform.PlatformEvent(
        type="message.unsubscribed", user_id=None if row.by_admin else row.user_id, by_admin=row.by_admin,
        data=data, at=row.occurred_at or timezone.now(),
    )  # fmt: skip


def publish_unsubscribed(*, message: Message, status: str, at: datetime | None = None) -> None:
    """Publishes `message.unsubscribed` for one of our own unsubscribe links (campaigns), in the shape the
    provider-reported ones have (`_unsubscribed`)."""
    data = {"uid": str(message.uid), "channel": message.channel, "status": status, "recipient": message.recipient,
            "gateway": message.gateway.identifier if message.gateway_id else None}  # fmt: skip
    platform.publish([
        platform.PlatformEvent(
            type="message.unsubscribed", user_id=None if message.by_admin else message.user_id,
            by_admin=message.by_admin, data=data, at=at or timezone.now(),
        )
    ])  # fmt: skip


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


def unmatched_counts() -> dict[str, int]:
    """Events dropped because they named no message we know, per scope (gateway:<uid> or site:<provider>)."""
    totals: Counter[str] = Counter()
    for scope, count in UnmatchedCount.objects.values_list("scope", "count"):
        totals[scope] += count
    return dict(totals)


def purge_seen_events() -> int:
    """Forgets event ids older than XSENDER_WEBHOOK_EVENT_RETENTION_DAYS (a bounded slice per call)."""
    cutoff = timezone.now() - timedelta(days=settings.XSENDER_WEBHOOK_EVENT_RETENTION_DAYS)
    ids = SeenEvent.objects.filter(seen_at__lt=cutoff).values_list("pk", flat=True)[:PURGE_BATCH]
    deleted, _ = SeenEvent.objects.filter(pk__in=list(ids)).delete()
    return deleted
