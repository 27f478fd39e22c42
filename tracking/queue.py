"""The statements of the inbound queue (tracking.QueuedEvent), one round trip each, prepared by the connection.

- `enqueue`: the receiver's one statement: the event ids not seen before (tracking_seenevent, ON CONFLICT DO
  NOTHING: a repeated delivery stops there) become queue rows, each answering whether its message is known yet;
- `claim`: a drain's batch, locked (SKIP LOCKED: two drains never take the same rows), each row with the message
  its provider id names among the gateways that verified it (the msg_provider_id index), or none yet;
- `finish`: the batch's rows deleted, or put back to wait for their message; `count_unmatched`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connection

from gateways.backends.base import ProviderEvent
from xsender.parsers import storable

# One VALUES row of scalar parameters per event: PostgreSQL parses them faster than an array per column, and a
# request of one event (most providers' shape) is one prepared statement.
_ROW = "(%s, %s, %s, %s, %s, %s, %s::timestamptz, %s, %s::jsonb)"
_ENQUEUE = """
WITH v (key, provider_message_id, status, kind, suppress, error, occurred_at, event_id, detail) AS (VALUES {rows}),
fresh AS (
    INSERT INTO tracking_seenevent (key, seen_at) SELECT key, %s FROM v ON CONFLICT (key) DO NOTHING RETURNING key
)
INSERT INTO tracking_queuedevent (gateway_id, gateway_ids, scope, provider_message_id, status, kind, suppress, error,
                                  occurred_at, event_id, detail, received_at, due_at, attempts)
SELECT %s, %s::bigint[], %s, v.provider_message_id, v.status, v.kind, v.suppress, v.error, v.occurred_at,
       v.event_id, v.detail, %s, %s, 0
FROM v JOIN fresh ON fresh.key = v.key
RETURNING EXISTS (
    SELECT 1 FROM messaging_message m WHERE m.gateway_id = ANY(gateway_ids)
    AND m.provider_message_id = tracking_queuedevent.provider_message_id AND m.provider_message_id <> ''
)
"""


def enqueue(
    *, gateway_id: int, gateway_ids: list[int], scope: str, keyed: dict[str, ProviderEvent], now: datetime
) -> list[bool]:
    """Queues the events of `keyed` (event key → event) not seen before; for each queued one, whether its message
    is known yet. Those missing from the answer were duplicates."""
    params: list[Any] = []
    for key, e in keyed.items():
        params += [key, e.provider_message_id.replace("\x00", "")[:255], e.status or "",
                   (e.kind or (e.status or "").lower())[:32], e.suppress[:16], e.error.replace("\x00", ""),
                   e.occurred_at, e.event_id.replace("\x00", ""), _json(e.detail)]  # fmt: skip
    sql = _ENQUEUE.format(rows=", ".join([_ROW] * len(keyed)))
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, now, gateway_id, gateway_ids, scope, now, now])
        return [row[0] for row in cursor.fetchall()]


def _json(detail: Any) -> str:
    """`detail` as JSON PostgreSQL takes: a NUL or lone surrogate (which jsonb refuses) is replaced in every string
    (xsender.parsers.storable; the receiver did so already), so that one odd provider field can never stop the
    event, nor later its gateway's queue."""
    text = json.dumps(detail, default=str)
    return json.dumps(storable(detail), default=str) if "\\u0000" in text or "\\ud" in text else text


@dataclass
class Claimed:
    """A queued event and what its provider id names: the message's id and the fields of it the tracking needs
    (none of them change after the send), or `message_id` None when no message has that id yet."""

    id: int
    scope: str
    provider_message_id: str
    status: str
    kind: str
    suppress: str
    error: str
    occurred_at: datetime | None
    event_id: str
    detail: dict[str, Any]
    received_at: datetime
    attempts: int
    message_id: int | None
    message_uid: Any
    user_id: int | None
    by_admin: bool
    channel: str
    recipient: str
    gateway_identifier: str


