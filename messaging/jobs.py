"""RQ entry points and the one helper that wakes them (after commit: a job never outruns its rows).

A job is only a wake-up for one gateway: it drains whatever is due there, whichever request created it
(messaging.delivery). Wake-ups are coalesced: a flag per gateway and queue in Redis (`SET NX`) means at most
one queued or running drain per gateway and priority, so a thousand single-recipient requests cost one job,
not a thousand, and a request pays one Redis round trip. A drain works for one slice of time, then queues
its continuation behind whatever else waits, so a gateway's bulk send never holds a worker away from
another gateway's OTP. The rows are the truth: the claim makes a duplicate or replayed job harmless, and
the scheduler wakes any gateway whose due messages have no drain (a wake-up lost with Redis).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import django_rq
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from redis.exceptions import RedisError

from gateways.backends import pull_providers
from messaging.delivery import Drained, drain_gateway
from messaging.models import Message, Status
from messaging.transitions import backoff
from xsender.redis import get_redis

logger = logging.getLogger(__name__)
QUEUES = ("high", "low")  # OTP and single sends; bulk and marketing


def queue_for(priority: int) -> str:
    return "high" if priority >= 5 else "low"


def _flag(gateway_id: int, queue_name: str) -> str:
    return f"xsender:wake:{gateway_id}:{queue_name}"


def _enqueue(gateway_id: int, queue_name: str) -> None:
    # Our own client: its short timeouts let a send fail fast to the scheduler's recovery when Redis hangs.
    queue = django_rq.get_queue(queue_name, connection=get_redis())
    queue.enqueue(drain_job, gateway_id, queue_name, job_timeout=600, result_ttl=0)


def wake(targets: Iterable[tuple[int, str]]) -> int:
    """Queues a drain for each (gateway, queue) that has none queued or running; returns how many it queued."""
    targets = sorted(set(targets))
    if not targets:
        return 0
    pipe = get_redis().pipeline(transaction=False)
    for gateway_id, queue_name in targets:
        pipe.set(_flag(gateway_id, queue_name), 1, nx=True, ex=settings.XSENDER_WAKE_TTL)
    queued = 0
    for (gateway_id, queue_name), fresh in zip(targets, pipe.execute(), strict=True):
        if fresh:
            _enqueue(gateway_id, queue_name)
            queued += 1
    return queued


def enqueue_delivery(messages: Iterable[Message]) -> None:
    """Wakes a drain for the gateways of `messages` once the current transaction commits."""
    pull = pull_providers()
    targets = {
        (m.gateway_id, queue_for(m.priority))
        for m in messages
        if m.gateway is not None and m.gateway.provider not in pull
    }
    if targets:
        transaction.on_commit(lambda: _wake_after_commit(targets))


def _wake_after_commit(targets: set[tuple[int, str]]) -> None:
    try:
        wake(targets)
    except RedisError as exc:  # the rows are committed; the scheduler wakes their gateway once Redis is back
        logger.warning("Could not wake a drain (%s); the scheduler will.", type(exc).__name__)


def _still_due(gateway_id: int) -> bool:
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now())
    return Message.objects.filter(due, gateway_id=gateway_id, status=Status.PENDING).exists()


def _after(gateway_id: int, queue_name: str, outcome: Drained) -> None:
    redis, flag = get_redis(), _flag(gateway_id, queue_name)
    if outcome.stopped is not None:
        # The gateway failed as a whole: no drain for it until the first retry is due (the flags pause it).
        pause = int(backoff(1).total_seconds())
        for name in QUEUES:
            redis.set(_flag(gateway_id, name), 1, ex=pause)
    elif outcome.more:
        redis.expire(flag, settings.XSENDER_WAKE_TTL)
        _enqueue(gateway_id, queue_name)  # behind what else waits on this queue
    else:
        redis.delete(flag)
        # A request that committed after the last claim saw the flag still set and queued nothing: look again.
        if _still_due(gateway_id) and redis.set(flag, 1, nx=True, ex=settings.XSENDER_WAKE_TTL):
            _enqueue(gateway_id, queue_name)


def drain_job(gateway_id: int, queue_name: str) -> int:
    outcome = drain_gateway(gateway_id=gateway_id)
    _after(gateway_id, queue_name, outcome)
    return outcome.sent


def deliver_batch_job(gateway_id: int, message_ids: list[int]) -> int:
    """A job queued by an earlier release (one batch of ids): drains the gateway instead."""
    return drain_job(gateway_id, "low")
