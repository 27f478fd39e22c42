"""Reads of the dispatch log, always scoped to the tenant (another tenant's uid is a 404)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import CHANNELS, User
from gateways.models import Gateway
from messaging.models import DailyCount, Message, Status
from messaging.validation import normalise_email, normalise_number
from xsender.errors import NotFound


def get_message(*, user: User, channel: str, uid: str) -> Message:
    """The user's message `uid` on `channel`, with its gateway and events; NotFound for anything else."""
    try:
        parsed = uuid.UUID(str(uid))
    except ValueError:
        raise NotFound("Message not found.") from None
    if channel not in CHANNELS:
        raise NotFound("Message not found.")
    message = (
        Message.objects.for_tenant(user)
        .filter(channel=channel, uid=parsed)
        .select_related("gateway")
        .prefetch_related("events")
        .first()
    )
    if message is None:
        raise NotFound("Message not found.")
    return message


# ---------------------------------------------------------------- the panel: dashboard, history, export


def daily_counts(*, user: User, since: date) -> dict[tuple[date, str, str], int]:
    """(day, channel, kind) → count of the user's messages from `since` on, the shards summed (one grouped query
    over the daily counts' unique index; the messages table is never counted)."""
    rows = (
        DailyCount.objects.for_tenant(user)
        .filter(day__gte=since)
        .values_list("day", "channel", "kind")
        .annotate(total=Sum("count"))
        .order_by()
    )
    return {(day, channel, kind): total for day, channel, kind, total in rows}


def latest_failures(*, user: User, limit: int = 10) -> list[Message]:
    """The user's most recent failed messages with their reason (the partial index of failed messages)."""
    return list(
        Message.objects.for_tenant(user)
        .filter(status=Status.FAILED)
        .order_by("-created_at", "-id")
        .only("uid", "channel", "recipient", "error", "created_at", "failed_at", "status")[:limit]
    )


@dataclass(frozen=True)
class HistoryFilter:
    """What the history shows: every field optional. `since`/`until` are days in the server's time zone,
    `search` a uid or an exact recipient."""

    channel: str = ""
    status: str = ""
    gateway: int | None = None  # a gateway's id, among those the user may see
    since: date | None = None
    until: date | None = None
    search: str = ""
    source: str = ""


@dataclass(frozen=True)
class Cursor:
    """Where a history page starts: strictly older than (created_at, id)."""

    created_at: datetime
    id: int

    def encode(self) -> str:
        return f"{self.created_at.timestamp():.6f}_{self.id}"

    @classmethod
    def decode(cls, value: str) -> Cursor | None:
        stamp, _, pk = (value or "").partition("_")
        try:
            return cls(datetime.fromtimestamp(float(stamp), tz=UTC), int(pk))
        except (ValueError, OverflowError, OSError):
            return None


LIST_FIELDS = (
    "id", "uid", "created_at", "channel", "recipient", "subject", "status", "gateway_id", "source", "cost",
    "sms_type", "schedule_at", "error",
)  # fmt: skip


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _filtered(user: User, channel: str, wanted: HistoryFilter) -> QuerySet[Message]:
    rows = Message.objects.for_tenant(user).filter(channel=channel)
    if wanted.status:  # Failed reads the partial index of failed messages
        rows = rows.filter(status=wanted.status)
    if wanted.source:
        rows = rows.filter(source=wanted.source)
    if wanted.gateway:
        rows = rows.filter(gateway_id=wanted.gateway)
    if wanted.since:
        rows = rows.filter(created_at__gte=_day_start(wanted.since))
    if wanted.until:
        rows = rows.filter(created_at__lt=_day_start(wanted.until + timedelta(days=1)))
    if wanted.search:
        rows = _searched(rows, wanted.search)
    return rows


def _searched(rows: QuerySet[Message], text: str) -> QuerySet[Message]:
    text = text.strip()
    try:
        return rows.filter(uid=uuid.UUID(text))
    except ValueError:
        pass
    recipient = normalise_number(text) if text.startswith("+") else None
    if recipient is None:
        try:
            recipient = normalise_email(text)
        except ValueError:
            recipient = text
    return rows.filter(recipient=recipient)


