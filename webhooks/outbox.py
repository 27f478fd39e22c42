"""The outbox: events become delivery rows inside the transaction of what caused them.

Message moves arrive through messaging.transitions' observers, other platform events through xsender.events;
both first ask which of the batch's tenants have an enabled endpoint (one small indexed probe: all a tenant
without endpoints ever costs), then `record` writes the rest in one INSERT … SELECT that joins the events with
the endpoints that asked for their type.
Committed with the move, or rolled back with it: a crash between the two loses nothing and invents nothing.
The endpoints that got rows are woken after the commit (webhooks.jobs).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import connection

from gateways.models import Gateway
from messaging.transitions import Moved
from webhooks.choices import EVENT_TYPES, MESSAGE_STATUS_EVENTS
from webhooks.jobs import wake_on_commit
from webhooks.models import Delivery, Endpoint
from xsender.events import PlatformEvent


@dataclass
class Outgoing:
    """One event on its way to the outbox. `user_id` is the tenant it concerns (None: the admin's traffic)."""

    type: str
    user_id: int | None
    by_admin: bool
    at: datetime
    data: dict[str, Any]
    gateway_id: int | None = None  # its identifier is added to data as "gateway" (read in the same statement)
    event_id: str = field(default_factory=lambda: new_event_id())


def new_event_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def timestamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _plain(value: Any) -> str:
    """JSON for what publishers put in `data` beyond JSON's types: times as in `timestamp`, the rest as text."""
    return timestamp(value) if isinstance(value, datetime) else str(value)


_INSERT = f"""
INSERT INTO {Delivery._meta.db_table} (endpoint_id, event_id, type, payload, status, attempts, next_attempt_at,
                                       created_at, last_status_code, last_error)
SELECT e.id, ev.event_id, ev.type,
       jsonb_build_object('type', ev.type, 'id', ev.event_id, 'timestamp', ev.ts,
                          'data', CASE WHEN ev.gateway_id IS NULL THEN ev.data
                                       ELSE ev.data || jsonb_build_object('gateway', g.identifier) END),
       'pending', 0, %s, %s, NULL, ''
FROM jsonb_to_recordset(%s::jsonb)
     AS ev(event_id text, type text, user_id bigint, by_admin boolean, ts text, data jsonb, gateway_id bigint)
JOIN {Endpoint._meta.db_table} AS e
  ON e.enabled AND ev.type = ANY(e.event_types)
 AND CASE WHEN ev.by_admin THEN e.user_id IS NULL ELSE e.user_id = ev.user_id END
LEFT JOIN {Gateway._meta.db_table} AS g ON g.id = ev.gateway_id
RETURNING endpoint_id
"""  # noqa: S608 — table names from the models; every value is a parameter


def record(events: list[Outgoing]) -> set[int]:
    """Writes one delivery row per event and matching endpoint (in the caller's transaction); returns the
    endpoints that got one, which are woken once the transaction commits. The events travel as one JSON
    parameter (cheaper to send than one array per column)."""
    rows = [
        {
            "event_id": e.event_id, "type": e.type, "user_id": e.user_id, "by_admin": e.by_admin, "ts": timestamp(e.at),
            "data": {**e.data, "user_id": None if e.by_admin else e.user_id, "by_admin": e.by_admin},
            "gateway_id": e.gateway_id,
        }
        for e in events
        if e.type in EVENT_TYPES and (e.by_admin or e.user_id is not None)
    ]  # fmt: skip
    if not rows:
        return set()
    now = datetime.now(UTC)
    with connection.cursor() as cursor:
        cursor.execute(_INSERT, [now, now, json.dumps(rows, default=_plain)])
        endpoints = {endpoint_id for (endpoint_id,) in cursor.fetchall()}
    wake_on_commit(endpoints)
    return endpoints


def message_event(moved: Moved) -> Outgoing | None:
    """The event a message's move is, if tenants can subscribe to it (a cancellation is not)."""
    event_type = MESSAGE_STATUS_EVENTS.get(moved.status)
    if event_type is None:
        return None
    message = moved.message
    data = {
        "uid": str(message.uid),
        "channel": message.channel,
        "status": moved.status,
        "recipient": message.recipient,
        "gateway": None,
        "error": message.error or None,
        "provider_message_id": message.provider_message_id or None,
        "source": message.source,
    }
    return Outgoing(event_type, message.user_id, message.by_admin, moved.at, data, message.gateway_id)


_OWNERS = f"""
SELECT DISTINCT user_id FROM {Endpoint._meta.db_table}
WHERE enabled AND (user_id = ANY(%s::bigint[]) OR (%s AND user_id IS NULL))
"""  # noqa: S608


def owners_with_endpoints(owners: set[int | None]) -> set[int | None]:
    """Which of `owners` (None: the admin) have an enabled endpoint: one small indexed probe, so that a batch of a
    tenant without endpoints costs that and nothing more (no payloads built or sent)."""
    if not owners:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(_OWNERS, [sorted(o for o in owners if o is not None), None in owners])
        return {user_id for (user_id,) in cursor.fetchall()}


def _owner(user_id: int | None, by_admin: bool) -> int | None:
    return None if by_admin else user_id


def record_moves(moves: list[Moved]) -> None:
    """messaging.transitions observer."""
    shown = [m for m in moves if m.status in MESSAGE_STATUS_EVENTS]
    wanted = owners_with_endpoints({_owner(m.message.user_id, m.message.by_admin) for m in shown})
    if wanted:
        mine = [m for m in shown if _owner(m.message.user_id, m.message.by_admin) in wanted]
        record([event for moved in mine if (event := message_event(moved)) is not None])


def record_platform_events(events: list[PlatformEvent]) -> None:
    """xsender.events subscriber."""
    wanted = owners_with_endpoints({_owner(e.user_id, e.by_admin) for e in events if e.type in EVENT_TYPES})
    if wanted:
        mine = [e for e in events if _owner(e.user_id, e.by_admin) in wanted]
        record([Outgoing(e.type, e.user_id, e.by_admin, e.at, dict(e.data)) for e in mine])
