"""RQ entry points and the one helper that enqueues them (after commit: a job never outruns its rows).

A job is only a wake-up: it carries a batch of message ids for one gateway; the rows are the truth, and
the claim in messaging.delivery makes a duplicate or replayed job harmless.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

import django_rq
from django.conf import settings
from django.db import transaction

from gateways.backends import pull_providers
from messaging.delivery import deliver_batch

if TYPE_CHECKING:
    from messaging.models import Message

logger = logging.getLogger(__name__)
QUEUE_BY_PRIORITY = {10: "high", 5: "default", 0: "low"}


def deliver_batch_job(gateway_id: int, message_ids: list[int]) -> int:
    return deliver_batch(gateway_id=gateway_id, message_ids=message_ids)


def _batches(messages: Iterable[Message]) -> dict[tuple[int, str], list[int]]:
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    for message in messages:
        if message.gateway is None or message.gateway.provider in pull_providers():
            continue  # pull gateways (Android phones) claim their own messages
        groups[(message.gateway_id, QUEUE_BY_PRIORITY.get(message.priority, "default"))].append(message.pk)
    return groups


def enqueue_delivery(messages: Iterable[Message]) -> None:
    """Wakes the workers for `messages` once the current transaction commits (batches per gateway)."""
    groups = _batches(messages)
    if not groups:
        return
    size = settings.XSENDER_BATCH_SIZE

    def push() -> None:
        for (gateway_id, queue_name), ids in groups.items():
            queue = django_rq.get_queue(queue_name)
            for start in range(0, len(ids), size):
                queue.enqueue(deliver_batch_job, gateway_id, ids[start : start + size], job_timeout=600)

    # robust: with Redis down the rows are still committed; the scheduler re-enqueues them later.
    transaction.on_commit(push, robust=True)
