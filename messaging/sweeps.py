"""The scheduler's sweeps. Each takes its rows with SKIP LOCKED and a conditional UPDATE: two schedulers
running at once never release, requeue or fail the same message twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from gateways.backends import pull_providers
from messaging import transitions
from messaging.bulk import pending_gateways
from messaging.jobs import enqueue_delivery, queue_for, wake
from messaging.models import IdempotencyRecord, Message, Status

logger = logging.getLogger(__name__)
SWEEP_LIMIT = 5000


def _lock(queryset: QuerySet[Message]) -> list[Message]:
    return list(
        queryset.select_for_update(skip_locked=True, of=("self",))
        .select_related("gateway")
        .order_by("pk")[:SWEEP_LIMIT]
    )


def release_scheduled() -> int:
    """Scheduled messages whose time has come become Pending and are enqueued."""
    now = timezone.now()
    with transaction.atomic():
        due = _lock(Message.objects.filter(status=Status.SCHEDULED, schedule_at__lte=now))
        transitions.release_scheduled(due, now)
        enqueue_delivery(due)
    return len(due)


def wake_due() -> int:
    """Wakes every gateway whose due Pending messages have no drain queued or running (its wake-up was lost
    with Redis, a worker died, a retry came due, a paused gateway's pause ended); returns how many drains it
    queued. One probe per gateway, whatever the number of messages; a gateway already draining costs nothing."""
    due = pending_gateways(now=timezone.now(), exclude_providers=pull_providers())
    return wake((gateway_id, queue_for(priority)) for gateway_id, priority in due)


def recover_expired_leases() -> int:
    """Processing messages whose worker or device went silent past the lease."""
    now = timezone.now()
    with transaction.atomic():
        rows = _lock(Message.objects.filter(status=Status.PROCESSING, lease_expires_at__lte=now))
        transitions.expire_leases(rows, now, pull_providers())
        enqueue_delivery([m for m in rows if m.status == Status.PENDING])
    return len(rows)


def fail_orphans() -> int:
    """Queued messages whose gateway was deleted without settling them (before removal went through the
    service) would wait forever, charged: they fail, refunded."""
    with transaction.atomic():
        rows = _lock(transitions.pending_without_gateway())
        transitions.fail_unsendable(rows=rows, error="Its gateway was removed before it could be sent.")
    return len(rows)


def purge_idempotency_records() -> int:
    cutoff = timezone.now() - timedelta(hours=24)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def run_sweeps() -> dict[str, int]:
    return {
        "released": release_scheduled(),
        "woken": wake_due(),
        "leases_expired": recover_expired_leases(),
        "orphans_failed": fail_orphans(),
        "idempotency_purged": purge_idempotency_records(),
    }
