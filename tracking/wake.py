"""Waking the inbound queue's drains (tracking.jobs): one RQ job per gateway at a time, like delivery's drains.

A receiver that queued events raises its gateway's flag in Redis (`SET NX`, messaging.jobs.raise_flags: one
round trip): only when the flag was not set is a drain job queued (on `low`); otherwise the running drain, which
may be lingering for more, is nudged. A drain applies the gateway's due events in batches (tracking.services.
apply_queued) for one slice of time, then queues its continuation behind whatever else waits. The rows are the
truth: the scheduler wakes any gateway whose due events have no drain (a wake-up lost with Redis, a worker that
died, events waiting for their message).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import django_rq
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from redis.exceptions import RedisError

from messaging.jobs import raise_flags
from tracking.queue import still_due
from xsender.redis import get_redis

logger = logging.getLogger(__name__)
QUEUE = "low"
DRAIN_JOB = "tracking.jobs.drain_job"  # by name: the job module imports this one


def _flag(gateway_id: int) -> str:
    return f"xsender:inbound:wake:{gateway_id}"


def _nudges(gateway_id: int) -> str:
    return f"xsender:inbound:nudge:{gateway_id}"


def _enqueue(gateway_id: int) -> None:
    queue = django_rq.get_queue(QUEUE, connection=get_redis())
    queue.enqueue(DRAIN_JOB, gateway_id, job_timeout=600, result_ttl=0)


def wake(gateway_ids: Iterable[int]) -> int:
    """Queues a drain for each gateway that has none queued or running, and nudges those that do; returns how many
    it queued. One Redis round trip."""
    ids = sorted(set(gateway_ids))
    if not ids:
        return 0
    fresh = raise_flags([[_flag(gateway_id), _nudges(gateway_id)] for gateway_id in ids])
    queued = 0
    for gateway_id, is_fresh in zip(ids, fresh, strict=True):
        if is_fresh:
            _enqueue(gateway_id)
            queued += 1
    return queued


def _wake_now(gateway_ids: list[int]) -> None:
    try:
        wake(gateway_ids)
    except RedisError as exc:  # the events are committed; the scheduler wakes their gateway once Redis is back
        logger.warning("Could not wake an inbound drain (%s); the scheduler will.", type(exc).__name__)


def wake_after_commit(gateway_ids: list[int]) -> None:
    """Wakes the gateways' drains once the current transaction commits (at once outside of one)."""
    transaction.on_commit(lambda: _wake_now(gateway_ids))


def nudged(gateway_id: int, seconds: float) -> bool:
    return get_redis().blpop([_nudges(gateway_id)], timeout=seconds) is not None


def after_drain(gateway_id: int, more: bool) -> None:
    """What follows a drain's slice: its continuation when events are left, else the flag cleared."""
    redis, flag = get_redis(), _flag(gateway_id)
    if more:
        redis.expire(flag, settings.XSENDER_WAKE_TTL)
        _enqueue(gateway_id)  # behind what else waits on this queue
        return
    redis.delete(flag)
    # A receiver that committed after the last claim saw the flag still set and queued nothing: look again.
    if still_due(gateway_id, timezone.now()) and redis.set(flag, 1, nx=True, ex=settings.XSENDER_WAKE_TTL):
        _enqueue(gateway_id)
