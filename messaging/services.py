"""Accept and track: the one path every caller (API dialects, panel, campaigns) takes to send a message.

Delivery (claim → provider → record) is in messaging.delivery; the scheduler's sweeps in messaging.sweeps.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import services as accounts
from accounts.models import User
from gateways.models import Gateway
from gateways.selectors import default_gateway, gateways_by_identifier, usable_gateways
from messaging.bulk import insert_messages, new_message
from messaging.jobs import enqueue_delivery
from messaging.models import STATUS_RANK, Message, MessageEvent, Priority, Source, Status, Suppression
from messaging.validation import GATEWAY_FIELD, Item, validate_items
from xsender.errors import CreditExhausted, GatewayNotFound, Rejected, ValidationFailed

TIMESTAMP_FIELD = {
    Status.PROCESSING: "processing_at",
    Status.SENT: "sent_at",
    Status.DELIVERED: "delivered_at",
    Status.OPENED: "opened_at",
    Status.CLICKED: "clicked_at",
    Status.FAILED: "failed_at",
    Status.BOUNCED: "failed_at",
}


def check_plan(*, principal: User, channel: str) -> None:
    """Raises CreditExhausted (402) when the principal's plan does not cover `channel` or has expired."""
    if principal.is_superuser:
        return
    plan = principal.plan
    if plan is None:
        raise CreditExhausted("No plan is assigned to this account. Subscribe to a plan to send messages.")
    if channel not in plan.allowed_channels:
        raise CreditExhausted(f"Your plan does not include {channel}. Upgrade your plan.")
    if principal.plan_expires_at and principal.plan_expires_at <= timezone.now():
        raise CreditExhausted("Your plan has expired. Renew or upgrade your plan.")


def resolve_gateways(*, principal: User, channel: str, items: list[Item], prefix: str = "contact") -> list[Gateway]:
    """The gateway of each item: the one it names, else the principal's default (one query for all items)."""
    available = usable_gateways(principal, channel)
    by_identifier, default = gateways_by_identifier(available), default_gateway(available)
    chosen = []
    for index, item in enumerate(items):
        gateway = by_identifier.get(item.gateway_identifier) if item.gateway_identifier else default
        if gateway is None:
            name = GATEWAY_FIELD[channel]
            what = f"{name} {item.gateway_identifier!r}" if item.gateway_identifier else f"default {channel} gateway"
            raise GatewayNotFound(f"{prefix}.{index}: {what} not found. Check {name} or add a gateway.")
        chosen.append(gateway)
    return chosen


def check_suppressions(*, principal: User, channel: str, items: list[Item]) -> None:
    """Raises Rejected (422) naming the first suppressed or opted-out recipient (one query)."""
    addresses = {item.recipient for item in items}
    owner = Q(user__isnull=True) if principal.is_superuser else Q(user=principal) | Q(user__isnull=True)
    blocked = dict(
        Suppression.objects.filter(owner, channel=channel, address__in=addresses).values_list("address", "reason")
    )
    for index, item in enumerate(items):
        if item.recipient in blocked:
            reason = Suppression.Reason(blocked[item.recipient]).label.lower()
            raise Rejected(f"contact.{index}: {item.recipient} is on the suppression list ({reason}).")


def _priority(channel: str, item: Item, bulk: bool) -> int:
    if item.sms_type == "otp":
        return Priority.HIGH
    if item.sms_type == "marketing" or bulk:
        return Priority.LOW
    return Priority.HIGH


def _build(principal: User, channel: str, items: list[Item], gateways: list[Gateway], **common: Any) -> list[Message]:
    now = timezone.now()
    bulk = len(items) > 1
    messages = []
    for item, gateway in zip(items, gateways, strict=True):
        scheduled = item.schedule_at is not None and item.schedule_at > now
        values = {
            "uid": uuid.uuid4(),
            "user_id": principal.pk,
            "channel": channel,
            "gateway_id": gateway.pk,
            "recipient": item.recipient,
            "subject": item.subject,
            "body": item.body,
            "sender_name": item.sender_name,
            "sms_type": item.sms_type,
            "media": item.media,
            "media_url": item.media_url,
            "attachments": item.attachments,
            "schedule_at": item.schedule_at,
            "status": Status.SCHEDULED if scheduled else Status.PENDING,
            "queued_at": None if scheduled else now,
            "priority": _priority(channel, item, bulk),
            "cost": 0 if principal.is_superuser else item.cost,
            "created_at": now,
            "updated_at": now,
            **common,
        }
        messages.append(new_message(values, gateway=gateway))  # the gateway cached: the enqueue reads its provider
    return messages


