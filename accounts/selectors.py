"""Reads of accounts that span models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import CharField, F, Q, QuerySet, Value
from django.utils import timezone

from accounts.models import ApiKey, CreditAccount, CreditEntry, Plan, User
from xsender.errors import NotFound
from xsender.rows import Columns

_KEY, _USER, _PLAN = Columns(ApiKey, "k"), Columns(User, "u"), Columns(Plan, "p")
_KEY_WITH_OWNER = (
    f"SELECT {_KEY.sql}, {_USER.sql}, {_PLAN.sql} FROM accounts_apikey k "  # noqa: S608 — column names only
    "JOIN accounts_user u ON u.id = k.user_id LEFT JOIN accounts_plan p ON p.id = u.plan_id WHERE k.prefix = %s"
)


def key_with_owner(prefix: str) -> ApiKey | None:
    """The key with this prefix, its user and the user's plan loaded, in one prepared statement (every API
    request reads it: the ORM would compile the three-table query anew each time)."""
    with connection.cursor() as cursor:
        cursor.execute(_KEY_WITH_OWNER, [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    key_end, user_end = len(_KEY), len(_KEY) + len(_USER)
    key, user = _KEY.build(row[:key_end]), _USER.build(row[key_end:user_end])
    plan = _PLAN.build(row[user_end:]) if row[user_end] is not None else None
    user._state.fields_cache["plan"] = plan
    key._state.fields_cache["user"] = user
    return key


# ---------------------------------------------------------------- API keys


def api_keys_of(user: User) -> QuerySet[ApiKey]:
    """The user's keys, active ones first, newest first."""
    return ApiKey.objects.filter(user=user).order_by(F("revoked_at").asc(nulls_first=True), "-created_at", "-id")


def api_key_of(*, user: User, prefix: str) -> ApiKey:
    """The user's key with this prefix; NotFound for anyone else's (or none)."""
    key = ApiKey.objects.filter(user=user, prefix=prefix).first()
    if key is None:
        raise NotFound("API key not found.")
    return key


# ---------------------------------------------------------------- the ledger


@dataclass(frozen=True)
class LedgerFilter:
    """Which entries the ledger shows: every field optional; `since`/`until` are days in the server's time zone."""

    channel: str = ""
    reason: str = ""
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class LedgerCursor:
    """Where a ledger page starts: strictly older than (created_at, id)."""

    created_at: datetime
    id: int

    def encode(self) -> str:
        return f"{self.created_at.timestamp():.6f}_{self.id}"

    @classmethod
    def decode(cls, value: str) -> LedgerCursor | None:
        stamp, _, pk = (value or "").partition("_")
        try:
            return cls(datetime.fromtimestamp(float(stamp), tz=UTC), int(pk))
        except (ValueError, OverflowError, OSError):
            return None


@dataclass
class LedgerPage:
    rows: list[dict[str, Any]]
    next: LedgerCursor | None


LEDGER_FIELDS = ("id", "created_at", "delta", "reason", "note", "message_uid")


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def ledger_rows(
    *, user: User, wanted: LedgerFilter, after: LedgerCursor | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Up to `limit` of the user's ledger entries matching `wanted`, newest first (created_at, then id), older than
    `after`: one query.

    Each account (one per channel) is read in the order of the (account, created_at, id) index, at most `limit` of
    its entries, and the accounts are merged under one ORDER BY and LIMIT (UNION ALL of ordered, limited parts:
    each part stops after `limit` index entries, however long its ledger), never an OFFSET or a COUNT."""
    accounts = CreditAccount.objects.filter(user=user)
    if wanted.channel:
        accounts = accounts.filter(channel=wanted.channel)
    parts = []
    for account_id, channel in accounts.order_by("channel").values_list("id", "channel"):
        rows = CreditEntry.objects.filter(account_id=account_id)
        if wanted.reason:
            rows = rows.filter(reason=wanted.reason)
        if wanted.since:
            rows = rows.filter(created_at__gte=_day_start(wanted.since))
        if wanted.until:
            rows = rows.filter(created_at__lt=_day_start(wanted.until + timedelta(days=1)))
        if after is not None:
            rows = rows.filter(Q(created_at__lt=after.created_at) | Q(created_at=after.created_at, id__lt=after.id))
        channel_value = Value(channel, output_field=CharField())
        rows = rows.annotate(channel=channel_value).values(*LEDGER_FIELDS, "channel")
        parts.append(rows.order_by("-created_at", "-id")[:limit])
    if not parts:
        return []
    merged = parts[0] if len(parts) == 1 else parts[0].union(*parts[1:], all=True).order_by("-created_at", "-id")
    return list(merged[:limit])


def ledger_page(*, user: User, wanted: LedgerFilter, after: LedgerCursor | None = None, size: int = 50) -> LedgerPage:
    """One page of `ledger_rows` and the cursor of the next one (None on the last page)."""
    rows = ledger_rows(user=user, wanted=wanted, after=after, limit=size + 1)
    more = len(rows) > size
    rows = rows[:size]
    return LedgerPage(rows=rows, next=LedgerCursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None)
