"""Android phones paired as SMS gateways: pairing tokens, devices (sessions) and their SIMs."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from xsender.tenancy import TenantQuerySet

# The device profile's bounds, the one place they are written: the service, the panel and admin use them.
PROFILE_LIMITS: dict[str, tuple[int, int, str]] = {
    "poll_interval": (5, 15, "The poll interval is 5 to 15 seconds."),
    "daily_quota": (1, 100_000, "The daily quota is 1 to 100,000 SMS per SIM."),
    "lease_seconds": (30, 3600, "The lease is 30 to 3,600 seconds."),
}


def _within(name: str) -> list[MinValueValidator | MaxValueValidator]:
    low, high, message = PROFILE_LIMITS[name]
    return [MinValueValidator(low, message), MaxValueValidator(high, message)]


def session_expiry() -> datetime:
    """When a device session issued or used now expires (each use extends it: services.authenticate_device)."""
    return timezone.now() + timedelta(days=settings.XSENDER_DEVICE_SESSION_DAYS)


class PairingToken(models.Model):
    """A one-time, short-lived token (`ATKN-…`) a phone exchanges for a session. Only its hash is kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pairing_tokens")
    hashed_token = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"pairing token of {self.user_id} (expires {self.expires_at:%Y-%m-%d %H:%M})"


class AndroidDevice(models.Model):
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="android_devices")
    gateway = models.OneToOneField("gateways.Gateway", on_delete=models.CASCADE, related_name="android_device")
    device_uuid = models.CharField(max_length=100, help_text="The phone's own id: the same phone re-links to this row.")
    name = models.CharField(max_length=150, blank=True)
    android_version = models.CharField(max_length=32, blank=True)
    app_version = models.CharField(max_length=32, blank=True)
    hashed_session_token = models.CharField(max_length=64, blank=True, db_index=True)
    # Not editable in forms: a session is extended by use, renewed by pairing and ended by "Revoke".
    session_expires_at = models.DateTimeField(
        default=session_expiry, editable=False, help_text="Extended on every use; once past, the phone must pair again."
    )
    is_active = models.BooleanField(default=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # When the scheduler saw the phone go offline and published device.offline; cleared (device.online) the
    # next time it is seen. Null while online.
    offline_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    poll_interval = models.PositiveSmallIntegerField(
        "poll interval (seconds)", default=10, validators=_within("poll_interval"), help_text="Seconds between polls."
    )
    daily_quota = models.PositiveIntegerField(
        "SMS per SIM per day", default=200, validators=_within("daily_quota"), help_text="SMS per SIM per 24 hours."
    )
    lease_seconds = models.PositiveIntegerField(
        "lease (seconds)",
        default=120,
        validators=_within("lease_seconds"),
        help_text="How long a claimed SMS waits for a report.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["user", "device_uuid"], name="one_device_per_phone")]

    def __str__(self) -> str:
        return self.name or str(self.uid)

    @property
    def online(self) -> bool:
        if not self.is_active or self.last_seen_at is None:
            return False
        return (timezone.now() - self.last_seen_at).total_seconds() <= settings.XSENDER_DEVICE_OFFLINE_AFTER


class Sim(models.Model):
    uid = models.CharField(max_length=40, unique=True)
    device = models.ForeignKey(AndroidDevice, on_delete=models.CASCADE, related_name="sims")
    slot = models.PositiveSmallIntegerField(default=0)
    label = models.CharField(max_length=100, blank=True)
    country_code = models.CharField(max_length=8, blank=True)
    active = models.BooleanField(default=True)
    signal_strength = models.IntegerField(null=True, blank=True)
    messages_sent_24h = models.PositiveIntegerField(default=0)
    imsi = models.CharField(max_length=20, blank=True)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["slot", "pk"]

    def __str__(self) -> str:
        return f"{self.uid} ({self.label or 'slot ' + str(self.slot)})"
