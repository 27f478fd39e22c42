"""Pairing, device sessions, SIMs, claiming queued SMS and the phones' status reports."""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import User
from accounts.services import hash_key
from devices.models import PROFILE_LIMITS, AndroidDevice, PairingToken, Sim, session_expiry
from gateways import services as gateways
from gateways.models import Gateway
from messaging import transitions
from messaging.bulk import lock_device_candidates
from messaging.models import Message, Priority, Status
from xsender import events
from xsender.errors import NotAuthenticated, NotFound, ValidationFailed
from xsender.events import PlatformEvent

POOL_IDENTIFIER = "android"
MAX_PER_POLL = 50  # a phone sends a few SMS a second at best: smaller claims, shorter leases in doubt
SESSION_REFRESH_EVERY = timedelta(minutes=1)  # a session's expiry is rewritten at most this often
REPORTED = {"sent": Status.SENT, "delivered": Status.DELIVERED, "failed": Status.FAILED}


# ---------------------------------------------------------------- pairing


def create_pairing_token(*, user: User, ttl_minutes: int | None = None) -> tuple[PairingToken, str]:
    """A single-use token for one phone; returns (row, token). Only the hash is stored."""
    ttl = ttl_minutes if ttl_minutes is not None else settings.XSENDER_PAIRING_TOKEN_TTL_MINUTES
    if not 1 <= ttl <= 24 * 60:
        raise ValidationFailed.single("ttl", "A pairing token lives between 1 minute and 24 hours.")
    raw = f"ATKN-{uuid.uuid4()}-{secrets.token_hex(8)}"
    row = PairingToken.objects.create(
        user=user, hashed_token=hash_key(raw), expires_at=timezone.now() + timedelta(minutes=ttl)
    )
    return row, raw


def pairing_payload(raw_token: str) -> str:
    """What the QR code encodes: the server's URL and the token."""
    return json.dumps({"server": settings.XSENDER_BASE_URL, "token": raw_token}, separators=(",", ":"))


def _use_pairing_token(raw: str) -> User:
    now = timezone.now()
    row = PairingToken.objects.filter(hashed_token=hash_key(raw)).select_related("user").first()
    if row is None or row.expires_at <= now or not row.user.is_active:
        raise NotAuthenticated("Invalid or expired pairing token.")
    # Single use even when two phones race with the same token: only one conditional UPDATE wins.
    if not PairingToken.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now):
        raise NotAuthenticated("This pairing token was already used.")
    return row.user


def _pool_gateway(user: User) -> Gateway:
    pool = Gateway.objects.filter(owner=user, identifier=POOL_IDENTIFIER).first()
    if pool is None:
        default = not Gateway.objects.filter(owner=user, channel="sms", is_default=True).exists()
        pool = gateways.add_gateway(
            owner=user, channel="sms", provider="android", identifier=POOL_IDENTIFIER, name="Android phones",
            config={"pool": True}, is_default=default,
        )  # fmt: skip
    return pool


@dataclass
class Registration:
    device: AndroidDevice
    session_token: str


@transaction.atomic
def register_session(
    *, pairing_token: str, device_uuid: str, device_name: str = "", android_version: str = "", app_version: str = ""
) -> Registration:
    """Exchanges a pairing token for a session token; re-activates the same device (and gateway) for a known device_uuid."""
    user = _use_pairing_token(pairing_token)
    raw = f"xsd_{secrets.token_urlsafe(40)}"
    device = AndroidDevice.objects.filter(user=user, device_uuid=device_uuid).select_for_update().first()
    if device is None:
        uid = uuid.uuid4()
        gateway = gateways.add_gateway(
            owner=user, channel="sms", provider="android", identifier=f"android-{uid.hex[:10]}",
            name=device_name or "Android phone", config={"device_uid": str(uid)},
        )  # fmt: skip
        device = AndroidDevice(uid=uid, user=user, gateway=gateway, device_uuid=device_uuid)
    device.name = device_name or device.name
    device.android_version, device.app_version = android_version, app_version
    device.hashed_session_token, device.is_active, device.revoked_at = hash_key(raw), True, None
    device.session_expires_at = session_expiry()  # a re-pair replaces the token and starts a new term
    device.last_seen_at = timezone.now()
    came_back, device.offline_at = device.offline_at is not None, None
    device.save()
    if came_back:
        events.publish([_event(device, "device.online", device.gateway.identifier)])
    _pool_gateway(user)
    return Registration(device=device, session_token=raw)


def authenticate_device(raw: str) -> AndroidDevice:
    """The active device whose session token is `raw`; NotAuthenticated when unknown, revoked or expired.

    Each use extends the session to XSENDER_DEVICE_SESSION_DAYS from now, written at most once a minute:
    phones poll every few seconds, and this is their hot path.
    """
    device = (
        AndroidDevice.objects.filter(hashed_session_token=hash_key(raw), is_active=True)
        .select_related("user", "gateway")
        .first()
        if raw
        else None
    )
    if device is None or not device.user.is_active:
        raise NotAuthenticated("Invalid or revoked session token.")
    if device.session_expires_at <= timezone.now():
        raise NotAuthenticated("Session expired: pair the device again.")
    expires = session_expiry()
    if expires - device.session_expires_at >= SESSION_REFRESH_EVERY:
        AndroidDevice.objects.filter(pk=device.pk).update(session_expires_at=expires)
        device.session_expires_at = expires
    return device


