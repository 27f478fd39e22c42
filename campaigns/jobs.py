"""RQ entry point of a campaign's fan-out, and the one helper that queues it (after commit).

A job is a wake-up for one lane of one campaign: it settles chunks for one slice of time, then queues its
continuation at the back of the `low` queue, so a large campaign never holds a worker away from other work for
long. A campaign fans out in `XSENDER_CAMPAIGN_LANES` lanes, one job each: with as many workers, its chunks are
rendered on as many cores at once (campaigns.fanout, "lanes and drafts"); with one worker they simply take
turns. The rows are the truth: a duplicate or replayed job waits for the campaign's lock and finds the next
recipients without a message, a lane whose blocks are done helps the others from the end of the audience, and
the scheduler's sweep re-queues a Sending campaign whose jobs were lost.
"""

from __future__ import annotations

import time

import django_rq
from django.conf import settings
from django.db import transaction

from campaigns.fanout import send_chunk
from xsender.redis import get_redis

QUEUE = "low"
SLICE_SECONDS = 5.0


def enqueue_fan_out(campaign_id: int) -> None:
    """Queues the campaign's fan-out, one job per lane, once the caller's transaction commits (a job never
    outruns its rows)."""
    lanes = max(1, settings.XSENDER_CAMPAIGN_LANES)
    transaction.on_commit(lambda: [_enqueue(campaign_id, lane, lanes) for lane in range(lanes)])


def _enqueue(campaign_id: int, lane: int = 0, lanes: int = 1) -> None:
    queue = django_rq.get_queue(QUEUE, connection=get_redis())
    queue.enqueue(fan_out_job, campaign_id, lane=lane, lanes=lanes, job_timeout=600, result_ttl=0)


def fan_out_job(campaign_id: int, slice_seconds: float = SLICE_SECONDS, lane: int = 0, lanes: int = 1) -> int:
    """Settles chunks of the campaign's lane `lane` of `lanes` for `slice_seconds` (then of the others', once
    its own are done); queues its continuation when some are left. Returns how many recipients it settled."""
    settled, started = 0, time.monotonic()
    while True:
        done = send_chunk(campaign_id=campaign_id, lane=lane, lanes=lanes)
        if not done:  # 0: the campaign is Sent; None: it is not Sending any more
            return settled
        settled += done
        if time.monotonic() - started >= slice_seconds:
            _enqueue(campaign_id, lane, lanes)
            return settled
