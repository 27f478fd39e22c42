"""Bulk writes of the hot paths, in one statement each.

Inserts go through `COPY`, result updates through `unnest()` of one array per column: Django's
bulk_create/bulk_update spend most of their time preparing one parameter (or one CASE branch) per field per
row, which for 1,000 recipients is most of a request. PostgreSQL only (the one database XSender runs on).
Only messaging.transitions and the accept service call these: status moves have one home.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models.base import ModelState

from messaging.models import Message

INSERT_COLUMNS: dict[str, str] = {
    "uid": "uuid", "user_id": "bigint", "by_admin": "boolean", "channel": "text", "gateway_id": "bigint",
    "recipient": "text", "subject": "text", "body": "text", "sender_name": "text", "reply_to": "text",
    "list_unsubscribe": "text", "from_email": "text", "text_body": "text", "sms_type": "text", "media": "text",
    "media_url": "text", "attachments": "jsonb", "whatsapp_template": "jsonb", "status": "text", "priority": "smallint", "schedule_at": "timestamptz",
    "provider_message_id": "text", "gateway_response": "jsonb", "error": "text", "attempts": "smallint",
    "cost": "integer", "source": "text", "idempotency_key": "text", "device_sim": "text", "created_at": "timestamptz",
    "queued_at": "timestamptz", "updated_at": "timestamptz",
}  # fmt: skip
JSON_COLUMNS = {"attachments", "gateway_response", "whatsapp_template"}
NULLABLE_JSON = {"whatsapp_template"}  # None is SQL NULL there, never the JSON value null
RESULT_COLUMNS: dict[str, str] = {
    "status": "text", "sent_at": "timestamptz", "failed_at": "timestamptz", "provider_message_id": "text",
    "gateway_response": "jsonb", "error": "text", "next_attempt_at": "timestamptz", "lease_expires_at": "timestamptz",
    "claim_token": "uuid", "handoff_at": "timestamptz", "updated_at": "timestamptz",
}  # fmt: skip


FIELDS = [f.attname for f in Message._meta.concrete_fields]
DEFAULTS = {
    f.attname: f.get_default() for f in Message._meta.concrete_fields if not (f.has_default() and callable(f.default))
}


def _instance(attributes: dict[str, Any], *, db: str | None = None) -> Message:
    """A Message with `attributes` set at once, without `Model.__init__`'s per-field work: for a thousand
    recipients `__init__` alone was a quarter of an accept request. Message has no init signals, and every
    concrete field is given, so nothing else differs. `db` set: a row read from that database."""
    message = Message.__new__(Message)
    message.__dict__.update(attributes)
    message._state = ModelState()
    if db is not None:
        message._state.adding, message._state.db = False, db
    return message


def new_message(values: dict[str, Any], *, gateway: Any = None) -> Message:
    """A new, unsaved Message. `values` must give every field with a callable default (uid, created_at);
    `gateway` caches the relation."""
    message = _instance({**DEFAULTS, "gateway_response": {}, **values})
    if gateway is not None:
        message._state.fields_cache["gateway"] = gateway
    return message


def _value(message: Message, column: str) -> Any:
    value = getattr(message, column)
    return _json(value, column) if column in JSON_COLUMNS else value


def _json(value: Any, column: str) -> str | None:
    if value is None and column in NULLABLE_JSON:
        return None
    if not value and value.__class__ in (dict, list):  # most messages: no attachments, no provider answer yet
        return "{}" if value.__class__ is dict else "[]"
    return json.dumps(value)


_ROW = operator.attrgetter("id", *INSERT_COLUMNS)
_INSERT_ROW = operator.attrgetter(*INSERT_COLUMNS)
_JSON_AT = [(index + 1, column) for index, column in enumerate(INSERT_COLUMNS) if column in JSON_COLUMNS]


def insert_messages(messages: Sequence[Message]) -> None:
    """Inserts `messages` (COPY on PostgreSQL) and sets their primary keys. Two statements whatever the count:
    the ids are taken from the table's sequence first, so the rows go in with them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('messaging_message', 'id')) FROM generate_series(1, %s)",
            [len(messages)],
        )
        for message, (pk,) in zip(messages, cursor.fetchall(), strict=True):
            message.pk = message.id = pk
            message._state.adding = False
        with cursor.cursor.copy(f"COPY messaging_message (id, {', '.join(INSERT_COLUMNS)}) FROM STDIN") as copy:
            for message in messages:
                row = list(_ROW(message))
                for index, column in _JSON_AT:
                    row[index] = _json(row[index], column)
                copy.write_row(row)


