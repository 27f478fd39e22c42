"""Gateways: where messages leave XSender. Credentials live encrypted in `config`."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from accounts.models import Channel
from gateways.backends import PROVIDERS, get_backend_class
from gateways.backends.base import Backend
from xsender.fields import EncryptedJSONField


def provider_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(PROVIDERS)]


MAX_CONNECTIONS = 16  # parallel provider connections one worker may open to one gateway


class Gateway(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DISABLED = "disabled", "Disabled"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="gateways",
        help_text="Empty for an admin gateway.",
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    provider = models.CharField(max_length=32, choices=provider_choices)
    identifier = models.CharField(max_length=100, help_text="What gateway_identifier / session_name names.")
    name = models.CharField(max_length=150, blank=True)
    config = EncryptedJSONField(default=dict, blank=True)
    is_default = models.BooleanField(default=False)
    shared_with = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="shared_gateways")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    retry_unknown_outcome = models.BooleanField(
        default=False,
        help_text="Resend a message whose hand-off to the provider was interrupted (may send it twice).",
    )
    connections = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_CONNECTIONS)],
        help_text="Connections a worker opens to the provider at once (1–16); lower it if the provider limits them.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The last gateway-wide failure that stopped a delivery run (connection refused, authentication…), for the
    # tenant's dashboard; written by gateways.services.record_gateway_error, never per message.
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    # The provider session's state as it last reported it (a WhatsApp Web bridge: WORKING, STOPPED …), written
    # by gateways.services.set_connection_state from its webhook.
    connection_state = models.CharField(max_length=32, blank=True)
    connection_state_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["channel", "identifier"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "identifier"], name="gateway_identifier_unique_per_owner"),
            models.UniqueConstraint(
                fields=["identifier"], condition=models.Q(owner__isnull=True), name="admin_gateway_identifier_unique"
            ),
        ]
        indexes = [models.Index(fields=["owner", "channel", "is_default"])]

    def __str__(self) -> str:
        return f"{self.identifier} ({self.channel}/{self.provider})"

    @property
    def is_admin_gateway(self) -> bool:
        return self.owner_id is None

    def backend(self) -> Backend:
        """A fresh backend for this gateway (one per batch: it holds the batch's connection)."""
        return get_backend_class(self.provider)(self)
