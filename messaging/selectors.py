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


def history_rows(*, user: User, wanted: HistoryFilter, after: Cursor | None = None) -> QuerySet[Message]:
    """The user's messages matching `wanted`, newest first (created_at, then id), older than `after`: one query.

    Each channel is read in the order of the (user, channel, created_at, id) index and the channels are merged
    (UNION ALL under one ORDER BY: a merge of index scans), so a page costs its rows, never an OFFSET or a
    COUNT. Slice it for a page; iterate it (`.iterator()`) to stream every row.
    """
    channels = [wanted.channel] if wanted.channel else list(CHANNELS)
    parts = []
    for channel in channels:
        rows = _filtered(user, channel, wanted)
        if after is not None:
            rows = rows.filter(Q(created_at__lt=after.created_at) | Q(created_at=after.created_at, id__lt=after.id))
        parts.append(rows.order_by().values(*LIST_FIELDS))
    merged = parts[0] if len(parts) == 1 else parts[0].union(*parts[1:], all=True)
    return merged.order_by("-created_at", "-id")


def history_page(*, user: User, wanted: HistoryFilter, after: Cursor | None = None, size: int = 50) -> HistoryPage:
    """One page of `history_rows`, and the cursor of the next one (None on the last page). Two queries: the rows,
    and the names of their gateways."""
    rows = list(history_rows(user=user, wanted=wanted, after=after)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    names = dict(
        Gateway.objects.filter(pk__in={r["gateway_id"] for r in rows if r["gateway_id"]}).values_list(
            "pk", "identifier"
        )
    )
    for row in rows:
        row["gateway"] = names.get(row["gateway_id"], "")
    following = Cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None
    return HistoryPage(rows=rows, next=following)


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