# The rows of insert_charged as one JSON parameter, typed by the table's own column types: the statement's text is
# the same for any number of rows and any caller's charge, so psycopg keeps its parsed form (it caches only
# statements of at most 50 parameters) and PostgreSQL its prepared plan.
_RECORDSET = ", ".join(f"{column} {kind}" for column, kind in INSERT_COLUMNS.items())
_INSERT_JSON = (
    f"INSERT INTO messaging_message ({', '.join(INSERT_COLUMNS)}) "  # noqa: S608 — constant column names only
    f"SELECT {', '.join(INSERT_COLUMNS)} FROM jsonb_to_recordset(%s::jsonb) AS v({_RECORDSET})"
)


def insert_charged(messages: Sequence[Message], charge: Any = None, also: Sequence[tuple[str, list[Any]]] = ()) -> bool:
    """Inserts `messages` in one statement — with `charge` (accounts.services.DebitStatement), only if the charge
    takes, in the same statement, so no transaction is needed: either both happen or neither. Sets the
    messages' primary keys; returns False (nothing written) when the balance was short."""
    # JSON columns go in as JSON values (a None of whatsapp_template is JSON null: SQL NULL there).
    rows = json.dumps([dict(zip(INSERT_COLUMNS, _INSERT_ROW(m), strict=True)) for m in messages], default=_iso)
    if charge is None:
        sql, params = f"{_INSERT_JSON} RETURNING id, uid", [rows]
    else:
        # `also`: more common table expressions of the caller's, run only when the charge took (they may read
        # `charged`); the send path counts its accepted messages here.
        ctes = ", ".join([charge.sql, *(sql for sql, _ in also)])
        sql = f"WITH {ctes} {_INSERT_JSON} WHERE EXISTS (SELECT 1 FROM charged) RETURNING id, uid"  # noqa: S608
        params = [*charge.params, *(p for _, extra in also for p in extra), rows]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = dict((uid, pk) for pk, uid in cursor.fetchall())
    if not ids:
        return False
    for message in messages:
        message.pk = message.id = ids[message.uid]
        message._state.adding = False
    return True


