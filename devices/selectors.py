"""Reads of devices, always scoped to their tenant."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from devices.models import AndroidDevice
from xsender.errors import NotFound


def devices_of(user: User) -> QuerySet[AndroidDevice]:
    """The tenant's phones, newest first, with their SIMs (one query for all of them)."""
    return AndroidDevice.objects.for_tenant(user).prefetch_related("sims").order_by("-created_at")


def device_of(*, user: User, uid: str) -> AndroidDevice:
    """The tenant's phone `uid`; another tenant's phone is as unknown as a missing one (NotFound)."""
    device = AndroidDevice.objects.for_tenant(user).filter(uid=uid).first()
    if device is None:
        raise NotFound("Device not found.")
    return device
