"""The `webhooks` RQ queue: one drain per endpoint at a time, woken after the outbox's transaction commits.

As for messages (messaging.jobs), a job is only a wake-up and wake-ups are coalesced: a flag per endpoint in
Redis (`SET NX`) means at most one queued or running drain per endpoint, so ten thousand events cost a
handful of jobs, not ten thousand. A drain works for one slice, then queues its continuation behind the other
endpoints' drains. The rows are the truth: a lost wake-up (Redis restarted, a worker died) is made good by the
scheduler's sweep, which wakes every endpoint with due deliveries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import django_rq
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from redis.exceptions import RedisError

from webhooks.delivery import Drained, drain_endpoint
from webhooks.models import Delivery
from xsender.redis import get_redis

logger = logging.getLogger(__name__)
QUEUE = "webhooks"
SLICE_SECONDS = 1.0


def _flag(endpoint_id: int) -> str:
    return f"xsender:webhook-wake:{endpoint_id}"


def _enqueue(endpoint_id: int) -> None:
    queue = django_rq.get_queue(QUEUE, connection=get_redis())
    queue.enqueue(drain_job, endpoint_id, job_timeout=600, result_ttl=0)


def wake(endpoint_ids: Iterable[int]) -> int:
    """Queues a drain for each endpoint that has none queued or running; returns how many it queued."""
    ids = sorted(set(endpoint_ids))
    if not ids:
        return 0
    pipe = get_redis().pipeline(transaction=False)
    for endpoint_id in ids:
        pipe.set(_flag(endpoint_id), 1, nx=True, ex=settings.XSENDER_WAKE_TTL)
    queued = 0
    for endpoint_id, fresh in zip(ids, pipe.execute(), strict=True):
        if fresh:
            _enqueue(endpoint_id)
            queued += 1
    return queued


def wake_after_commit(endpoint_ids: Iterable[int]) -> None:
    try:
        wake(endpoint_ids)
    except RedisError as exc:  # the rows are committed; the scheduler wakes their endpoint once Redis is back
        logger.warning("Could not wake a webhook drain (%s); the scheduler will.", type(exc).__name__)


def wake_on_commit(endpoint_ids: Iterable[int]) -> None:
    ids = set(endpoint_ids)
    if ids:
        transaction.on_commit(lambda: wake_after_commit(ids))


def _still_due(endpoint_id: int) -> bool:
    return Delivery.objects.filter(
        endpoint_id=endpoint_id, status=Delivery.Status.PENDING, next_attempt_at__lte=timezone.now()
    ).exists()


def _after(endpoint_id: int, outcome: Drained) -> None:
    redis, flag = get_redis(), _flag(endpoint_id)
    if outcome.more:
        redis.expire(flag, settings.XSENDER_WAKE_TTL)
        _enqueue(endpoint_id)  # behind the other endpoints' drains
        return
    redis.delete(flag)
    # An event committed during the drain's last claim saw the flag set and queued nothing: look again.
    if _still_due(endpoint_id) and redis.set(flag, 1, nx=True, ex=settings.XSENDER_WAKE_TTL):
        _enqueue(endpoint_id)


def drain_job(endpoint_id: int) -> int:
    """One slice of an endpoint's drain; returns how many events it delivered."""
    outcome = drain_endpoint(endpoint_id=endpoint_id, seconds=SLICE_SECONDS)
    _after(endpoint_id, outcome)
    return outcome.delivered
