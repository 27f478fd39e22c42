"""The scheduler's webhook passes (registered through xsender.sweeps): wake every endpoint whose deliveries are
due (retries come due, a wake-up was lost with Redis, a worker died mid-delivery), and turn the credit balances
that crossed their tenant's threshold into `credit.low` events."""

from __future__ import annotations

from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts import services as accounts
from webhooks.jobs import wake
from webhooks.models import Delivery, Endpoint


def due_endpoints() -> list[int]:
    """Enabled endpoints with a due delivery: one probe of the due-deliveries index per endpoint."""
    due = Delivery.objects.filter(
        endpoint=OuterRef("pk"), status=Delivery.Status.PENDING, next_attempt_at__lte=timezone.now()
    )
    return list(Endpoint.objects.filter(Exists(due), enabled=True).values_list("pk", flat=True))


def run_sweeps() -> dict[str, int]:
    return {
        "webhooks_woken": wake(due_endpoints()),
        "credit_low_published": accounts.publish_low_credit(),
    }
