"""The one module that moves a message between statuses: the timestamps, the event rows and the refunds.

Delivery, the scheduler's sweeps, cancellation, phones' reports and (later) provider webhooks all come here;
nothing else writes `Message.status`. Every function works on many messages in a constant number of queries.

Which status may follow which is `NEXT`; anything else is refused (a late `Delivered` never undoes `Opened`,
a `failed` report never rewinds a delivered message). Which moves refund the message's credit is `refunds()`:
only a message that provably never left — cancelled, failed before hand-off, or refused by its gateway during
the hand-off. A message whose hand-off may have happened (a worker died mid-call, a phone took it and went
silent) keeps its charge, and so does one that failed after it was sent. docs/architecture.md has the table.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import services as accounts
from gateways.backends.base import SendResult
from gateways.models import Gateway
from messaging import counts
from messaging.bulk import (
    REPORT_COLUMNS,
    claim_next_rows,
    hand_to_device,
    insert_events,
    lock_messages,
    update_reported,
    update_results,
)
from messaging.bulk import message_ref as bulk_message_ref
from messaging.models import Message, MessageEvent, Status

S = Status
NEXT: dict[str, frozenset[str]] = {
    S.SCHEDULED: frozenset({S.PENDING, S.CANCELLED, S.FAILED}),
    S.PENDING: frozenset({S.PROCESSING, S.CANCELLED, S.FAILED}),
    S.PROCESSING: frozenset({S.PENDING, S.SENT, S.DELIVERED, S.FAILED}),
    S.SENT: frozenset({S.DELIVERED, S.OPENED, S.CLICKED, S.BOUNCED, S.COMPLAINED, S.FAILED}),
    S.DELIVERED: frozenset({S.OPENED, S.CLICKED, S.COMPLAINED}),
    S.OPENED: frozenset({S.CLICKED, S.COMPLAINED}),
    S.CLICKED: frozenset({S.COMPLAINED}),
    S.BOUNCED: frozenset(),
    S.COMPLAINED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}
NOT_YET_SENT = frozenset({S.SCHEDULED, S.PENDING, S.PROCESSING})
TIMESTAMP_FIELD = {
    S.PROCESSING: "processing_at",
    S.SENT: "sent_at",
    S.DELIVERED: "delivered_at",
    S.OPENED: "opened_at",
    S.CLICKED: "clicked_at",
    S.FAILED: "failed_at",
    S.BOUNCED: "failed_at",
}
UNKNOWN_NOT_RESENT = "Outcome unknown: {why}. Not resent, to avoid a duplicate."


def can_move(current: str, target: str) -> bool:
    return target in NEXT[S(current)]


def refunds(current: str, target: str, *, unknown: bool = False) -> bool:
    """Whether moving a message from `current` to `target` gives its credit back: only when it provably never
    left (never handed over, or refused by its gateway during the hand-off) — never for an unknown outcome."""
    return target in (S.FAILED, S.CANCELLED) and current in NOT_YET_SENT and not unknown


def _refund(messages: Iterable[Message]) -> None:
    """Gives back the credits of `messages` (one ledger entry each, one balance update per user and channel)."""
    by_account: dict[tuple[int, str], list[Message]] = defaultdict(list)
    for message in messages:
        if message.cost and not message.by_admin:
            by_account[(message.user_id, message.channel)].append(message)
    for (user_id, channel), rows in by_account.items():
        accounts.refund_many(user_id=user_id, channel=channel, refunds=[(m.uid, m.cost) for m in rows])


@dataclass(frozen=True)
class Moved:
    """A message that has just moved to `status` (a status a tenant sees: Sent and beyond, Failed, Cancelled)."""

    message: Message
    status: str
    at: datetime
    payload: dict[str, Any]


Observer = Callable[[list[Moved]], None]
_observers: list[Observer] = []


def register_observer(observer: Observer) -> None:
    """Calls `observer` with every batch of moves, inside the transaction that makes them (an app above
    messaging — the webhooks' outbox — records what follows from them atomically with the move). Registered
    from the app's AppConfig.ready(); messaging imports no app above it."""
    if observer not in _observers:
        _observers.append(observer)


def unregister_observer(observer: Observer) -> None:
    if observer in _observers:
        _observers.remove(observer)


def _moved(moves: list[Moved]) -> None:
    """Within the caller's transaction: the daily counts, then every observer."""
    if not moves:
        return
    counts.add((m.message.user_id, m.at, m.message.channel, m.status.lower()) for m in moves)
    for observer in _observers:
        observer(moves)


def _event(message: Message, kind: str, at: datetime, payload: dict[str, Any] | None = None) -> MessageEvent:
    return MessageEvent(message=message, kind=kind, at=at, payload=payload or {})


# ---------------------------------------------------------------- claims (Pending → Processing)


def _claim_changes(handoff: bool) -> dict[str, Any]:
    now = timezone.now()
    return {
        "status": S.PROCESSING,
        "claim_token": uuid.uuid4(),
        "processing_at": now,
        "lease_expires_at": now + timedelta(seconds=settings.XSENDER_LEASE_SECONDS),
        "attempts": 1,  # an increment
        "handoff_at": now if handoff else None,
        "updated_at": now,
    }


def claim_next(*, gateway_id: int, limit: int, handoff: bool = True) -> list[Message]:
    """Takes the gateway's next `limit` due Pending messages (highest priority, then oldest) for this run;
    another run never gets the same. With `handoff` the rows are stamped as being handed to the provider now:
    if the run dies before recording their results, the sweeps know their outcome is unknown."""
    return claim_next_rows(gateway_id=gateway_id, limit=limit, changes=_claim_changes(handoff))


def claim_for_device(*, sims: dict[int, str], device_uid: uuid.UUID, lease_seconds: int) -> list[Message]:
    """Hands the locked Pending messages `sims` (id → SIM uid) to a phone: Processing under its lease. The phone
    taking them is the hand-off."""
    if not sims:
        return []
    now = timezone.now()
    changes = {
        "status": S.PROCESSING, "claimed_by_device": device_uid, "processing_at": now, "handoff_at": now,
        "lease_expires_at": now + timedelta(seconds=lease_seconds), "updated_at": now,
    }  # fmt: skip
    return hand_to_device(sims=sims, changes=changes)


# ---------------------------------------------------------------- a worker's results (Processing → …)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, settings.XSENDER_RETRY_BACKOFF * 2 ** max(0, attempts - 1)))


def _outcome(message: Message, result: SendResult, gateway: Gateway, now: datetime) -> tuple[str, bool]:
    """Sets one result's fields on `message`; returns (event kind, refund)."""
    message.claim_token, message.lease_expires_at, message.updated_at = None, None, now
    message.gateway_response = result.raw or {}
    if result.ok:
        message.status, message.sent_at = S.SENT, now
        message.provider_message_id, message.error = result.provider_message_id or "", ""
        return "sent", False
    message.error = result.error[:2000]
    retries_left = message.attempts < settings.XSENDER_MAX_ATTEMPTS
    unknown = result.unknown
    if unknown and not (gateway.retry_unknown_outcome and retries_left):
        message.status, message.failed_at = S.FAILED, now
        if "Not resent" not in message.error:
            message.error = (message.error.rstrip(".") + ". Not resent, to avoid a duplicate.")[:2000]
        return "unknown_outcome", False
    if (result.transient or unknown) and retries_left:
        message.status, message.handoff_at = S.PENDING, None
        message.next_attempt_at = now + backoff(message.attempts)
        return "retry", False
    message.status, message.failed_at = S.FAILED, now
    return "failed", refunds(S.PROCESSING, S.FAILED)


def record_send_results(*, gateway: Gateway, messages: list[Message], results: list[SendResult]) -> list[Message]:
    """Writes a claimed chunk's outcomes: Sent, back to Pending for a retry, or Failed (refunded when it never
    left). Each row is written only while this run still holds its claim; refunds and events follow the rows
    actually written. One UPDATE, at most one INSERT of events and the refund's statements."""
    by_uid = {str(r.uid): r for r in results}
    missing = "The gateway returned no result for this message."
    tokens = [m.claim_token for m in messages]
    now = timezone.now()
    kinds: dict[int, tuple[str, bool]] = {}
    for message in messages:
        result = by_uid.get(str(message.uid)) or SendResult(uid=message.uid, ok=False, transient=True, error=missing)
        kinds[message.pk] = _outcome(message, result, gateway, now)
    with transaction.atomic():
        written = update_results(messages, tokens)
        moved = [m for m in messages if m.pk in written]
        # A plain send is recorded by sent_at; events keep what went wrong (and, later, the provider's tracking).
        events = [_event(m, kinds[m.pk][0], now, {"error": m.error}) for m in moved if kinds[m.pk][0] != "sent"]
        if events:
            MessageEvent.objects.bulk_create(events)
        _refund(m for m in moved if kinds[m.pk][1])
        _moved([Moved(m, m.status, now, {"error": m.error} if m.error else {}) for m in moved if m.status != S.PENDING])
    return moved


# ---------------------------------------------------------------- the scheduler's sweeps


def release_scheduled(rows: list[Message], now: datetime) -> list[Message]:
    """Scheduled → Pending for `rows`, locked by the caller."""
    Message.objects.filter(pk__in=[m.pk for m in rows], status=S.SCHEDULED).update(
        status=S.PENDING, queued_at=now, updated_at=now
    )
    for message in rows:
        message.status, message.queued_at = S.PENDING, now
    return rows


def _expire(message: Message, now: datetime, pull: bool) -> str:
    """Decides what an expired lease means for one message; returns the event kind."""
    message.lease_expires_at, message.claim_token, message.updated_at = None, None, now
    if pull:  # a phone took it: once back to the queue, then its outcome is unknown
        message.claimed_by_device, message.device_sim = None, ""
        if message.attempts < 2:
            message.status = S.PENDING
            return "lease_expired"
        message.status, message.failed_at = S.FAILED, now
        message.error = UNKNOWN_NOT_RESENT.format(why="the phone took it twice and never reported")
        return "unknown_outcome"
    if message.handoff_at is None:
        message.status = S.PENDING  # never handed to the provider: safe to send
        return "requeued"
    retries_left = message.attempts < settings.XSENDER_MAX_ATTEMPTS
    if message.gateway is not None and message.gateway.retry_unknown_outcome and retries_left:
        message.status, message.handoff_at, message.queued_at = S.PENDING, None, now
        message.error = "Outcome unknown (the worker stopped during the provider call); resent as the gateway allows."
        return "requeued"
    message.status, message.failed_at = S.FAILED, now
    message.error = UNKNOWN_NOT_RESENT.format(why="the worker stopped during the provider call")
    return "unknown_outcome"


def expire_leases(rows: list[Message], now: datetime, pull_providers: Sequence[str]) -> list[Message]:
    """Processing → Pending or Failed for `rows` (locked by the caller, gateways loaded) whose lease expired.
    Clearing the claim token stops a stalled run from writing over the decision later. Nothing is refunded:
    a message whose lease expired was either never handed over (it is sent again) or its outcome is unknown."""
    events = []
    for message in rows:
        pull = message.gateway is not None and message.gateway.provider in pull_providers
        events.append(_event(message, _expire(message, now, pull), now, {"error": message.error}))
    fields = ["status", "lease_expires_at", "claim_token", "claimed_by_device", "device_sim", "failed_at", "error"]
    Message.objects.bulk_update(rows, [*fields, "handoff_at", "queued_at", "updated_at"])
    MessageEvent.objects.bulk_create(events)
    _moved([Moved(m, m.status, now, {"error": m.error}) for m in rows if m.status == S.FAILED])
    return rows


# ---------------------------------------------------------------- cancel, and failing what cannot be sent


def _fail_or_cancel(rows: list[Message], target: str, kind: str, error: str) -> list[Message]:
    now = timezone.now()
    changes: dict[str, Any] = {"status": target, "updated_at": now, "lease_expires_at": None, "claim_token": None}
    if target == S.FAILED:
        changes.update(failed_at=now, error=error)
    Message.objects.filter(pk__in=[m.pk for m in rows]).update(**changes)
    MessageEvent.objects.bulk_create(_event(m, kind, now, {"error": error} if error else None) for m in rows)
    _refund(m for m in rows if refunds(m.status, target, unknown=m.handoff_at is not None))
    for message in rows:
        message.status = target
    _moved([Moved(m, target, now, {"error": error} if error else {}) for m in rows])
    return rows


def cancel(*, messages: Iterable[Message]) -> int:
    """Cancels the messages not yet claimed by a worker or phone (Scheduled or Pending) and refunds them."""
    ids = [m.pk for m in messages]
    with transaction.atomic():
        rows = list(
            Message.objects.select_for_update().filter(pk__in=ids, status__in=[S.SCHEDULED, S.PENDING]).order_by("pk")
        )
        _fail_or_cancel(rows, S.CANCELLED, "cancelled", "")
    return len(rows)


def fail_unsendable(*, rows: list[Message], error: str) -> list[Message]:
    """Fails `rows` (Scheduled, Pending or Processing, locked by the caller) with `error`: their gateway is going
    away. Refunded unless a worker or phone had already taken them (then their outcome is unknown)."""
    return _fail_or_cancel([m for m in rows if m.status in NOT_YET_SENT], S.FAILED, "failed", error)


# ---------------------------------------------------------------- reports after the hand-off (phones, webhooks)


@dataclass
class Report:
    """What a phone or a provider says happened to one message."""

    message: Message
    status: str
    at: datetime | None = None
    error: str = ""
    payload: dict[str, Any] | None = None
    kind: str = ""  # the event row's kind (default: the status in lower case); status "" moves nothing


@dataclass
class Applied:
    changed: bool
    status: str  # the message's status after the report
    reason: str = ""  # why nothing changed


def _apply(row: Message, report: Report, now: datetime) -> Applied:
    current = S(row.status)
    if not report.status:
        return Applied(False, current, "The report records an event and moves nothing.")
    if report.status == current or not can_move(current, report.status):
        why = "already" if report.status == current else "cannot move from"
        return Applied(False, current, f"The message is {why} {current}; the report changes nothing.")
    row.status, row.lease_expires_at, row.updated_at = report.status, None, now
    if report.status in TIMESTAMP_FIELD:
        setattr(row, TIMESTAMP_FIELD[report.status], report.at or now)
    if report.error:
        row.error = report.error[:2000]
    return Applied(True, report.status)


def _kept(report: Report, applied: Applied, now: datetime) -> tuple[int, str, datetime, dict[str, Any]]:
    """The event row of a report: what the provider said, and, when it moved nothing, why."""
    payload = dict(report.payload or {})
    if not applied.changed:
        payload["not_applied"] = applied.reason
    return report.message.pk, report.kind or report.status.lower(), report.at or now, payload


def apply_reports(*, reports: list[Report], keep_refused: bool = False) -> list[Applied]:
    """Moves each message as reported when `NEXT` allows it; a report that would not move it forward changes
    nothing and says why — with `keep_refused` it is still kept as an event row (a provider's `bounced` after
    `delivered` is history, not a rewind). A phone's `failed` for a message it still holds is its gateway's
    refusal: refunded. Idempotent; the same queries for one report or five hundred."""
    if not reports:
        return []
    now = timezone.now()
    fields = list(REPORT_COLUMNS)  # status, error, the lease and every timestamp a report may set
    with transaction.atomic():
        # Raw, prepared statements (bulk.py): the ORM's bulk_update CASE per field and row, and its instances
        # built field by field, cost most of a provider batch of hundreds.
        rows = lock_messages([r.message.pk for r in reports])
        before = {pk: m.status for pk, m in rows.items()}
        applied = [_apply(rows[r.message.pk], r, now) for r in reports]
        moved = [(r, a) for r, a in zip(reports, applied, strict=True) if a.changed]
        kept = [(r, a) for r, a in zip(reports, applied, strict=True) if a.changed or keep_refused]
        if kept:
            insert_events([_kept(r, a, now) for r, a in kept])
        if moved:
            update_reported(list({r.message.pk: rows[r.message.pk] for r, _ in moved}.values()))
            _refund(rows[pk] for pk in {r.message.pk for r, _ in moved} if refunds(before[pk], rows[pk].status))
            _moved([Moved(rows[r.message.pk], r.status, r.at or now, r.payload or {}) for r, _ in moved])
    for report in reports:
        row = rows[report.message.pk]
        for name in fields:
            setattr(report.message, name, getattr(row, name))
    return applied


def message_ref(pk: int) -> Message:
    """The message `pk` for a Report when only its id is known: apply_reports locks and reads it whole, then sets
    the fields it moved on this instance."""
    return bulk_message_ref(pk)


def find_by_provider_ids(*, gateway_ids: Sequence[int], provider_message_ids: Iterable[str]) -> dict[str, Message]:
    """The messages of `gateway_ids` answered under `provider_message_ids`, by provider id, in one query (the
    msg_provider_id index). A provider's id names a message only within the gateways given: a verified
    webhook passes the gateways its secret stands for, so it cannot reach another tenant's message."""
    wanted = sorted({i for i in provider_message_ids if i})
    if not wanted or not gateway_ids:
        return {}
    rows = Message.objects.filter(
        ~Q(provider_message_id=""), gateway_id__in=list(gateway_ids), provider_message_id__in=wanted
    ).select_related("gateway")
    return {m.provider_message_id: m for m in rows}


def pending_without_gateway() -> Any:
    """Queued messages whose gateway is gone (removed before removal settled its messages)."""
    return Message.objects.filter(Q(gateway__isnull=True), status__in=[S.SCHEDULED, S.PENDING])
