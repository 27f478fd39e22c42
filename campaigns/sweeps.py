"""The campaigns' sweep, run by the scheduler on every pass (registered in CampaignsConfig.ready through
xsender.sweeps): due Scheduled campaigns start, and Sending campaigns whose fan-out job was lost (Redis
restarted, a worker killed) are queued again. A second job for a campaign is harmless: chunks take the
campaign's row lock and only recipients without a message (campaigns.fanout)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from campaigns import fanout, jobs, local_time, services
from campaigns.models import Campaign, CampaignStatus
from xsender.errors import DomainError

logger = logging.getLogger("xsender.scheduler")
STALE_AFTER = timedelta(minutes=2)  # a fan-out settles a chunk every second or so: silence this long = lost
BATCH = 100


def start_due(now: datetime | None = None) -> int:
    """Starts the Scheduled campaigns that are due (in each contact's time zone: once the first zone has reached
    their time, campaigns.local_time); one that cannot start (credit, gateway) is paused with the reason in
    `last_error`, for the tenant to fix and resume."""
    now = now or timezone.now()
    started = 0
    due = Campaign.objects.filter(local_time.due(now), status=CampaignStatus.SCHEDULED).order_by("schedule_at")
    for campaign_id in list(due.values_list("pk", flat=True)[:BATCH]):
        with transaction.atomic():
            campaign = Campaign.objects.select_for_update(skip_locked=True).filter(pk=campaign_id).first()
            if campaign is None or campaign.status != CampaignStatus.SCHEDULED:
                continue  # another scheduler has it
            try:
                services.start_campaign(campaign=campaign)
                started += 1
            except DomainError as error:
                Campaign.objects.filter(pk=campaign_id).update(
                    status=CampaignStatus.PAUSED, last_error=error.message[:500], updated_at=now
                )
                logger.info("campaign %s could not start: %s", campaign.public_id, error.message)
    return started


def requeue_lost(now: datetime | None = None) -> int:
    """Queues the fan-out again for Sending campaigns silent for STALE_AFTER (their heartbeat is renewed, so a
    campaign waiting behind a long queue is queued at most once per STALE_AFTER)."""
    now = now or timezone.now()
    stale = Q(heartbeat_at__lt=now - STALE_AFTER) | Q(heartbeat_at__isnull=True)
    sending = Campaign.objects.filter(stale, status=CampaignStatus.SENDING, fanned_out_at__isnull=True)
    lost = list(sending.values_list("pk", flat=True)[:BATCH])
    if lost:
        Campaign.objects.filter(pk__in=lost).update(heartbeat_at=now)
        for campaign_id in lost:
            jobs.enqueue_fan_out(campaign_id)
    return len(lost)


def finish_sent() -> int:
    """Sending campaigns whose every message was created and has left the queue become Sent."""
    finished = 0
    done = Campaign.objects.filter(status=CampaignStatus.SENDING, fanned_out_at__isnull=False)
    for campaign_id in list(done.values_list("pk", flat=True)[:BATCH]):
        with transaction.atomic():
            campaign = Campaign.objects.select_for_update(skip_locked=True).filter(pk=campaign_id).first()
            if campaign is not None and campaign.status == CampaignStatus.SENDING:
                finished += fanout.finish_if_sent(campaign)
    return finished


def run_sweeps() -> dict[str, int]:
    return {"campaigns_started": start_due(), "campaigns_requeued": requeue_lost(), "campaigns_sent": finish_sent()}
