"""What providers tell us after the send: the event ids already applied, and the messages customers send in."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Channel
from xsender.tenancy import TenantQuerySet


class SeenEvent(models.Model):
    """A provider event already applied: SHA-256 of (the gateway or site-wide scope, the provider's event id).
    A repeated delivery finds its key here and changes nothing; rows older than the retention are purged."""

    key = models.CharField(max_length=64, unique=True)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.key


class InboundMessage(models.Model):
    """A message a customer sent to one of the gateways (WhatsApp, SMS)."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="inbound_messages",
        help_text="The gateway's owner; empty for an admin gateway.",
    )  # fmt: skip
    gateway = models.ForeignKey(
        "gateways.Gateway", null=True, on_delete=models.SET_NULL, related_name="inbound_messages"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    sender = models.CharField(max_length=64, help_text="The customer's number (E.164).")
    body = models.TextField(blank=True)
    media_type = models.CharField(max_length=32, blank=True)
    media_url = models.CharField(max_length=2048, blank=True, help_text="The provider's media URL or media id.")
    provider_message_id = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    raw = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["user", "channel", "received_at"], name="inbound_user_received")]

    def __str__(self) -> str:
        return f"{self.channel} from {self.sender} @ {self.received_at:%Y-%m-%d %H:%M:%S}"
