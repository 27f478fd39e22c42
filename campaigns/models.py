"""Templates (reusable content per channel, with placeholders: campaigns.rendering) and campaigns (a template
sent to an audience of contacts, one message per contact: CampaignRecipient) and senders (from-addresses a tenant
has proved it receives mail at, by a confirmation link: campaigns.senders)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Channel
from xsender.public_ids import public_id_default
from xsender.tenancy import TenantQuerySet


class Template(models.Model):
    """A tenant's template. Email: subject with html and/or text (from_name and reply_to literal, optional).
    SMS: body. WhatsApp: body, or `whatsapp_template` — a WhatsApp Cloud approved template named by
    {"name", "language", "components"} whose component strings may hold placeholders. Every write goes through
    campaigns.services, which checks the placeholders and that only the channel's fields are set.

    `campaign_only`: a campaign's inline content (written in the campaign, not chosen from the saved templates),
    stored as a template so that it is checked, previewed, rendered and sent as any template is. It belongs to the
    one campaign that points at it: left out of every list and lookup of templates (campaigns.selectors, the send
    path's references, the admin's template list), its name is not one of the tenant's template names, and it is
    deleted with its campaign (campaigns.services.delete_campaign)."""

    public_id = models.CharField(max_length=40, unique=True, default=public_id_default("template"), editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="message_templates")
    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    subject = models.CharField(max_length=998, blank=True)
    html = models.TextField("HTML", blank=True)
    text = models.TextField(blank=True)
    from_name = models.CharField(max_length=150, blank=True)
    reply_to = models.CharField(max_length=254, blank=True)
    body = models.TextField(blank=True)
    whatsapp_template = models.JSONField("WhatsApp Cloud template", null=True, blank=True)
    campaign_only = models.BooleanField(
        default=False, db_default=False, editable=False,
        help_text="A campaign's inline content: shown with its campaign, never listed or chosen as a template.",
    )  # fmt: skip
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    tenant_field = "owner"
    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"], condition=models.Q(campaign_only=False), name="template_name_unique_per_owner"
            ),
        ]
        indexes = [models.Index(fields=["owner", "channel"], name="template_owner_channel")]

    def __str__(self) -> str:
        return f"{self.name} ({self.channel})"


class Sender(models.Model):
    """A from-address of a tenant, verified by a link emailed to it (campaigns.senders). Only the SHA-256 of the
    link's token is stored; it is emptied once used, so a link confirms once."""

    public_id = models.CharField(max_length=40, unique=True, default=public_id_default("sender"), editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="senders")
    email = models.CharField(
        max_length=254, help_text="Lower case, IDNA domain (messaging.validation.normalise_email)."
    )
    name = models.CharField(max_length=150, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    token_hash = models.CharField(max_length=64, blank=True, editable=False)
    token_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    tenant_field = "owner"
    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "email"], name="sender_email_unique_per_owner"),
            models.UniqueConstraint(fields=["token_hash"], condition=~models.Q(token_hash=""), name="sender_token"),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    PAUSED = "paused", "Paused"
    CANCELLED = "cancelled", "Cancelled"


class Campaign(models.Model):
    """A template sent to an audience. Every write goes through campaigns.services (docs/campaigns.md).

    The audience: contacts in any `include_lists`, with any `include_tags` or matching any `include_segments`,
    minus those in `exclude_lists`, with `exclude_tags` or matching `exclude_segments` (campaigns.fanout.audience:
    one statement). It is resolved once, when the campaign starts, into CampaignRecipient rows."""

    public_id = models.CharField(max_length=40, unique=True, default=public_id_default("campaign"), editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    gateway_identifier = models.CharField(
        max_length=100, blank=True, help_text="One of the owner's gateways; empty = the default gateway."
    )
    template = models.ForeignKey(Template, on_delete=models.PROTECT, related_name="campaigns")
    sender = models.ForeignKey(
        Sender, null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns",
        help_text="Email only: one of the owner's verified senders; empty = the gateway's from-address.",
    )  # fmt: skip
    include_lists = models.ManyToManyField("contacts.ContactList", blank=True, related_name="+")
    include_tags = models.ManyToManyField("contacts.Tag", blank=True, related_name="+")
    exclude_lists = models.ManyToManyField("contacts.ContactList", blank=True, related_name="+")
    exclude_tags = models.ManyToManyField("contacts.Tag", blank=True, related_name="+")
    include_segments = models.ManyToManyField("contacts.Segment", blank=True, related_name="+")
    exclude_segments = models.ManyToManyField("contacts.Segment", blank=True, related_name="+")
    schedule_at = models.DateTimeField(null=True, blank=True, help_text="Empty = as soon as it is started.")
    throttle = models.PositiveIntegerField(null=True, blank=True, help_text="Messages per minute; empty = no limit.")
    track_opens_clicks = models.BooleanField(
        default=True, db_default=True,
        help_text="Email: our own open pixel and click redirects in the HTML (docs/campaigns.md, own tracking).",
    )  # fmt: skip
    status = models.CharField(max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    last_error = models.CharField(max_length=500, blank=True, help_text="Why it stopped on its own (credit …).")
    # Counters: recipients resolved, messages created, recipients skipped (an address refused since), credits.
    recipients_count = models.PositiveIntegerField(default=0)
    messages_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    cost = models.PositiveIntegerField(default=0)
    # Credits held for the messages not created yet: the whole audience's estimate is debited in one ledger entry
    # when the campaign starts; each chunk's messages are paid from it; what is left is given back when the
    # campaign ends or is cancelled (campaigns.fanout, docs/campaigns.md "Credits").
    reserved = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    contact_time_zone = models.BooleanField(
        default=False, db_default=False,
        help_text="Send at the scheduled wall-clock time in each contact's own time zone (when it is known).",
    )  # fmt: skip
    # Throttle anchor: the recipient at `pace_position` goes at `pace_from`, each later one by its position.
    pace_from = models.DateTimeField(null=True, blank=True, editable=False)
    pace_position = models.PositiveIntegerField(default=0, editable=False)
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False, help_text="Last fan-out chunk.")
    fanned_out_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When every recipient had its message (or was skipped)."
    )
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    tenant_field = "owner"
    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["owner", "-id"], name="campaign_owner_page"),
            models.Index(
                fields=["status", "schedule_at"],
                condition=models.Q(status__in=["scheduled", "sending"]),
                name="campaign_due",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CampaignRecipient(models.Model):
    """One contact of a campaign's audience: the record that makes every contact get exactly one message.
    `message_uid` is set in the transaction that creates the message; `skipped` names why a contact got none
    (its address was suppressed or refused after the audience was resolved)."""

    # No index of its own: campaign_recipient_once (campaign, contact) serves every lookup by campaign, and each
    # index is one more entry to write for every recipient at the start and again when its message is recorded.
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients", db_index=False)
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(help_text="Order in the audience (by contact), for the throttle.")
    # Not indexed either: the reports read a campaign's recipients by campaign and join their messages by the
    # message's own uid index; nothing looks a recipient up by its message.
    message_uid = models.UUIDField(null=True, blank=True)
    skipped = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "contact"], name="campaign_recipient_once"),
        ]
        indexes = [
            # The fan-out's "next recipients without a message".
            models.Index(
                fields=["campaign", "position"],
                condition=models.Q(message_uid__isnull=True, skipped=""),
                name="campaign_recipient_todo",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.contact_id}"
