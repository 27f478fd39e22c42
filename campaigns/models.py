"""Templates: reusable content per channel, with placeholders (campaigns.rendering). Campaigns and senders
are still to come (issue 13)."""

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
    campaigns.services, which checks the placeholders and that only the channel's fields are set."""

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
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    tenant_field = "owner"
    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="template_name_unique_per_owner")]
        indexes = [models.Index(fields=["owner", "channel"], name="template_owner_channel")]

    def __str__(self) -> str:
        return f"{self.name} ({self.channel})"