# The batch is chosen and locked first, in the order of the (gateway, due_at, id) index, then joined with its
# messages: the index probe per event is paid for the batch's rows only, however long the queue.
_CLAIM = """
WITH q AS (
    SELECT * FROM tracking_queuedevent WHERE gateway_id = %s AND due_at <= %s
    ORDER BY due_at, id LIMIT %s FOR UPDATE SKIP LOCKED
)
SELECT q.id, q.scope, q.provider_message_id, q.status, q.kind, q.suppress, q.error, q.occurred_at, q.event_id,
       q.detail, q.received_at, q.attempts, m.id, m.uid, m.user_id, m.by_admin, m.channel, m.recipient, g.identifier
FROM q
LEFT JOIN LATERAL (
    SELECT id, uid, user_id, by_admin, channel, recipient, gateway_id FROM messaging_message
    WHERE gateway_id = ANY(q.gateway_ids) AND provider_message_id = q.provider_message_id AND provider_message_id <> ''
    ORDER BY id DESC LIMIT 1
) m ON true
LEFT JOIN gateways_gateway g ON g.id = m.gateway_id
ORDER BY q.due_at, q.id
"""


def claim(*, gateway_id: int, now: datetime, limit: int) -> list[Claimed]:
    """Inside a transaction: up to `limit` due events of the gateway's queue, oldest first, locked."""
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM, [gateway_id, now, limit])
        rows = cursor.fetchall()
    claimed = []
    for row in rows:
        values = list(row)
        if isinstance(values[9], str):  # jsonb arrives as text through a raw cursor
            values[9] = json.loads(values[9])
        values[15] = bool(values[15])
        values[16], values[17], values[18] = values[16] or "", values[17] or "", values[18] or ""
        claimed.append(Claimed(*values))
    return claimed


_FINISH = """
WITH gone AS (DELETE FROM tracking_queuedevent WHERE id = ANY(%s::bigint[]))
UPDATE tracking_queuedevent q SET attempts = q.attempts + 1, due_at = v.due_at
FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, due_at) WHERE q.id = v.id
"""


def finish(*, done: list[int], later: list[tuple[int, datetime]]) -> None:
    """Deletes the `done` rows; puts each of `later` back to be tried again at its time. One statement."""
    with connection.cursor() as cursor:
        cursor.execute(_FINISH, [done, [i for i, _ in later], [at for _, at in later]])


_COUNT = """
INSERT INTO tracking_unmatchedcount (scope, day, count) SELECT * FROM unnest(%s::text[], %s::date[], %s::int[])
ON CONFLICT (scope, day) DO UPDATE SET count = tracking_unmatchedcount.count + EXCLUDED.count
"""


def count_unmatched(counts: Counter[tuple[str, date]]) -> None:
    """Adds dropped events to the unmatched counts, per scope and day: one statement."""
    if not counts:
        return
    keys = list(counts)
    with connection.cursor() as cursor:
        cursor.execute(_COUNT, [[s for s, _ in keys], [d for _, d in keys], [counts[k] for k in keys]])


# Gateways with due events: one probe of the (gateway, due_at) index per gateway that has any (a loose index
# scan), however many events wait.
_DUE = """
WITH RECURSIVE g(id) AS (
    (SELECT gateway_id FROM tracking_queuedevent ORDER BY gateway_id LIMIT 1)
    UNION ALL
    SELECT (SELECT gateway_id FROM tracking_queuedevent WHERE gateway_id > g.id ORDER BY gateway_id LIMIT 1)
    FROM g WHERE g.id IS NOT NULL
)
SELECT id FROM g WHERE id IS NOT NULL
AND EXISTS (SELECT 1 FROM tracking_queuedevent q WHERE q.gateway_id = g.id AND q.due_at <= %s)
"""


def due_gateways(now: datetime) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(_DUE, [now])
        return [row[0] for row in cursor.fetchall()]


def still_due(gateway_id: int, now: datetime) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM tracking_queuedevent WHERE gateway_id = %s AND due_at <= %s)",
            [gateway_id, now],
        )
        return bool(cursor.fetchone()[0])
