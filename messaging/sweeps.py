"""The scheduler's sweeps. Each takes its rows with SKIP LOCKED and a conditional UPDATE: two schedulers
running at once never release, requeue or fail the same message twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from gateways.backends import pull_providers
from messaging.jobs import enqueue_delivery
from messaging.models import IdempotencyRecord, Message, MessageEvent, Status
from messaging.services import refund_failed

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
        Message.objects.filter(pk__in=[m.pk for m in due], status=Status.SCHEDULED).update(
            status=Status.PENDING, queued_at=now, updated_at=now
        )
        enqueue_delivery(due)
    return len(due)


def requeue_lost() -> int:
    """Pending messages whose wake-up was lost (Redis flushed, crash before enqueue) or whose retry is due."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.XSENDER_REQUEUE_AFTER)
    lost = Q(next_attempt_at__isnull=True, queued_at__lte=stale) | Q(
        next_attempt_at__isnull=True, queued_at__isnull=True
    )
    due = Q(next_attempt_at__lte=now)
    with transaction.atomic():
        rows = _lock(
            Message.objects.filter(lost | due, status=Status.PENDING).exclude(gateway__provider__in=pull_providers())
        )
        Message.objects.filter(pk__in=[m.pk for m in rows], status=Status.PENDING).update(queued_at=now, updated_at=now)
        enqueue_delivery(rows)
    return len(rows)


def _expire(message: Message, now: timezone.datetime) -> str:
    """Decides what an expired lease means for one message; returns the event kind."""
    message.lease_expires_at = None
    message.claim_token = None
    if message.gateway is not None and message.gateway.provider in pull_providers():
        message.claimed_by_device, message.device_sim = None, ""
        if message.attempts < 2:
            message.status = Status.PENDING
            return "lease_expired"
        message.status, message.failed_at = Status.FAILED, now
        message.error = "No status report from the device before its lease expired (twice)."
        return "failed"
    if message.handoff_at is None:
        message.status = Status.PENDING  # never handed to the provider: safe to send
        return "requeued"
    if message.gateway is not None and message.gateway.retry_unknown_outcome:
        message.status, message.handoff_at, message.queued_at = Status.PENDING, None, now
        message.error = "Outcome unknown (the worker stopped during the provider call); resent as the gateway allows."
        return "requeued"
    message.status, message.failed_at = Status.FAILED, now
    message.error = "Outcome unknown: the worker stopped during the provider call. Not resent, to avoid a duplicate."
    return "unknown_outcome"


def recover_expired_leases() -> int:
    """Processing messages whose worker or device went silent past the lease."""
    now = timezone.now()
    with transaction.atomic():
        rows = _lock(Message.objects.filter(status=Status.PROCESSING, lease_expires_at__lte=now))
        events = [MessageEvent(message=m, kind=_expire(m, now), at=now, payload={"error": m.error}) for m in rows]
        fields = ["status", "lease_expires_at", "claim_token", "claimed_by_device", "device_sim", "failed_at", "error"]
        Message.objects.bulk_update(rows, [*fields, "handoff_at", "queued_at"])
        MessageEvent.objects.bulk_create(events)
        refund_failed(m for m, e in zip(rows, events, strict=True) if e.kind == "failed")
        enqueue_delivery([m for m in rows if m.status == Status.PENDING])
    return len(rows)


def purge_idempotency_records() -> int:
    cutoff = timezone.now() - timedelta(hours=24)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def run_sweeps() -> dict[str, int]:
    return {
        "released": release_scheduled(),
        "requeued": requeue_lost(),
        "leases_expired": recover_expired_leases(),
        "idempotency_purged": purge_idempotency_records(),
    }
