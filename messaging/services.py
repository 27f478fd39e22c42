"""Accept: the one path every caller (API dialects, panel, campaigns, automations) takes to send a message.

Callers hand typed items (messaging.items); errors are domain errors naming the item's index and a neutral
field. Status changes after acceptance are messaging.transitions'; delivery is messaging.delivery.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts import services as accounts
from accounts.models import User
from gateways.models import Gateway
from gateways.selectors import default_gateway, gateways_by_identifier, usable_gateways
from messaging import counts, transitions
from messaging.bulk import insert_charged, insert_messages, new_message
from messaging.items import Item
from messaging.jobs import enqueue_delivery
from messaging.models import Message, Priority, Source, Status, Suppression
from messaging.validation import Draft, check_gateway_features, check_items, normalise_email
from xsender.errors import Conflict, CreditExhausted, GatewayNotFound, Rejected

# Up to this many recipients a request is charged and stored in one statement; more go through COPY.
SMALL_REQUEST = 100


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


def resolve_gateways(*, principal: User, channel: str, drafts: list[Draft]) -> list[Gateway]:
    """The gateway of each draft: the one it names, else the principal's default (one query for all of them).
    Raises GatewayNotFound naming the first item whose gateway is not among those the principal may use."""
    available = usable_gateways(principal, channel)
    by_identifier, default = gateways_by_identifier(available), default_gateway(available)
    chosen = []
    for index, draft in enumerate(drafts):
        gateway = by_identifier.get(draft.gateway) if draft.gateway else default
        if gateway is None:
            what = f"Gateway {draft.gateway!r} not found" if draft.gateway else f"No default {channel} gateway"
            raise GatewayNotFound(f"{what}: name one of your gateways or add one.", index=index, field="gateway")
        chosen.append(gateway)
    return chosen


def _suppressed(principal: User, channel: str, addresses: list[str]) -> tuple[str, list[Any]]:
    """SQL (and parameters) of "one of `addresses` is suppressed for the principal on `channel`"."""
    owner = "user_id IS NULL" if principal.is_superuser else "(user_id = %s OR user_id IS NULL)"
    sql = f"SELECT address, reason FROM messaging_suppression WHERE channel = %s AND address = ANY(%s) AND {owner}"  # noqa: S608
    return sql, [channel, addresses] if principal.is_superuser else [channel, addresses, principal.pk]


def check_suppressions(*, principal: User, channel: str, drafts: list[Draft]) -> None:
    """Raises Rejected (422) naming the first suppressed or opted-out recipient (one query)."""
    sql, params = _suppressed(principal, channel, list({draft.recipient for draft in drafts}))
    with connection.cursor() as cursor:  # a prepared statement: every send asks it
        cursor.execute(sql, params)
        blocked = dict(cursor.fetchall())
    for index, draft in enumerate(drafts):
        if draft.recipient in blocked:
            reason = Suppression.Reason(blocked[draft.recipient]).label.lower()
            raise Rejected(f"{draft.recipient} is on the suppression list ({reason}).", index=index, field="recipient")


def _priority(draft: Draft, bulk: bool) -> int:
    if draft.sms_type == "otp":
        return Priority.HIGH
    if draft.sms_type == "marketing" or bulk:
        return Priority.LOW
    return Priority.HIGH


def _build(principal: User, channel: str, drafts: list[Draft], gateways: list[Gateway], **common: Any) -> list[Message]:
    """The unsaved messages of `drafts` on their `gateways`. Raises GatewayNotFound when a gateway cannot send its
    item as asked (messaging.validation.check_gateway_features): nothing is stored or charged yet."""
    check_gateway_features(channel, drafts, gateways)
    now = timezone.now()
    bulk = len(drafts) > 1
    messages = []
    for draft, gateway in zip(drafts, gateways, strict=True):
        scheduled = draft.schedule_at is not None and draft.schedule_at > now
        values = {
            "uid": uuid.uuid4(),
            "user_id": principal.pk,
            "channel": channel,
            "gateway_id": gateway.pk,
            "recipient": draft.recipient,
            "subject": draft.subject,
            "body": draft.body,
            "sender_name": draft.sender_name,
            "reply_to": draft.reply_to,
            "list_unsubscribe": draft.list_unsubscribe,
            "from_email": draft.from_email,
            "text_body": draft.text_body,
            "sms_type": draft.sms_type,
            "media": draft.media,
            "media_url": draft.media_url,
            "attachments": draft.attachments,
            "whatsapp_template": draft.whatsapp_template,
            "schedule_at": draft.schedule_at,
            "status": Status.SCHEDULED if scheduled else Status.PENDING,
            "queued_at": None if scheduled else now,
            "priority": _priority(draft, bulk),
            "cost": 0 if principal.is_superuser else draft.cost,
            "created_at": now,
            "updated_at": now,
            **common,
        }
        messages.append(new_message(values, gateway=gateway))  # the gateway cached: the enqueue reads its provider
    return messages


def accept_messages(
    *,
    principal: User,
    channel: str,
    items: Sequence[Item],
    source: str = Source.API,
    idempotency_key: str = "",
    max_items: int | None = None,
    prepaid: bool = False,
    checked: Sequence[Draft] | None = None,
) -> list[Message]:
    """Checks, routes, charges and stores one request's messages, then wakes the workers on commit.

    All-or-nothing: raises ValidationFailed (400), CreditExhausted (402), GatewayNotFound (404) or
    Rejected (422) and then nothing is stored, charged or enqueued. The admin (superuser) bypasses plan
    checks and credits; its messages are marked by_admin. Query count does not depend on len(items). At most
    `max_items` items (default XSENDER_MAX_RECIPIENTS; the panel's bulk send from a file allows more).
    `prepaid`: the caller has already debited these messages (a campaign's reservation): each keeps its `cost`,
    so a cancelled or failed one is refunded as usual, but no debit is run here.
    `checked`: what check_items already made of exactly these items, in order (a campaign checks its chunk
    before it takes its lock): not checked a second time. Anything else (none, another count, no item at all)
    is checked here.
    """
    if not checked or len(checked) != len(items):
        drafts = check_items(channel, items, max_items=max_items)
    else:
        drafts = list(checked)
    check_plan(principal=principal, channel=channel)
    gateways = resolve_gateways(principal=principal, channel=channel, drafts=drafts)
    messages = _build(
        principal,
        channel,
        drafts,
        gateways,
        by_admin=principal.is_superuser,
        source=source,
        idempotency_key=idempotency_key,
    )
    _store(principal, channel, messages, drafts, prepaid=prepaid)
    return messages


def _store(
    principal: User, channel: str, messages: list[Message], drafts: list[Draft], *, prepaid: bool = False
) -> None:
    """Checks suppressions, charges and inserts, all or nothing, then wakes the workers on commit. A request of a
    few recipients is one statement (the suppression check and the charge guard the insert: no transaction
    round trips at all); a bulk one is one transaction with COPY. Prepaid messages are not charged (nothing to
    guard the insert with: they take the transaction's path whatever their number)."""
    total = 0 if prepaid else sum(m.cost for m in messages)
    note = f"{len(messages)} {channel}"
    if len(messages) <= SMALL_REQUEST and total:
        blocked, params = _suppressed(principal, channel, list({m.recipient for m in messages}))
        guard = (f"NOT EXISTS ({blocked})", params)
        charge = accounts.debit_statement(user_id=principal.pk, channel=channel, amount=total, note=note, only_if=guard)
        count = counts.accepted_sql(
            user_id=principal.pk, channel=channel, count=len(messages), guard="EXISTS (SELECT 1 FROM charged)"
        )
        if not insert_charged(messages, charge, also=[count]):
            check_suppressions(principal=principal, channel=channel, drafts=drafts)  # raises Rejected if that was it
            accounts.ensure_account(user=principal, channel=channel)  # a user created without one: retry once
            if not insert_charged(messages, charge, also=[count]):
                raise accounts.short_of_credit(channel, total)
        enqueue_delivery([m for m in messages if m.status == Status.PENDING])
        return
    check_suppressions(principal=principal, channel=channel, drafts=drafts)
    with transaction.atomic():
        if total:
            accounts.debit_credits(user=principal, channel=channel, amount=total, note=note)
        insert_messages(messages) if len(messages) > SMALL_REQUEST else insert_charged(messages)
        counts.add((principal.pk, m.created_at, channel, "accepted") for m in messages)
        enqueue_delivery([m for m in messages if m.status == Status.PENDING])


# ---------------------------------------------------------------- after acceptance


def cancel_messages(*, messages: Iterable[Message]) -> int:
    """Cancels messages not yet claimed by a worker or phone (Scheduled or Pending) and refunds them."""
    return transitions.cancel(messages=messages)


def settle_gateway_removal(gateway: Gateway, force: bool) -> None:
    """Removal guard for gateways.services.remove_gateway: refuses while the gateway has queued messages;
    forced, fails them first (refunded unless already handed over)."""
    queued = Message.objects.filter(gateway=gateway, status__in=transitions.NOT_YET_SENT)
    if not force:
        count = queued.count()
        if count:
            raise Conflict(
                f"{count} message(s) are still queued on {gateway.identifier}: wait for them, cancel them, "
                "or remove the gateway with force (they fail and are refunded)."
            )
        return
    rows = list(queued.select_for_update(of=("self",)).order_by("pk"))
    transitions.fail_unsendable(rows=rows, error=f"Its gateway {gateway.identifier} was removed.")


def add_suppression(
    *, user: User | None, channel: str, address: str, reason: str = Suppression.Reason.MANUAL
) -> Suppression:
    """Blocks `address` on `channel` for `user` (or for everyone when `user` is None). Idempotent."""
    address = normalise_email(address) if channel == "email" else address.strip()
    suppression, _ = Suppression.objects.get_or_create(
        user=user, channel=channel, address=address, defaults={"reason": reason}
    )
    return suppression


# The entries not there yet, in one statement. "IS NOT DISTINCT FROM": a global entry (no user) is unique too,
# which the unique constraint alone cannot say (NULLs differ there).
_ADD_SUPPRESSIONS = """
INSERT INTO messaging_suppression (user_id, channel, address, reason, created_at)
SELECT DISTINCT ON (v.user_id, v.channel, v.address) v.user_id, v.channel, v.address, v.reason, %s
FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[]) AS v(user_id, channel, address, reason)
WHERE NOT EXISTS (SELECT 1 FROM messaging_suppression s WHERE s.user_id IS NOT DISTINCT FROM v.user_id
                  AND s.channel = v.channel AND s.address = v.address)
ON CONFLICT DO NOTHING
"""


def add_suppressions(*, entries: Iterable[tuple[int | None, str, str, str]]) -> None:
    """Blocks each (user id or None for everyone, channel, address, reason) as `add_suppression` does, in one
    statement for any number of entries (a provider batch's bounces and complaints). Idempotent."""
    columns: list[list[Any]] = [[], [], [], []]
    for user_id, channel, address, reason in entries:
        try:
            address = normalise_email(address) if channel == "email" else address.strip()
        except ValueError:  # one odd address must not fail the batch: it is kept as it came, in lower case
            address = address.strip().lower()
        for column, value in zip(columns, (user_id, channel, address, reason), strict=True):
            column.append(value)
    if columns[0]:
        with connection.cursor() as cursor:
            cursor.execute(_ADD_SUPPRESSIONS, [timezone.now(), *columns])