def update_results(messages: Sequence[Message], tokens: Sequence[Any]) -> set[int]:
    """Writes the delivery outcome fields of `messages`, each only while it is still Processing under the claim
    token it was sent with (`tokens`, in the same order): a run that stalled past its lease cannot overwrite
    what the sweeps or another run decided since. Returns the ids actually written (one statement)."""
    if not messages:
        return set()
    columns = list(RESULT_COLUMNS)
    # One array parameter per column, unnested into rows: a dozen parameters for any number of messages.
    arrays: list[list[Any]] = [[m.pk for m in messages], list(tokens)]
    for column in columns:
        values = [getattr(m, column) for m in messages]
        arrays.append([json.dumps(v) for v in values] if column in JSON_COLUMNS else values)
    unnested = ", ".join(f"unnest(%s::{RESULT_COLUMNS[c]}[]) AS {c}" for c in columns)
    assignments = ", ".join(f"{c} = v.{c}" for c in columns)
    sql = (
        f"UPDATE messaging_message AS m SET {assignments} "  # noqa: S608 — constant column names only
        f"FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::uuid[]) AS held, {unnested}) AS v "
        "WHERE m.id = v.id AND m.claim_token = v.held AND m.status = 'Processing' RETURNING m.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)
        return {row[0] for row in cursor.fetchall()}


REPORT_COLUMNS: dict[str, str] = {
    "status": "text", "error": "text", "lease_expires_at": "timestamptz", "updated_at": "timestamptz",
    "processing_at": "timestamptz", "sent_at": "timestamptz", "delivered_at": "timestamptz",
    "opened_at": "timestamptz", "clicked_at": "timestamptz", "failed_at": "timestamptz",
}  # fmt: skip
_LOCK = f"SELECT {', '.join(FIELDS)} FROM messaging_message WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE"  # noqa: S608


def lock_messages(ids: Sequence[int]) -> dict[int, Message]:
    """Inside a transaction: locks the messages `ids` in id order (so two lockers never deadlock) and returns
    them by id, read whole (one prepared statement; no ORM instances built field by field)."""
    with connection.cursor() as cursor:
        cursor.execute(_LOCK, [sorted(set(ids))])
        return {m.pk: m for m in _from_rows(cursor.fetchall())}


def message_ref(pk: int) -> Message:
    """A Message standing for the row `pk`, carrying only its id (fields not given load on first access), built
    without `Model.__init__`: what a caller that knows only ids hands to apply_reports, which locks and reads the
    rows whole."""
    return _instance({"id": pk}, db=connection.alias)


_UPDATE_REPORTED = (
    f"UPDATE messaging_message AS m SET {', '.join(f'{c} = v.{c}' for c in REPORT_COLUMNS)} "  # noqa: S608
    f"FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, {', '.join(f'{c} {t}' for c, t in REPORT_COLUMNS.items())}) "
    "WHERE m.id = v.id"
)
_REPORTED = operator.attrgetter("id", *REPORT_COLUMNS)


def update_reported(messages: Sequence[Message]) -> None:
    """Writes the fields a report moves (`REPORT_COLUMNS`) of `messages`, locked by the caller: one statement whose
    one parameter is a JSON array of the rows (serialised and parsed in C: no per-value escaping), whatever the
    number of messages."""
    if not messages:
        return
    names = ["id", *REPORT_COLUMNS]
    rows = [dict(zip(names, _REPORTED(m), strict=True)) for m in messages]
    with connection.cursor() as cursor:
        cursor.execute(_UPDATE_REPORTED, [json.dumps(rows, default=_iso)])


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_EVENTS = (
    "INSERT INTO messaging_messageevent (message_id, kind, at, payload) SELECT message_id, kind, at, payload "
    "FROM jsonb_to_recordset(%s::jsonb) AS v(message_id bigint, kind text, at timestamptz, payload jsonb)"
)


def insert_events(events: Sequence[tuple[int, str, datetime, dict[str, Any]]]) -> None:
    """Inserts MessageEvent rows given as (message id, kind, at, payload), in their order: one statement whose one
    parameter is a JSON array of the rows."""
    if not events:
        return
    rows = [{"message_id": m, "kind": k, "at": at.isoformat(), "payload": p} for m, k, at, p in events]
    with connection.cursor() as cursor:
        cursor.execute(_EVENTS, [json.dumps(rows)])


def claim_next_rows(*, gateway_id: int, limit: int, changes: dict[str, Any]) -> list[Message]:
    """Claims the gateway's next `limit` due Pending messages, highest priority then oldest first, skipping rows
    another run is claiming; returns them. One statement, on the pending-claims index."""
    assignments = ", ".join(f"{column} = %s" for column in changes)
    if "attempts" in changes:
        assignments = assignments.replace("attempts = %s", "attempts = m.attempts + %s")
    sql = (
        f"UPDATE messaging_message AS m SET {assignments} FROM ("  # noqa: S608 — constant column names only
        "SELECT id FROM messaging_message WHERE gateway_id = %s AND status = 'Pending' "
        "AND (next_attempt_at IS NULL OR next_attempt_at <= %s) ORDER BY priority DESC, created_at LIMIT %s "
        f"FOR UPDATE SKIP LOCKED) AS c WHERE m.id = c.id RETURNING {', '.join(f'm.{f}' for f in FIELDS)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*changes.values(), gateway_id, changes["processing_at"], limit])
        return sorted(_from_rows(cursor.fetchall()), key=lambda m: (-m.priority, m.created_at, m.pk))


def pending_gateways(*, now: Any, exclude_providers: Sequence[str]) -> list[tuple[int, int]]:
    """(gateway id, highest due priority) of every gateway with due Pending messages: one probe of the
    pending-claims index per gateway (a loose index scan), however many messages wait."""
    sql = """
        WITH RECURSIVE g(id) AS (
            (SELECT gateway_id FROM messaging_message WHERE status = 'Pending' AND gateway_id IS NOT NULL
             ORDER BY gateway_id LIMIT 1)
            UNION ALL
            SELECT (SELECT gateway_id FROM messaging_message WHERE status = 'Pending' AND gateway_id > g.id
                    ORDER BY gateway_id LIMIT 1) FROM g WHERE g.id IS NOT NULL
        )
        SELECT g.id, (SELECT priority FROM messaging_message m WHERE m.gateway_id = g.id AND m.status = 'Pending'
                      AND (m.next_attempt_at IS NULL OR m.next_attempt_at <= %s)
                      ORDER BY priority DESC, created_at LIMIT 1)
        FROM g JOIN gateways_gateway gw ON gw.id = g.id
        WHERE g.id IS NOT NULL AND NOT (gw.provider = ANY(%s))
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, list(exclude_providers)])
        return [(gateway_id, top) for gateway_id, top in cursor.fetchall() if top is not None]


_JSON_POSITIONS = [FIELDS.index(c) for c in JSON_COLUMNS]


def _from_rows(rows: Sequence[Sequence[Any]]) -> list[Message]:
    """Messages from raw rows of every field (`RETURNING` them skips the field converters: JSON decoded here)."""
    messages = []
    for row in rows:
        values = list(row)
        for position in _JSON_POSITIONS:
            if isinstance(values[position], str):
                values[position] = json.loads(values[position])
        messages.append(_instance(dict(zip(FIELDS, values, strict=True)), db="default"))
    return messages


_PENDING_OF = (
    "SELECT id, priority, created_at FROM messaging_message WHERE gateway_id = {gateway} AND status = 'Pending' "
    "AND (next_attempt_at IS NULL OR next_attempt_at <= %s) ORDER BY priority DESC, created_at LIMIT %s "
    "FOR UPDATE SKIP LOCKED"
)


def lock_device_candidates(
    *, gateway_id: int, owner_id: int, pool_identifier: str, now: Any, limit: int
) -> list[tuple[int, int, Any]]:
    """Inside a transaction: locks up to `limit` due Pending messages of a phone's own gateway and
    as many of its tenant's pool gateway, skipping rows another poll holds; (id, priority, created_at) rows.

    One indexed, ordered scan per gateway (an IN over both would sort every pending row of the tenant), in one
    round trip."""
    pool = "(SELECT id FROM gateways_gateway WHERE owner_id = %s AND identifier = %s)"
    sql = (
        f"WITH own AS ({_PENDING_OF.format(gateway='%s')}), pool AS ({_PENDING_OF.format(gateway=pool)}) "  # noqa: S608 — constant SQL
        "SELECT * FROM own UNION ALL SELECT * FROM pool"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [gateway_id, now, limit, owner_id, pool_identifier, now, limit])
        return cursor.fetchall()


def hand_to_device(*, sims: dict[int, str], changes: dict[str, Any]) -> list[Message]:
    """Moves the locked messages `sims` (id → SIM uid) to the phone with `changes`, returning the rows, in one
    statement."""
    assignments = ", ".join(f"{column} = %s" for column in changes)
    sql = (
        f"UPDATE messaging_message AS m SET {assignments}, device_sim = v.sim, attempts = m.attempts + 1 "  # noqa: S608
        "FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::text[]) AS sim) AS v WHERE m.id = v.id "
        f"RETURNING {', '.join(f'm.{f}' for f in FIELDS)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*changes.values(), list(sims), list(sims.values())])
        return _from_rows(cursor.fetchall())