def _per_channel(user: User, wanted: HistoryFilter, after: Cursor | None) -> list[QuerySet[Message]]:
    """One query per channel, each newest first in the order of the (user, channel, created_at, id) index."""
    parts = []
    for channel in [wanted.channel] if wanted.channel else list(CHANNELS):
        rows = _filtered(user, channel, wanted)
        if after is not None:
            rows = rows.filter(Q(created_at__lt=after.created_at) | Q(created_at=after.created_at, id__lt=after.id))
        parts.append(rows.order_by("-created_at", "-id").values(*LIST_FIELDS))
    return parts


def history_page(*, user: User, wanted: HistoryFilter, after: Cursor | None = None, size: int = 50) -> HistoryPage:
    """One page of the user's messages matching `wanted`, newest first (created_at, then id), older than `after`,
    and the cursor of the next page (None on the last). Two queries: the rows, and their gateways' names.

    Each channel gives its first `size + 1` rows from its index and the channels are merged (UNION ALL of the
    three, then the top `size + 1`): a page costs its rows, never an OFFSET or a COUNT, however many there are.
    """
    parts = [part[: size + 1] for part in _per_channel(user, wanted, after)]
    merged = parts[0] if len(parts) == 1 else parts[0].union(*parts[1:], all=True).order_by("-created_at", "-id")
    rows = list(merged[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    ids = {r["gateway_id"] for r in rows if r["gateway_id"]}
    names = dict(Gateway.objects.filter(pk__in=ids).values_list("pk", "identifier"))
    for row in rows:
        row["gateway"] = names.get(row["gateway_id"], "")
    following = Cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None
    return HistoryPage(rows=rows, next=following)


# A text a spreadsheet would run as a formula (=, @, tab, CR, or + / - not starting a number) gets a leading quote;
# phone numbers (+1555…) stay as they are.
_CELL = (
    "CASE WHEN {0} ~ '^[=@\\t\\r]' OR ({0} ~ '^[+-]' AND {0} !~ '^[+-]?[0-9][0-9 .]*$') THEN '''' || {0} ELSE {0} END"
)
_STAMP = "to_char({0}, 'YYYY-MM-DD\"T\"HH24:MI:SS.USOF')"
EXPORT_COLUMNS = {
    "uid": "t.uid", "created_at": _STAMP.format("t.created_at"), "channel": "t.channel",
    "recipient": _CELL.format("t.recipient"), "subject": _CELL.format("t.subject"), "status": "t.status",
    "gateway": "(SELECT g.identifier FROM gateways_gateway g WHERE g.id = t.gateway_id)", "source": "t.source",
    "cost": "t.cost", "sms_type": "t.sms_type", "schedule_at": _STAMP.format("t.schedule_at"),
    "error": _CELL.format("t.error"),
}  # fmt: skip


def history_export_sql(*, user: User, wanted: HistoryFilter) -> tuple[str, list[Any]]:
    """A query of every message matching `wanted`, newest first as `history_page` orders them, shaped as the CSV
    export's columns (times in the session's time zone, formulas neutralised): for `COPY (…) TO STDOUT`, which
    streams it without a row passing through Python.

    The channels' queries (for_tenant, as the page's) are merged under one ORDER BY around a subquery, so
    PostgreSQL merges three index scans rather than sorting the whole history."""
    parts, params = [], []
    for part in _per_channel(user, wanted, None):
        sql, part_params = part.order_by().query.sql_with_params()
        parts.append(f"({sql})")
        params.extend(part_params)
    columns = ", ".join(f'{expression} AS "{name}"' for name, expression in EXPORT_COLUMNS.items())
    union = " UNION ALL ".join(parts)
    return f"SELECT {columns} FROM ({union}) t ORDER BY t.created_at DESC, t.id DESC", params  # noqa: S608


@dataclass
class HistoryPage:
    rows: list[dict[str, Any]]
    next: Cursor | None


def message_of(*, user: User, uid: Any) -> Message:
    """The user's message `uid` (any channel), its gateway and events loaded; NotFound for anything else."""
    try:
        parsed = uuid.UUID(str(uid))
    except ValueError:
        raise NotFound("Message not found.") from None
    message = (
        Message.objects.for_tenant(user).filter(uid=parsed).select_related("gateway").prefetch_related("events").first()
    )
    if message is None:
        raise NotFound("Message not found.")
    return message
