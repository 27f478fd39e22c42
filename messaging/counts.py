"""Daily counts per tenant, channel and status (messaging.models.DailyCount): added to in the statements that
move messages, never recomputed from the messages table.

`accepted_sql` is a common table expression the send path's single statement embeds (so a single send adds no
round trip); `add` is one upsert for any number of moves (one statement per delivered chunk).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from django.db import connection
from django.utils import timezone

SHARDS = 8
KINDS = ("accepted", "sent", "delivered", "opened", "clicked", "bounced", "complained", "failed", "cancelled")
_UPSERT = (
    "INSERT INTO messaging_dailycount (user_id, day, channel, kind, shard, count) {rows} "
    "ON CONFLICT (user_id, day, channel, kind, shard) DO UPDATE SET count = messaging_dailycount.count + EXCLUDED.count"
)


def today(at: datetime | None = None) -> date:
    return timezone.localdate(at or timezone.now())


def accepted_sql(*, user_id: int, channel: str, count: int, guard: str) -> tuple[str, list[Any]]:
    """`counted AS (…)`: adds `count` accepted messages for today when `guard` (SQL of the caller's statement)
    holds."""
    sql = (
        "counted AS (" + _UPSERT.format(rows="SELECT %s, %s, %s, 'accepted', %s, %s WHERE " + guard) + ")"  # noqa: S608
    )
    return sql, [user_id, today(), channel, random.randrange(SHARDS), count]  # noqa: S311 — spreading, not secrecy


def add(entries: Iterable[tuple[int, datetime, str, str]]) -> None:
    """Adds one to each (user_id, at, channel, kind), grouped: one statement for all of them."""
    days: dict[datetime, date] = {}  # a bulk's messages share their time: the local day computed once per time

    def day(at: datetime) -> date:
        found = days.get(at)
        if found is None:
            found = days[at] = today(at)
        return found

    grouped = Counter((user_id, day(at), channel, kind) for user_id, at, channel, kind in entries)
    if not grouped:
        return
    shard = random.randrange(SHARDS)  # noqa: S311
    rows = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(grouped))
    params: list[Any] = []
    for (user_id, day, channel, kind), n in grouped.items():
        params += [user_id, day, channel, kind, shard, n]
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT.format(rows=f"VALUES {rows}"), params)