def accept_messages(
    *, principal: User, channel: str, items: Any, source: str = Source.API, idempotency_key: str = ""
) -> list[Message]:
    """Validates, routes, charges and stores one request's messages, then wakes the workers on commit.

    All-or-nothing: raises ValidationFailed (400), CreditExhausted (402), GatewayNotFound (404) or
    Rejected (422) and then nothing is stored, charged or enqueued. The admin (superuser) bypasses plan
    checks and credits; its messages are marked by_admin. Query count does not depend on len(items).
    """
    cleaned, errors = validate_items(channel, items)
    if errors:
        raise ValidationFailed(errors, message=f"{errors[0]['field']}: {errors[0]['message']}")
    check_plan(principal=principal, channel=channel)
    gateways = resolve_gateways(principal=principal, channel=channel, items=cleaned)
    check_suppressions(principal=principal, channel=channel, items=cleaned)
    messages = _build(
        principal,
        channel,
        cleaned,
        gateways,
        by_admin=principal.is_superuser,
        source=source,
        idempotency_key=idempotency_key,
    )
    with transaction.atomic():
        total = sum(m.cost for m in messages)
        if total:
            accounts.debit_credits(user=principal, channel=channel, amount=total, note=f"{len(messages)} {channel}")
        insert_messages(messages)
        enqueue_delivery([m for m in messages if m.status == Status.PENDING])
    return messages


# ---------------------------------------------------------------- tracking


def refund_failed(messages: Iterable[Message]) -> None:
    """Gives back the credits of messages that failed for good (one ledger entry per message)."""
    by_user: dict[tuple[int, str], list[Message]] = defaultdict(list)
    for message in messages:
        if message.cost and not message.by_admin:
            by_user[(message.user_id, message.channel)].append(message)
    for (user_id, channel), failed in by_user.items():
        accounts.refund_many(user_id=user_id, channel=channel, refunds=[(m.uid, m.cost) for m in failed])


@dataclass
class StatusChange:
    """One report about one message: move it to `status` at `at`, with an optional error and event payload."""

    message: Message
    status: str
    at: datetime | None = None
    error: str = ""
    payload: dict | None = None


def _move(row: Message, change: StatusChange, now: datetime) -> bool:
    """Applies `change` to the locked `row` if it moves the status forward; returns whether it did."""
    if STATUS_RANK[Status(change.status)] <= STATUS_RANK[Status(row.status)]:
        return False
    row.status, row.lease_expires_at, row.updated_at = change.status, None, now
    if change.status in TIMESTAMP_FIELD:
        setattr(row, TIMESTAMP_FIELD[change.status], change.at or now)
    if change.error:
        row.error = change.error[:2000]
    return True


def apply_statuses(*, changes: list[StatusChange]) -> list[bool]:
    """Moves each message forward (never back), stamps its time, records an event; one result per change.

    Idempotent: a status a message already has (or has passed) changes nothing (False). A move to Failed
    refunds the message's credits. The same number of queries for one change or five hundred.
    """
    if not changes:
        return []
    now = timezone.now()
    fields = ["status", "lease_expires_at", "updated_at", "error", *sorted(set(TIMESTAMP_FIELD.values()))]
    with transaction.atomic():
        rows = {
            m.pk: m
            for m in Message.objects.select_for_update().filter(pk__in={c.message.pk for c in changes}).order_by("pk")
        }
        moved, events, failed = [], [], {}
        for change in changes:
            row = rows[change.message.pk]
            moved.append(_move(row, change, now))
            if moved[-1]:
                events.append(
                    MessageEvent(
                        message=row, kind=change.status.lower(), at=change.at or now, payload=change.payload or {}
                    )
                )
                if change.status == Status.FAILED:
                    failed[row.pk] = row
        changed = [rows[c.message.pk] for c, ok in zip(changes, moved, strict=True) if ok]
        if changed:
            Message.objects.bulk_update(list({m.pk: m for m in changed}.values()), fields)
            MessageEvent.objects.bulk_create(events)
            refund_failed(failed.values())
    for change in changes:
        row = rows[change.message.pk]
        for name in fields:
            setattr(change.message, name, getattr(row, name))
    return moved


def apply_status(
    *, message: Message, status: str, at: datetime | None = None, error: str = "", payload: dict | None = None
) -> bool:
    """apply_statuses for one message."""
    return apply_statuses(changes=[StatusChange(message, status, at, error, payload)])[0]


def cancel_messages(*, messages: Iterable[Message]) -> int:
    """Cancels messages not yet handed to a provider (Scheduled or Pending) and refunds them."""
    ids = [m.pk for m in messages]
    with transaction.atomic():
        rows = list(
            Message.objects.select_for_update()
            .filter(pk__in=ids, status__in=[Status.SCHEDULED, Status.PENDING])
            .order_by("pk")
        )
        now = timezone.now()
        Message.objects.filter(pk__in=[m.pk for m in rows]).update(status=Status.CANCELLED, updated_at=now)
        MessageEvent.objects.bulk_create(MessageEvent(message=m, kind="cancelled", at=now) for m in rows)
        refund_failed(rows)
    return len(rows)


def add_suppression(
    *, user: User | None, channel: str, address: str, reason: str = Suppression.Reason.MANUAL
) -> Suppression:
    """Blocks `address` on `channel` for `user` (or for everyone when `user` is None). Idempotent."""
    address = address.strip().lower() if channel == "email" else address.strip()
    suppression, _ = Suppression.objects.get_or_create(
        user=user, channel=channel, address=address, defaults={"reason": reason}
    )
    return suppression
