"""Reads of webhook endpoints and their deliveries, scoped to their owner."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from webhooks.models import Attempt, Delivery, Endpoint
from xsender.errors import NotFound

RECENT = 50


def endpoints_of(user: User) -> QuerySet[Endpoint]:
    return Endpoint.objects.for_tenant(user).order_by("-created_at")


def endpoint_of(*, user: User, uid: str) -> Endpoint:
    """The tenant's endpoint `uid`; another tenant's is as unknown as a missing one (NotFound)."""
    endpoint = Endpoint.objects.for_tenant(user).filter(uid=uid).first()
    if endpoint is None:
        raise NotFound("Endpoint not found.")
    return endpoint


def recent_deliveries(endpoint: Endpoint, limit: int = RECENT) -> list[Delivery]:
    """The endpoint's latest deliveries, each with its attempts (newest first): two queries."""
    deliveries = list(Delivery.objects.filter(endpoint=endpoint).order_by("-created_at", "-pk")[:limit])
    attempts: dict[int, list[Attempt]] = {d.pk: [] for d in deliveries}
    for attempt in Attempt.objects.filter(delivery__in=deliveries).order_by("-at", "-pk"):
        attempts[attempt.delivery_id].append(attempt)
    for delivery in deliveries:
        delivery.attempt_list = attempts[delivery.pk]  # type: ignore[attr-defined]
    return deliveries


def delivery_of(*, endpoint: Endpoint, pk: int) -> Delivery:
    delivery = Delivery.objects.filter(endpoint=endpoint, pk=pk).first()
    if delivery is None:
        raise NotFound("Delivery not found.")
    return delivery


def disabled_endpoints(user: User) -> QuerySet[Endpoint]:
    """The tenant's endpoints switched off for failing (the panel tells the tenant why)."""
    return Endpoint.objects.for_tenant(user).filter(enabled=False).exclude(disabled_reason="")
