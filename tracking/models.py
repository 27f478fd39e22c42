"""What providers tell us after the send: the event ids already applied, and the messages customers send in."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
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


class QueuedEvent(models.Model):
    """A provider's status event, verified and stored by the receiver, waiting for its gateway's drain to apply it
    (tracking.jobs). Applied events are deleted; an event whose message is not found yet (the provider called
    back before our worker wrote its id) waits and is tried again until XSENDER_INBOUND_MATCH_SECONDS after its
    arrival, then counted as unmatched (UnmatchedCount) and dropped."""

    gateway = models.ForeignKey(
        "gateways.Gateway", on_delete=models.CASCADE, related_name="+", db_index=False,
        help_text="The gateway whose drain applies it: the one the URL named (site-wide: the first verified).",
    )  # fmt: skip
    gateway_ids = ArrayField(
        models.BigIntegerField(), help_text="The gateways whose secret verified the request: only their messages."
    )
    scope = models.CharField(max_length=64, help_text="Where its event id is unique (a gateway, or site-wide).")
    provider_message_id = models.CharField(max_length=255)
    status = models.CharField(max_length=16, blank=True, help_text="Empty: kept as an event, moves nothing.")
    kind = models.CharField(max_length=32)
    suppress = models.CharField(max_length=16, blank=True)
    error = models.TextField(blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    event_id = models.TextField(help_text="The provider's id of this event.")
    detail = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(default=timezone.now, help_text="When its drain takes it (again).")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times its message was looked for in vain.")

    class Meta:
        indexes = [models.Index(fields=["gateway", "due_at", "id"], name="queued_event_due")]

    def __str__(self) -> str:
        return f"{self.kind} for {self.provider_message_id}"


class UnmatchedCount(models.Model):
    """Events dropped because no message of the gateways that verified them had their provider id (by day)."""

    scope = models.CharField(max_length=64, help_text="gateway:<uid>, or site:<provider> for a site-wide URL.")
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "day"], name="one_unmatched_count_per_day")]
        ordering = ["-day", "scope"]

    def __str__(self) -> str:
        return f"{self.scope} {self.day}: {self.count}"


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
