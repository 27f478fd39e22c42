"""What the admin overview shows (the Django admin index, staff only): queues, workers, traffic, failures, top
tenants, devices online. Every read here is bounded whatever the size of the messages table:

- messages of the last hour are found by the primary key, not by a scan: ids grow with `created_at` (a message
  is stored in the request that creates it), so the first id of the hour is found by bisecting the id range
  (about 40 probes of the primary key index, in one statement), and the hour's rows are then read as one range of
  that index, at most OVERVIEW_ROWS of them. No index is added to the messages table for this page (each one
  would cost every send);
- top tenants come from the daily counts (messaging.models.DailyCount), one probe of their (user, day, …) unique
  index per tenant, never from the messages;
- queue depths and workers come from Redis (django-rq); Redis being away is shown, not raised.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import django_rq
from django.conf import settings
from django.db import connection
from django.utils import timezone
from redis.exceptions import RedisError
from rq.worker import Worker

from accounts.models import User
from devices.models import AndroidDevice
from gateways.models import Gateway
from messaging.counts import today

logger = logging.getLogger(__name__)

# The most rows of the last hour the traffic and failure figures read (a busier hour shows its latest part).
OVERVIEW_ROWS = 200_000
FAILED = ("Failed", "Bounced", "Complained")
DELIVERED = ("Sent", "Delivered", "Opened", "Clicked")

# The first message id created at or after %(since)s: a bisection of [min id, max id + 1] in one statement, each
# step one probe of the primary key ("the first row at or after the middle id"). An empty table gives NULL.
_FIRST_ID_SINCE = """
WITH RECURSIVE ends AS (SELECT min(id) AS lo, max(id) + 1 AS hi FROM messaging_message),
step(lo, hi) AS (
    SELECT lo, hi FROM ends WHERE lo IS NOT NULL
    UNION ALL
    SELECT CASE WHEN probe.later THEN step.lo ELSE middle.id + 1 END,
           CASE WHEN probe.later THEN middle.id ELSE step.hi END
    FROM step
    CROSS JOIN LATERAL (SELECT (step.lo + step.hi) / 2 AS id) AS middle
    CROSS JOIN LATERAL (
        SELECT coalesce(
            (SELECT m.created_at >= %(since)s FROM messaging_message m WHERE m.id >= middle.id ORDER BY m.id LIMIT 1),
            TRUE
        ) AS later
    ) AS probe
    WHERE step.lo < step.hi
)
SELECT lo FROM step WHERE lo >= hi
"""

_PER_MINUTE = """
SELECT date_trunc('minute', created_at) AS minute, count(*) FROM (
    SELECT created_at FROM messaging_message WHERE id >= %(first)s ORDER BY id DESC LIMIT %(rows)s
) AS recent WHERE created_at >= %(since)s GROUP BY 1 ORDER BY 1
"""

_PER_GATEWAY = """
SELECT gateway_id, count(*) FILTER (WHERE status = ANY(%(failed)s)), count(*) FILTER (WHERE status = ANY(%(ok)s))
FROM (
    SELECT gateway_id, status, created_at FROM messaging_message WHERE id >= %(first)s ORDER BY id DESC LIMIT %(rows)s
) AS recent WHERE created_at >= %(since)s AND gateway_id IS NOT NULL GROUP BY gateway_id
HAVING count(*) FILTER (WHERE status = ANY(%(failed)s) OR status = ANY(%(ok)s)) > 0
"""

# One probe of the daily counts' (user, day, channel, kind, shard) index per tenant.
_TOP_TENANTS = """
SELECT u.id, u.email, t.total FROM accounts_user u
CROSS JOIN LATERAL (
    SELECT sum(d.count) AS total FROM messaging_dailycount d
    WHERE d.user_id = u.id AND d.day = %(day)s AND d.kind = 'accepted'
) AS t
WHERE t.total > 0 ORDER BY t.total DESC, u.id LIMIT %(limit)s
"""


@dataclass
class QueueDepth:
    name: str
    queued: int
    started: int
    failed: int


@dataclass
class WorkerSeen:
    name: str
    state: str
    queues: list[str]
    last_heartbeat: datetime | None


@dataclass
class GatewayFailures:
    gateway: Gateway
    failed: int
    delivered: int

    @property
    def rate(self) -> float:
        """Failed among the finished ones, in percent."""
        done = self.failed + self.delivered
        return round(100 * self.failed / done, 1) if done else 0.0


@dataclass
class Overview:
    queues: list[QueueDepth] = field(default_factory=list)
    workers: list[WorkerSeen] = field(default_factory=list)
    redis_error: str = ""
    per_minute: list[tuple[datetime, int]] = field(default_factory=list)
    hour_total: int = 0
    truncated: bool = False
    gateways: list[GatewayFailures] = field(default_factory=list)
    top_tenants: list[tuple[User, int]] = field(default_factory=list)
    devices_online: int = 0
    devices_active: int = 0


def first_message_id_since(since: datetime) -> int | None:
    """The id from which messages were created at or after `since` (None when the table is empty)."""
    with connection.cursor() as cursor:
        cursor.execute(_FIRST_ID_SINCE, {"since": since})
        row = cursor.fetchone()
    return row[0] if row else None


def _queues_and_workers(overview: Overview) -> None:
    try:
        for name in settings.RQ_QUEUES:
            queue = django_rq.get_queue(name)
            overview.queues.append(
                QueueDepth(name, queue.count, queue.started_job_registry.count, queue.failed_job_registry.count)
            )
        workers = Worker.all(connection=django_rq.get_connection(next(iter(settings.RQ_QUEUES))))
        overview.workers = [
            WorkerSeen(w.name, str(w.get_state()), w.queue_names(), getattr(w, "last_heartbeat", None))
            for w in sorted(workers, key=lambda w: w.name)
        ]
    except RedisError as exc:
        logger.warning("admin overview: Redis unreachable (%s)", type(exc).__name__)
        overview.redis_error = f"Redis did not answer ({type(exc).__name__}): queue depths and workers unknown."


def _last_hour(overview: Overview, now: datetime) -> None:
    since = now - timedelta(hours=1)
    first = first_message_id_since(since)
    if first is None:
        return
    params = {"first": first, "since": since, "rows": OVERVIEW_ROWS, "failed": list(FAILED), "ok": list(DELIVERED)}
    with connection.cursor() as cursor:
        cursor.execute(_PER_MINUTE, params)
        overview.per_minute = [(timezone.localtime(minute), count) for minute, count in cursor.fetchall()]
        cursor.execute(_PER_GATEWAY, params)
        per_gateway = cursor.fetchall()
    overview.hour_total = sum(count for _, count in overview.per_minute)
    overview.truncated = overview.hour_total >= OVERVIEW_ROWS
    named = Gateway.objects.select_related("owner").only("identifier", "channel", "provider", "owner__email")
    gateways = named.in_bulk([row[0] for row in per_gateway])  # the config (encrypted) is never read here
    overview.gateways = sorted(
        (GatewayFailures(gateways[pk], failed, ok) for pk, failed, ok in per_gateway if pk in gateways),
        key=lambda g: (-g.rate, -g.failed, g.gateway.identifier),
    )


def _top_tenants(overview: Overview, limit: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_TOP_TENANTS, {"day": today(), "limit": limit})
        rows = cursor.fetchall()
    users = User.objects.in_bulk([pk for pk, _, _ in rows])
    overview.top_tenants = [(users[pk], int(total)) for pk, _, total in rows if pk in users]


def admin_overview(*, top: int = 10) -> Overview:
    """Everything the admin index shows above the models (a handful of bounded queries and Redis calls)."""
    now = timezone.now()
    overview = Overview()
    _queues_and_workers(overview)
    _last_hour(overview, now)
    _top_tenants(overview, top)
    online_since = now - timedelta(seconds=settings.XSENDER_DEVICE_OFFLINE_AFTER)
    active = AndroidDevice.objects.filter(is_active=True)
    overview.devices_active = active.count()
    overview.devices_online = active.filter(last_seen_at__gte=online_since).count()
    return overview


def chart_bars(per_minute: list[tuple[datetime, int]], *, height: int = 80, width: int = 10) -> list[dict[str, Any]]:
    """The per-minute counts as the bars of an SVG chart (x, y, height in the SVG's units; no style attributes)."""
    peak = max((count for _, count in per_minute), default=0)
    bars = []
    for index, (minute, count) in enumerate(per_minute):
        tall = round(height * count / peak) if peak else 0
        bars.append({"minute": minute, "count": count, "x": index * width, "y": height - tall, "height": tall})
    return bars
