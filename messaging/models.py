"""The dispatch log. One Message row per recipient; the rows are the queue."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Channel
from xsender.tenancy import TenantQuerySet


class Status(models.TextChoices):
    PENDING = "Pending"
    SCHEDULED = "Scheduled"
    PROCESSING = "Processing"
    SENT = "Sent"
    DELIVERED = "Delivered"
    OPENED = "Opened"
    CLICKED = "Clicked"
    BOUNCED = "Bounced"
    COMPLAINED = "Complained"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


class Priority(models.IntegerChoices):
    LOW = 0, "low"
    NORMAL = 5, "normal"
    HIGH = 10, "high"


class Source(models.TextChoices):
    API = "api"
    PANEL = "panel"
    CAMPAIGN = "campaign"
    AUTOMATION = "automation"


class Message(models.Model):
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The composite indexes below start with user / gateway: no separate FK indexes to maintain on every write.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    by_admin = models.BooleanField(default=False)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    gateway = models.ForeignKey(
        "gateways.Gateway", null=True, on_delete=models.SET_NULL, related_name="messages", db_index=False
    )
    recipient = models.CharField(max_length=320)
    subject = models.CharField(max_length=998, blank=True)
    body = models.TextField(blank=True)
    sender_name = models.CharField(max_length=150, blank=True)
    reply_to = models.CharField(max_length=254, blank=True, default="", db_default="")
    # Email: our unsubscribe URL, sent as List-Unsubscribe (+ List-Unsubscribe-Post, RFC 8058); campaigns set it.
    list_unsubscribe = models.CharField(max_length=2048, blank=True, default="", db_default="")
    # Email: the From address when not the gateway's (a campaign's verified sender; the gateway's address stays
    # the SMTP envelope sender), and the text/plain part of an HTML body when the template has its own.
    from_email = models.CharField(max_length=254, blank=True, default="", db_default="")
    text_body = models.TextField(blank=True, default="", db_default="")
    sms_type = models.CharField(max_length=16, blank=True)
    media = models.CharField(max_length=16, blank=True)
    media_url = models.URLField(max_length=2048, blank=True)
    attachments = models.JSONField(default=list, blank=True)
    # WhatsApp: a WhatsApp Cloud approved template {"name", "language", "components"}; null = a text/media message.
    whatsapp_template = models.JSONField(null=True, blank=True, default=None)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    priority = models.SmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    schedule_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    handoff_at = models.DateTimeField(null=True, blank=True, help_text="When the provider call started.")
    claim_token = models.UUIDField(null=True, blank=True, help_text="Which delivery run holds the claim.")
    provider_message_id = models.CharField(max_length=255, blank=True)
    gateway_response = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    cost = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.API)
    idempotency_key = models.CharField(max_length=255, blank=True)
    device_sim = models.CharField(max_length=64, blank=True)
    claimed_by_device = models.UUIDField(null=True, blank=True, help_text="The Android device holding the lease.")
    created_at = models.DateTimeField(default=timezone.now)
    queued_at = models.DateTimeField(null=True, blank=True)
    processing_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        # Partial where they can be: every status change of every message maintains each of these.
        indexes = [
            # The panel's history, newest first per channel (keyset pagination on created_at, id); replaces the
            # (user, channel, created_at) index at the same write cost.
            models.Index(fields=["user", "channel", "created_at", "id"], name="msg_user_history"),
            # The panel's failures (dashboard, history filtered by Failed): only failed rows have an entry.
            models.Index(
                fields=["user", "created_at", "id"], name="msg_user_failed", condition=models.Q(status="Failed")
            ),
            models.Index(fields=["schedule_at"], name="msg_scheduled_due", condition=models.Q(status="Scheduled")),
            # Only messages a provider answered for (tracking events find them by it): a queued row costs nothing here.
            models.Index(
                fields=["gateway", "provider_message_id"],
                name="msg_provider_id",
                condition=~models.Q(provider_message_id=""),
            ),
            models.Index(
                fields=["gateway", "-priority", "created_at"],
                name="msg_pending_claims",
                condition=models.Q(status="Pending"),
            ),
            models.Index(
                fields=["claimed_by_device", "processing_at"],
                name="msg_device_claims",
                condition=models.Q(claimed_by_device__isnull=False),
            ),
            models.Index(
                fields=["lease_expires_at"], name="msg_processing_lease", condition=models.Q(status="Processing")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.uid} → {self.recipient} [{self.status}]"


class MessageEvent(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32)
    at = models.DateTimeField(default=timezone.now)
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} @ {self.at:%Y-%m-%d %H:%M:%S}"


class Suppression(models.Model):
    """An address nobody may send to on a channel: per tenant, or global when `user` is empty."""

    class Reason(models.TextChoices):
        OPT_OUT = "opt_out", "Opted out"
        BOUNCE = "bounce", "Hard bounce"
        COMPLAINT = "complaint", "Spam complaint"
        MANUAL = "manual", "Added by hand"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="suppressions"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    address = models.CharField(max_length=320, help_text="Email address (lower case) or E.164 number.")
    reason = models.CharField(max_length=16, choices=Reason.choices, default=Reason.MANUAL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "channel", "address"], name="one_suppression_per_address")
        ]
        indexes = [models.Index(fields=["channel", "address"])]

    def __str__(self) -> str:
        return f"{self.channel}:{self.address} ({self.reason})"


class IdempotencyRecord(models.Model):
    """An `Idempotency-Key` seen from one user: the first response is replayed for 24 hours."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty while in flight.")
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="one_idempotency_record_per_key")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class DailyCount(models.Model):
    """How many of a tenant's messages reached a status on a day (the server's time zone), per channel.

    Written by the send path and messaging.transitions as messages move (`accepted` when stored, then `sent`,
    `delivered`, `failed`…), read by the dashboard, so that it never counts the messages table. Each count is
    spread over a few shards (rows), so that concurrent sends of one tenant do not queue on one row."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    channel = models.CharField(max_length=16, choices=Channel.choices)
    kind = models.CharField(max_length=16)
    shard = models.PositiveSmallIntegerField(default=0)
    count = models.BigIntegerField(default=0)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "day", "channel", "kind", "shard"], name="one_daily_count_row")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.day} {self.channel} {self.kind}: {self.count}"