def logout_device(*, device: AndroidDevice) -> AndroidDevice:
    """Revokes the session token and marks the device offline; its rows stay for a later re-link."""
    device.hashed_session_token, device.is_active, device.revoked_at = "", False, timezone.now()
    device.session_expires_at = device.revoked_at
    device.save(update_fields=["hashed_session_token", "is_active", "revoked_at", "session_expires_at"])
    return device


def update_profile(*, device: AndroidDevice, poll_interval: int, daily_quota: int, lease_seconds: int) -> AndroidDevice:
    """Sets the profile the phone gets at its next registration; each value within PROFILE_LIMITS."""
    values = {"poll_interval": poll_interval, "daily_quota": daily_quota, "lease_seconds": lease_seconds}
    errors = [
        {"field": name, "message": message}
        for name, (low, high, message) in PROFILE_LIMITS.items()
        if not low <= values[name] <= high
    ]
    if errors:
        raise ValidationFailed(errors, message=errors[0]["message"])
    device.poll_interval, device.daily_quota, device.lease_seconds = poll_interval, daily_quota, lease_seconds
    device.save(update_fields=["poll_interval", "daily_quota", "lease_seconds"])
    return device


# ---------------------------------------------------------------- SIMs


def get_sim(*, device: AndroidDevice, sim_uid: str) -> Sim:
    """The device's own SIM; another device's SIM is as unknown as a missing one."""
    sim = Sim.objects.filter(device=device, uid=sim_uid).first()
    if sim is None:
        raise NotFound("SIM not found.")
    return sim


def add_sim(*, device: AndroidDevice, slot: int, label: str = "", country_code: str = "") -> Sim:
    return Sim.objects.create(
        uid=f"sim-{secrets.token_hex(6)}", device=device, slot=slot, label=label, country_code=country_code
    )


def update_sim(*, sim: Sim, **changes: Any) -> Sim:
    for key, value in changes.items():
        setattr(sim, key, value)
    sim.save()
    return sim


def remove_sim(*, sim: Sim) -> None:
    sim.delete()


def record_heartbeat(
    *, sim: Sim, active: bool, signal_strength: int | None, messages_sent_24h: int | None, imsi: str
) -> Sim:
    now = timezone.now()
    sim.active, sim.signal_strength, sim.last_heartbeat_at = active, signal_strength, now
    if messages_sent_24h is not None:
        sim.messages_sent_24h = messages_sent_24h
    if imsi:
        sim.imsi = imsi
    sim.save()
    mark_seen(device_id=sim.device_id, now=now)
    return sim


# ---------------------------------------------------------------- online / offline (device.online, device.offline)

# One statement, as before: it also says whether the phone had been reported offline. Only then (rarely) does a
# second, conditional one bring it back and publish device.online in one transaction (two overlapping polls:
# one of them does).
_SEEN = "UPDATE devices_androiddevice SET last_seen_at = %s WHERE id = %s RETURNING offline_at IS NOT NULL"
_BACK = (
    "UPDATE devices_androiddevice AS d SET offline_at = NULL FROM gateways_gateway AS g "
    "WHERE d.id = %s AND d.offline_at IS NOT NULL AND g.id = d.gateway_id "
    "RETURNING d.uid, d.user_id, d.name, d.last_seen_at, g.identifier"
)


def _event(device: AndroidDevice, event_type: str, gateway: str) -> PlatformEvent:
    data = {"device": str(device.uid), "name": device.name, "gateway": gateway, "last_seen_at": device.last_seen_at}
    return PlatformEvent(event_type, device.user_id, data=data)


def mark_seen(*, device_id: int, now: datetime) -> None:
    """Records that the phone was heard from now; publishes device.online if it had been reported offline."""
    with connection.cursor() as cursor:
        cursor.execute(_SEEN, [now, device_id])
        row = cursor.fetchone()
    if row is None or not row[0]:
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_BACK, [device_id])
        back = cursor.fetchone()
        if back is not None:
            uid, user_id, name, last_seen_at, gateway = back
            device = AndroidDevice(uid=uid, user_id=user_id, name=name, last_seen_at=last_seen_at)
            events.publish([_event(device, "device.online", gateway)])


