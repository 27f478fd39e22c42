"""Tenants' webhook endpoints, the outbox of events to deliver to them, and every delivery attempt."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from webhooks.choices import EVENT_TYPES
from xsender.fields import EncryptedJSONField
from xsender.tenancy import TenantQuerySet


class Endpoint(models.Model):
    """A URL a tenant (or, with no owner, the admin for admin-key traffic) wants events posted to."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
        help_text="Empty: the admin's endpoint, which receives the admin key's traffic.",
    )
    # Checked by the address rules (webhooks.transport), not Django's URLValidator, which refuses host names
    # without a top-level domain that XSENDER_WEBHOOK_ALLOWED_HOSTS may let through (an internal service).
    url = models.CharField("URL", max_length=2048)
    description = models.CharField(max_length=200, blank=True)
    event_types = ArrayField(models.CharField(max_length=40, choices=[(t, t) for t in EVENT_TYPES]))
    enabled = models.BooleanField(default=True)
    # [{"secret": "whsec_…", "expires_at": ISO 8601 or null}], newest first: a rotated secret signs beside the
    # new one until it expires (Standard Webhooks allows several signatures in one header).
    secrets = EncryptedJSONField(default=list, editable=False)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=200, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user"], name="webhook_endpoint_owner")]

    def __str__(self) -> str:
        return self.description or self.url


class Delivery(models.Model):
    """One event to post to one endpoint: the outbox row, written in the transaction of what caused it.

    `event_id` is the `webhook-id` of every attempt (and of a resend), so a receiver can deduplicate. While
    pending, `next_attempt_at` is when it is due — and, once a drain claims it, the end of that claim's lease:
    a worker killed mid-delivery leaves the row due again when the lease ends.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    event_id = models.CharField(max_length=40)
    type = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_recent"),
            models.Index(
                fields=["endpoint", "next_attempt_at"],
                name="webhook_delivery_due",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class Attempt(models.Model):
    """One POST of a delivery: what the endpoint answered (status, time, the first 1 KB) or why it failed."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log", db_index=False)
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response = models.TextField(blank=True, help_text="The first 1 KB of the answer.")
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["delivery", "-at"], name="webhook_attempt_delivery")]

    def __str__(self) -> str:
        return f"{self.status_code or self.error} at {self.at:%Y-%m-%d %H:%M:%S}"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
