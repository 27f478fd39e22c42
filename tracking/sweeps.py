"""The scheduler's inbound passes (registered through xsender.sweeps): wake every gateway whose due queued events
have no drain (a wake-up lost with Redis, a worker that died, events waiting for their message whose next try
came), and forget a bounded slice of expired event ids."""

from __future__ import annotations

from django.utils import timezone

from tracking.queue import due_gateways
from tracking.services import purge_seen_events
from tracking.wake import wake


def run_sweeps() -> dict[str, int]:
    return {"inbound_woken": wake(due_gateways(timezone.now())), "inbound_ids_purged": purge_seen_events()}
