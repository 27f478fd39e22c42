"""The scheduler's webhook passes (registered through xsender.sweeps): wake every endpoint whose deliveries are
due (retries come due, a wake-up was lost with Redis, a worker died mid-delivery), turn the credit balances
that crossed their tenant's threshold into `credit.low` events, and, once an hour, delete finished deliveries
older than XSENDER_WEBHOOK_RETENTION_DAYS with their attempt log."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts import services as accounts
from webhooks.jobs import wake
from webhooks.models import Delivery, Endpoint
from xsender.redis import get_redis

PURGE_EVERY = 3600  # seconds; one scheduler purges per period (a Redis flag), whatever how many run
PURGE_LIMIT = 5000  # deliveries per purge, so a pass stays short


def due_endpoints() -> list[int]:
    """Enabled endpoints with a due delivery: one probe of the due-deliveries index per endpoint."""
    due = Delivery.objects.filter(
        endpoint=OuterRef("pk"), status=Delivery.Status.PENDING, next_attempt_at__lte=timezone.now()
    )
    return list(Endpoint.objects.filter(Exists(due), enabled=True).values_list("pk", flat=True))


def purge_old_deliveries(*, limit: int = PURGE_LIMIT) -> int:
    """Deletes delivered and failed deliveries older than the retention, with their attempts, walking each
    endpoint's recent-deliveries index; returns how many went."""
    cutoff = timezone.now() - timedelta(days=settings.XSENDER_WEBHOOK_RETENTION_DAYS)
    ids: list[int] = []
    for endpoint_id in Endpoint.objects.order_by("pk").values_list("pk", flat=True):
        old = Delivery.objects.filter(endpoint_id=endpoint_id, created_at__lt=cutoff).exclude(status="pending")
        ids += old.order_by("created_at").values_list("pk", flat=True)[: limit - len(ids)]
        if len(ids) >= limit:
            break
    if ids:
        Delivery.objects.filter(pk__in=ids).delete()
    return len(ids)


def run_sweeps() -> dict[str, int]:
    due = get_redis().set("xsender:webhook-purge", 1, nx=True, ex=PURGE_EVERY)
    return {
        "webhooks_woken": wake(due_endpoints()),
        "credit_low_published": accounts.publish_low_credit(),
        "webhook_deliveries_purged": purge_old_deliveries() if due else 0,
    }
