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
import time
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import django_rq
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from redis.exceptions import RedisError

from gateways.backends import pull_providers
from gateways.models import Gateway
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


def _nudges(gateway_id: int, queue_name: str) -> str:
    return f"xsender:nudge:{gateway_id}:{queue_name}"


# Sets the flag, or — when a drain already holds it — nudges that drain, which may be waiting for more work.
_WAKE = """
if redis.call('SET', KEYS[1], 1, 'NX', 'EX', ARGV[1]) then return 1 end
redis.call('LPUSH', KEYS[2], 1)
redis.call('LTRIM', KEYS[2], 0, 0)
redis.call('EXPIRE', KEYS[2], ARGV[1])
return 0
"""


@lru_cache(maxsize=4)
def _wake_script(client: Any) -> Any:
    return client.register_script(_WAKE)


def raise_flags(keys: list[list[str]]) -> list[bool]:
    """For each [flag, nudge list] of a drain: sets the flag when it was not set (True: the caller queues the
    drain) or nudges the drain that holds it (False). One round trip. The tracking app's drains use it too."""
    redis = get_redis()
    script, ttl = _wake_script(redis), [settings.XSENDER_WAKE_TTL]
    if len(keys) == 1:  # the common case: EVALSHA alone (a pipeline would first ask whether the script exists)
        return [bool(script(keys=keys[0], args=ttl))]
    pipe = redis.pipeline(transaction=False)
    for target_keys in keys:
        script(keys=target_keys, args=ttl, client=pipe)
    return [bool(answer) for answer in pipe.execute()]


def wake(targets: Iterable[tuple[int, str]]) -> int:
    """Queues a drain for each (gateway, queue) that has none queued or running, and nudges those that do;
    returns how many it queued. One round trip."""
    targets = sorted(set(targets))
    if not targets:
        return 0
    answers = raise_flags(
        [[_flag(gateway_id, queue_name), _nudges(gateway_id, queue_name)] for gateway_id, queue_name in targets]
    )
    queued = 0
    for (gateway_id, queue_name), fresh in zip(targets, answers, strict=True):
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


def _nudged(gateway_id: int, queue_name: str, seconds: float) -> bool:
    return get_redis().blpop([_nudges(gateway_id, queue_name)], timeout=seconds) is not None


def drain_job(gateway_id: int, queue_name: str) -> int:
    """One slice of a gateway's drain. When the gateway runs dry before the slice ends, the job waits a moment
    (XSENDER_DRAIN_LINGER_SECONDS) for a request's nudge and drains again: under steady single-message
    traffic one job takes many messages, instead of one job (and its Redis and database overhead) each."""
    deadline = time.monotonic() + settings.XSENDER_DRAIN_SLICE_SECONDS
    gateway = Gateway.objects.filter(pk=gateway_id).first()
    outcome, sent = Drained(), 0  # a gateway that is gone: nothing to drain (the orphan sweep fails its messages)
    while gateway is not None:
        outcome = drain_gateway(gateway_id=gateway_id, gateway=gateway, seconds=max(0.0, deadline - time.monotonic()))
        sent += outcome.sent
        if outcome.stopped is not None or outcome.more:
            break
        left = min(settings.XSENDER_DRAIN_LINGER_SECONDS, deadline - time.monotonic())
        if left <= 0.001 or not _nudged(gateway_id, queue_name, left):
            break
        if outcome.claimed > 1:
            # Nudged under steady traffic (the last pass found several): let the requests arriving meanwhile
            # join, so the next claim takes several at once. A lone message is claimed at once.
            time.sleep(min(settings.XSENDER_DRAIN_GATHER_SECONDS, max(0.0, deadline - time.monotonic())))
    _after(gateway_id, queue_name, outcome)
    return sent


def deliver_batch_job(gateway_id: int, message_ids: list[int]) -> int:
    """A job queued by an earlier release (one batch of ids): drains the gateway instead."""
    return drain_job(gateway_id, "low")