def publish_offline_devices(*, limit: int = 1000) -> int:
    """The scheduler's pass: phones not heard from for XSENDER_DEVICE_OFFLINE_AFTER seconds (or revoked) are
    marked offline and device.offline is published, once per change (the next time one is seen it comes back
    online). Two schedulers take different rows. Returns how many went offline."""
    now = timezone.now()
    silent = Q(last_seen_at__lt=now - timedelta(seconds=settings.XSENDER_DEVICE_OFFLINE_AFTER))
    with transaction.atomic():
        rows = list(
            AndroidDevice.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("gateway")
            .filter(silent | Q(is_active=False) | Q(last_seen_at__isnull=True), offline_at__isnull=True)
            .order_by("pk")[:limit]
        )
        AndroidDevice.objects.filter(pk__in=[row.pk for row in rows]).update(offline_at=now)
        events.publish([_event(row, "device.offline", row.gateway.identifier) for row in rows])
    return len(rows)


# ---------------------------------------------------------------- claiming


def remaining_quota(device: AndroidDevice, sims: list[Sim]) -> dict[str, int]:
    """Per SIM: the daily quota minus what it sent (or holds) in the last 24 hours, by our count or the phone's."""
    since = timezone.now() - timedelta(hours=24)
    used = dict(
        Message.objects.filter(claimed_by_device=device.uid, processing_at__gte=since)
        .exclude(status__in=[Status.PENDING, Status.FAILED])
        .values_list("device_sim")
        .annotate(n=Count("id"))
    )
    return {sim.uid: max(0, device.daily_quota - max(used.get(sim.uid, 0), sim.messages_sent_24h)) for sim in sims}


def _assign(ids: list[int], quota: dict[str, int]) -> dict[str, list[int]]:
    """Spreads `ids` over the SIMs, round robin, never past a SIM's quota."""
    groups: dict[str, list[int]] = {uid: [] for uid in quota}
    left = dict(quota)
    ring = [uid for uid in quota if left[uid] > 0]
    for index, message_id in enumerate(ids):
        while ring and left[ring[index % len(ring)]] == 0:
            ring.remove(ring[index % len(ring)])
        if not ring:
            break
        uid = ring[index % len(ring)]
        groups[uid].append(message_id)
        left[uid] -= 1
    return groups


def claim_pending(*, device: AndroidDevice) -> list[Message]:
    """Hands this phone the next queued SMS of its own gateway and of its tenant's pool, atomically.

    Two phones (or two overlapping polls) never get the same message: rows are locked with SKIP LOCKED
    and handed over with one UPDATE. OTP first, then oldest first; never more than the SIMs' quota.
    """
    sims = list(device.sims.filter(active=True))
    quota = remaining_quota(device, sims)
    limit = min(MAX_PER_POLL, sum(quota.values()))
    if limit == 0:
        return []
    now = timezone.now()
    with transaction.atomic():
        candidates = lock_device_candidates(
            gateway_id=device.gateway_id, owner_id=device.user_id, pool_identifier=POOL_IDENTIFIER, now=now, limit=limit
        )
        ids = [pk for pk, _, _ in sorted(candidates, key=lambda row: (-row[1], row[2], row[0]))[:limit]]
        groups = _assign(ids, quota)
        sims_of = {pk: sim_uid for sim_uid, group in groups.items() for pk in group}
        claimed = transitions.claim_for_device(sims=sims_of, device_uid=device.uid, lease_seconds=device.lease_seconds)
    mark_seen(device_id=device.pk, now=now)
    return sorted(claimed, key=lambda m: (-m.priority, m.created_at, m.pk))


def priority_label(priority: int) -> str:
    return "high" if priority >= Priority.HIGH else "normal" if priority >= Priority.NORMAL else "low"


# ---------------------------------------------------------------- reports


@dataclass
class DeviceReport:
    """A phone's report about one message, parsed by the device API."""

    uid: str
    status: str  # sent | delivered | failed
    at: datetime | None = None
    error: str = ""
    raw: dict[str, Any] | None = None


@dataclass
class ReportAnswer:
    uid: str
    success: bool
    changed: bool = False
    status: str = ""
    message: str = ""


def apply_reports(*, device: AndroidDevice, reports: list[DeviceReport]) -> list[ReportAnswer]:
    """Applies the phone's reports; each answers for itself (unknown or foreign uids fail alone, a report that
    would move a message backwards changes nothing and says why). Queries do not grow with the reports."""
    wanted = [r.uid for r in reports if _is_uuid(r.uid)]
    mine = {str(m.uid): m for m in Message.objects.filter(uid__in=wanted, claimed_by_device=device.uid)}
    answers = [ReportAnswer(uid=r.uid, success=False, message="Message not found.") for r in reports]
    known = [(i, r) for i, r in enumerate(reports) if r.uid in mine]
    moves = [
        transitions.Report(mine[r.uid], REPORTED[r.status], r.at, r.error, {"report": r.raw or {}}) for _, r in known
    ]
    for (index, report), applied in zip(known, transitions.apply_reports(reports=moves), strict=True):
        answers[index] = ReportAnswer(report.uid, True, applied.changed, applied.status, applied.reason)
    mark_seen(device_id=device.pk, now=timezone.now())
    return answers


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
