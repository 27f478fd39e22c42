"""The inbound queue's drain job (RQ): applies one gateway's queued provider events, a batch at a time.

Woken by tracking.wake (a flag per gateway: at most one drain queued or running per gateway) and recovered by
the scheduler, like delivery's drains.
"""

from __future__ import annotations

import time

from django.conf import settings

from tracking.services import BATCH, apply_queued
from tracking.wake import after_drain, nudged


def drain_job(gateway_id: int) -> int:
    """One slice of a gateway's inbound drain; returns the events it took. When the queue runs dry before the
    slice ends, the job waits a moment (XSENDER_DRAIN_LINGER_SECONDS) for a receiver's nudge and drains again;
    under steady traffic it lets the events arriving meanwhile gather (XSENDER_DRAIN_GATHER_SECONDS), so that a
    batch takes many events instead of one."""
    deadline = time.monotonic() + settings.XSENDER_DRAIN_SLICE_SECONDS
    taken, more = 0, False
    while True:
        batch = apply_queued(gateway_id=gateway_id, limit=BATCH)
        taken += batch.claimed
        if batch.claimed >= BATCH:
            more = time.monotonic() >= deadline
            if more:
                break
            continue
        left = min(settings.XSENDER_DRAIN_LINGER_SECONDS, deadline - time.monotonic())
        if left <= 0.001 or not nudged(gateway_id, left):
            break
        if batch.claimed > 1:
            time.sleep(min(settings.XSENDER_DRAIN_GATHER_SECONDS, max(0.0, deadline - time.monotonic())))
    after_drain(gateway_id, more)
    return taken
