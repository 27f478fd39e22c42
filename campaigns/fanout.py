"""A campaign's audience and its fan-out into messages (docs/campaigns.md, "Fan-out and exactly once").

The audience is resolved once, when the campaign starts, into CampaignRecipient rows (one INSERT … SELECT).
Each chunk then runs in one transaction that holds the campaign's row lock: it takes the next recipients without
a message, renders the template for each, accepts them through messaging.services.accept_messages (inserted
all-or-nothing, paid from the campaign's reservation) and writes each message's uid on its recipient. A worker
killed anywhere leaves either the whole chunk (messages, payment, uids) or nothing of it: the next run starts
exactly where the last commit stopped, so every contact gets exactly one message.

Credits (docs/campaigns.md, "Credits"): the start debits the whole audience's estimated cost in one ledger entry
and holds it in `Campaign.reserved`; each chunk pays from it, and only what a chunk costs beyond what is left is
debited from the balance; what is left when the fan-out completes or the campaign is cancelled goes back in one
ledger entry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Mod
from django.utils import timezone

from accounts import services as accounts
from accounts.models import UNLIMITED, CreditEntry
from campaigns import links
from campaigns.content import render_template, rendered_item
from campaigns.local_time import local_moment
from campaigns.models import Campaign, CampaignRecipient, CampaignStatus, Template
from contacts.models import Contact, ContactStatus, Segment
from contacts.selectors import (
    custom_field_names,
    reachable_data,
    reachable_versions,
    segment_contacts,
    with_statuses,
)
from messaging.items import Item
from messaging.models import Message, Source, Status
from messaging.segments import sms_segments
from messaging.services import accept_messages
from messaging.validation import Draft as Checked
from messaging.validation import item_errors
from xsender.errors import CreditExhausted, DomainError, FieldError, GatewayNotFound, Rejected, ValidationFailed
from xsender.rows import key_array

logger = logging.getLogger(__name__)
CHUNK = 1000
ANALYZE_AFTER = 10_000  # recipients written by one start past which the table's statistics are refreshed
MAX_SKIP_ROUNDS = 20  # a chunk whose items keep being refused one by one gives up and pauses the campaign

ADDRESS = {"email": "email", "sms": "phone", "whatsapp": "phone"}


# ---------------------------------------------------------------- the audience


def _matching(segments: list[Segment]) -> Q:
    """Contacts matching any of `segments`: one `pk IN (subquery)` a segment, built from its rules by
    contacts.selectors.segment_contacts (only the segments' rows are read here, never contacts). No segment:
    nobody."""
    q = Q(pk__in=[])
    for segment in segments:
        q |= Q(pk__in=segment_contacts(segment).values("pk"))
    return q


def audience(campaign: Campaign) -> QuerySet[Contact]:
    """The campaign's contacts: in an included list, with an included tag or matching an included segment; in no
    excluded list, with no excluded tag and matching no excluded segment; with the channel's address, and
    subscribed there (contacts.selectors.with_statuses: the suppression list counts, the tenant's and the global
    one). One statement (segments as subqueries); distinct by construction (`pk IN`), unordered."""
    owner = campaign.owner
    lists, tags = Contact.lists.through.objects, Contact.tags.through.objects

    def in_lists(ids: Any) -> Q:
        return Q(pk__in=lists.filter(contactlist__in=ids, contactlist__owner=owner).values("contact_id"))

    def with_tags(ids: Any) -> Q:
        return Q(pk__in=tags.filter(tag__in=ids, tag__owner=owner).values("contact_id"))

    segments = Segment.objects.for_tenant(owner)  # the owner's only, whatever was stored
    included = list(segments.filter(pk__in=campaign.include_segments.values("pk")))
    excluded = list(segments.filter(pk__in=campaign.exclude_segments.values("pk")))
    contacts = with_statuses(Contact.objects.for_tenant(owner), owner)
    contacts = contacts.filter(
        in_lists(campaign.include_lists.all()) | with_tags(campaign.include_tags.all()) | _matching(included)
    )
    contacts = contacts.exclude(in_lists(campaign.exclude_lists.all())).exclude(with_tags(campaign.exclude_tags.all()))
    if excluded:
        contacts = contacts.exclude(_matching(excluded))
    address = ADDRESS[campaign.channel]
    return contacts.exclude(**{address: ""}).filter(
        **{f"effective_{campaign.channel}_status": ContactStatus.SUBSCRIBED}
    )


def audience_count(campaign: Campaign) -> int:
    """How many contacts the saved campaign's audience holds now (one COUNT over audience's statement): what the
    review shows and what scheduling checks the credit against."""
    return audience(campaign).count()


def resolve_audience(campaign: Campaign) -> int:
    """Writes the audience as the campaign's recipients, numbered by contact (one statement); returns how many
    the campaign has. Idempotent: a contact already a recipient stays as it is."""
    sql, params = audience(campaign).order_by().values_list("pk", flat=True).query.sql_with_params()
    table = CampaignRecipient._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (campaign_id, contact_id, position, skipped) "  # noqa: S608 — constant SQL
            f"SELECT %s, a.pk, row_number() OVER (ORDER BY a.pk), '' FROM ({sql}) a "
            "ON CONFLICT (campaign_id, contact_id) DO NOTHING",
            [campaign.pk, *params],
        )
        if cursor.rowcount > ANALYZE_AFTER:
            # Fresh statistics: else the planner takes the new recipients for none and each chunk's _record joins
            # every pending recipient of every campaign (measured: 50 → 14 ms a chunk of 1,000). ~30 ms, once.
            cursor.execute(f"ANALYZE {table}")
    return CampaignRecipient.objects.filter(campaign=campaign).count()


def unit_cost(template: Template) -> int:
    """Credits one message of `template` costs, as estimated before rendering: 1 for email and WhatsApp, the
    segments of the template's own body for SMS (a contact's data may make a message longer: the chunk that
    renders it charges the real cost)."""
    return sms_segments(template.body) if template.channel == "sms" else 1


def check_credit(campaign: Campaign, recipients: int, reserved: int = 0) -> None:
    """Raises CreditExhausted naming the shortfall when the owner's balance, with the `reserved` credits the
    campaign already holds, does not cover `recipients` messages of the campaign's template. Admin and unlimited
    accounts pass."""
    if campaign.owner.is_superuser or not recipients:
        return
    balance = accounts.balances(campaign.owner)[campaign.channel]
    needed = recipients * unit_cost(campaign.template)
    if balance != UNLIMITED and balance + reserved < needed:
        held = f", {reserved} already reserved" if reserved else ""
        raise CreditExhausted(
            f"Not enough {campaign.channel} credit for this campaign: {needed} needed for {recipients} recipients"
            f"{held}, {balance} available — {needed - reserved - balance} short. Buy more credit or narrow the "
            "audience.",
            field="credits",
        )


def _note(campaign: Campaign, text: str) -> str:
    return f"Campaign {campaign.name[:120]}: {text}"[:255]


def reserve_credit(campaign: Campaign, recipients: int) -> None:
    """Holds the estimated cost of `recipients` messages for the campaign: what `campaign.reserved` does not
    cover yet is debited in one ledger entry and added to it. The caller holds the campaign's row lock, in the
    transaction that resolves (or resumes) the audience, so a refusal leaves nothing behind. Raises
    CreditExhausted naming the shortfall; nothing is debited then. Admin and unlimited accounts hold nothing."""
    if campaign.owner.is_superuser or not recipients:
        return
    more = recipients * unit_cost(campaign.template) - campaign.reserved
    if more <= 0:
        return
    note = _note(campaign, f"{more} {campaign.channel} credits reserved for {recipients} recipients")
    try:
        entry = accounts.debit_credits(user=campaign.owner, channel=campaign.channel, amount=more, note=note)
    except CreditExhausted:
        check_credit(campaign, recipients, reserved=campaign.reserved)  # raises the error naming the shortfall
        raise  # the balance grew in between: the plain refusal
    if entry is None:  # an unlimited account: nothing to hold
        return
    Campaign.objects.filter(pk=campaign.pk).update(reserved=F("reserved") + more)
    campaign.reserved += more


def release_reservation(campaign: Campaign) -> int:
    """Gives the credits the campaign still holds back to the balance in one ledger entry and sets `reserved` to
    0; returns how many. The caller holds the campaign's row lock. Idempotent: the reservation is taken only if
    the row still holds the amount this instance read, so a second call (a retried job, a sweep, a stale
    instance) gives nothing back twice."""
    held = campaign.reserved
    if held <= 0 or not Campaign.objects.filter(pk=campaign.pk, reserved=held).update(reserved=0):
        return 0
    campaign.reserved = 0
    note = _note(campaign, f"{held} unused {campaign.channel} credits returned")
    accounts.add_credits(
        user=campaign.owner, channel=campaign.channel, amount=held, reason=CreditEntry.Reason.REFUND, note=note
    )
    return held


# ---------------------------------------------------------------- one chunk


def _send_at(campaign: Campaign, position: int, time_zone: str = "") -> datetime | None:
    """When the recipient at `position`, whose contact's zone is `time_zone`, leaves; None = now. The throttle:
    (position - anchor) // per-minute minutes after the anchor (the start, or the resume). In each contact's time
    zone: the campaign's wall-clock time on the contact's clock (campaigns.local_time), now once past. Both: the
    later of the two."""
    paced: datetime | None = None
    local: datetime | None = None
    if campaign.throttle and campaign.pace_from is not None:
        minutes = max(0, position - campaign.pace_position) // campaign.throttle
        paced = campaign.pace_from + timedelta(minutes=minutes) if minutes else None
    if campaign.contact_time_zone and campaign.schedule_at is not None:
        local = local_moment(campaign.schedule_at, time_zone)
        local = local if local > timezone.now() else None
    return local if paced is None or (local is not None and local > paced) else paced


class Pick(NamedTuple):
    """A recipient as a chunk needs it — its key, contact and position — read as plain values: 1,000 model
    instances a chunk cost ~4 % of its time."""

    id: int
    contact_id: int
    position: int

    @property
    def pk(self) -> int:
        return self.id


def _picks(recipients: QuerySet[CampaignRecipient], size: int) -> list[Pick]:
    return [Pick(*row) for row in recipients.values_list("id", "contact_id", "position")[:size]]


def _item(campaign: Campaign, contact: dict[str, Any], recipient: Pick) -> Item:
    """The recipient's message: the template rendered with its own unsubscribe URL; for email, the URL also as
    List-Unsubscribe, and the HTML through our open/click tracking unless the campaign opted out (campaigns.links)."""
    unsubscribe = links.unsubscribe_url(recipient.pk)
    tracked = recipient.pk if campaign.channel == "email" and campaign.track_opens_clicks else None
    rendered = render_template(
        template=campaign.template, contact=contact, unsubscribe_url=unsubscribe, tracked_for=tracked
    )
    common = {
        "gateway": campaign.gateway_identifier,
        "schedule_at": _send_at(campaign, recipient.position, contact.get("time_zone", "")),
    }
    if campaign.channel == "email":
        sender = campaign.sender
        return rendered_item(
            rendered, recipient=contact["email"], list_unsubscribe=unsubscribe,
            from_email=sender.email if sender else "",  # only ever a verified sender
            sender_name="" if rendered.from_name or not sender else sender.name,  # the template's name first
            **common,
        )  # fmt: skip
    if campaign.channel == "sms":
        return rendered_item(rendered, recipient=contact["phone"], sms_type="marketing", **common)
    return rendered_item(rendered, recipient=contact["phone"], **common)


def _skip(rows: list[Pick], reason: str) -> None:
    if rows:
        CampaignRecipient.objects.filter(pk__in=[r.pk for r in rows]).update(skipped=reason[:255])


def _per_item(errors: list[FieldError]) -> dict[int, str]:
    """The send path's check errors by item (index → the item's first reason); empty when one of them is about
    the whole chunk (names no item)."""
    if not all("index" in e for e in errors):
        return {}
    found: dict[int, str] = {}
    for e in errors:
        found.setdefault(e["index"], f"{e.get('field', '')}: {e.get('message', '')}")
    return found


def _refused(error: DomainError, size: int) -> dict[int, str]:
    """Per-item refusals of the send path (index → reason); empty when the error is about the whole chunk."""
    if isinstance(error, ValidationFailed):
        return _per_item(error.errors)
    if isinstance(error, Rejected) and error.index is not None and error.index < size:
        return {error.index: error.message}
    return {}


def _cost(campaign: Campaign, items: list[Item]) -> int:
    """What accepting `items` will cost, by the send path's own rule (messaging.validation: an SMS costs the
    segments of its body as rendered, anything else 1; the admin nothing)."""
    if campaign.owner.is_superuser:
        return 0
    if campaign.channel != "sms":
        return len(items)
    return sum(sms_segments(item.body) if item.body else 1 for item in items)


def _pay(campaign: Campaign, cost: int, count: int) -> None:
    """Makes the reservation cover `cost` for `count` messages: what it no longer covers (SMS rendered longer
    than the template's own text) is debited from the balance now, in one ledger entry in the chunk's
    transaction, and added to it (`campaign.reserved`, in memory: _settle writes it). Raises CreditExhausted
    naming the shortfall; the caller's savepoint then takes the chunk back whole."""
    excess = cost - campaign.reserved
    if excess <= 0:
        return
    note = _note(campaign, f"{excess} {campaign.channel} credits beyond its reservation for {count} messages")
    try:
        accounts.debit_credits(user=campaign.owner, channel=campaign.channel, amount=excess, note=note)
    except CreditExhausted:
        balance = accounts.balances(campaign.owner)[campaign.channel]
        raise CreditExhausted(
            f"Not enough {campaign.channel} credit for the next {count} messages of this campaign: {cost} needed, "
            f"{campaign.reserved} reserved, {balance} available — {excess - balance} short. Buy more credit, then "
            "resume.",
            field="credits",
        ) from None
    campaign.reserved += excess


def _accept(
    campaign: Campaign, rows: list[Pick], items: list[Item], checked: list[Checked] | None = None
) -> tuple[list, list[Message]]:
    """Accepts the chunk, paid from the reservation (_pay, before the messages are stored: the balance's row is
    then locked before the daily counts', in the order the send path takes them); an item the send path refuses
    (a rendered text too long, an address suppressed a moment ago) is skipped alone and the rest is tried again.
    `checked`: the send path's check of each item, made with the draft (not repeated under the lock). Raises the
    error that concerns the whole chunk (credit, gateway)."""
    held = campaign.reserved
    for _ in range(MAX_SKIP_ROUNDS):
        if not items:
            return rows, []
        try:
            with transaction.atomic():
                _pay(campaign, _cost(campaign, items), len(items))
                messages = accept_messages(
                    principal=campaign.owner,
                    channel=campaign.channel,
                    items=items,
                    source=Source.CAMPAIGN,
                    max_items=len(items),
                    prepaid=True,
                    checked=checked,
                )
                _pay(campaign, sum(m.cost for m in messages), len(messages))  # covered already: the same rule
            return rows, messages
        except (ValidationFailed, Rejected) as error:
            campaign.reserved = held  # the savepoint took back any debit of this round
            refused = _refused(error, len(items))
            if not refused:
                raise
            _skip([rows[i] for i in refused], next(iter(refused.values())))
            keep = [i for i in range(len(items)) if i not in refused]
            rows, items = [rows[i] for i in keep], [items[i] for i in keep]
            checked = None if checked is None else [checked[i] for i in keep]
    raise Rejected("Too many recipients of this chunk were refused by the send path.")


_RECORD = """
UPDATE {table} r SET message_uid = v.uid FROM unnest(%s::bigint[], %s::uuid[]) AS v(id, uid)
WHERE r.id = v.id AND r.message_uid IS NULL
"""


def _record(rows: list[Pick], messages: list[Message]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            _RECORD.format(table=CampaignRecipient._meta.db_table),
            [key_array(r.id for r in rows), key_array(m.uid for m in messages)],
        )


def _stop(campaign: Campaign, status: str, error: str = "") -> None:
    Campaign.objects.filter(pk=campaign.pk).update(status=status, last_error=error[:500], updated_at=timezone.now())


def queued_messages(campaign: Campaign) -> QuerySet[Message]:
    """The campaign's messages still waiting for a worker or phone (Scheduled, Pending)."""
    uids = CampaignRecipient.objects.filter(campaign=campaign, message_uid__isnull=False).values("message_uid")
    return Message.objects.filter(uid__in=uids, status__in=[Status.SCHEDULED, Status.PENDING])


def finish_if_sent(campaign: Campaign) -> bool:
    """Sending → Sent once every recipient has its message and none of them is still queued or being handed off
    (a throttled campaign's scheduled messages keep it Sending, so it can still be paused or cancelled; a message
    a worker holds keeps it Sending until its gateway has answered); what is still reserved goes back
    (release_reservation, once). The caller holds the campaign's lock."""
    uids = CampaignRecipient.objects.filter(campaign=campaign, message_uid__isnull=False).values("message_uid")
    waiting = Message.objects.filter(uid__in=uids, status__in=[Status.SCHEDULED, Status.PENDING, Status.PROCESSING])
    if campaign.fanned_out_at is None or waiting.exists():
        return False
    release_reservation(campaign)
    now = timezone.now()
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENT, finished_at=now, updated_at=now)
    return True


# ---------------------------------------------------------------- lanes and drafts
#
# Rendering and tracking are most of a chunk's work, and they need no lock: a chunk's items are drafted first
# (the recipients picked, their contacts read, each message rendered) outside any transaction, and only the
# chunk's commit runs under the campaign's row lock, where every recipient is taken again if it still has no
# message. Several fan-out jobs of one campaign (its lanes, campaigns.jobs) thus render at once on several cores
# while their commits take turns; exactly once rests on the locked part alone, as before.


@dataclass
class Draft:
    """A chunk's items made outside the lock: its recipients, what the items were made of (the campaign's
    inputs, the version of each contact's data: contacts.selectors.Reached), the item of each recipient whose
    contact was reachable then, and the send path's check of each item that passed it (messaging.validation: a
    pure function of the item)."""

    rows: list[Pick]
    inputs: tuple[Any, ...]
    versions: dict[int, str]
    items: dict[int, Item]
    checked: dict[int, Checked]


def _values(instance: Any) -> tuple[Any, ...] | None:
    return None if instance is None else tuple(getattr(instance, f.attname) for f in instance._meta.concrete_fields)


_ITEM_FIELDS = ("channel", "gateway_identifier", "track_opens_clicks", "throttle", "pace_from", "pace_position",
                "schedule_at", "contact_time_zone")  # fmt: skip


def _inputs(campaign: Campaign, names: dict[str, str]) -> tuple[Any, ...]:
    """Everything an item is made of besides its contact's data: the campaign's own fields, its template and
    sender, the tenant's custom field names. A draft made of other inputs (the campaign paused, edited and
    resumed meanwhile; a field renamed) is rendered again under the lock."""
    own = tuple(getattr(campaign, name) for name in _ITEM_FIELDS)
    return own, _values(campaign.template), _values(campaign.sender), names


def _todo(campaign: Campaign) -> QuerySet[CampaignRecipient]:
    return CampaignRecipient.objects.filter(campaign=campaign, message_uid__isnull=True, skipped="")


def _picked(campaign: Campaign, size: int, lane: int, lanes: int) -> list[Pick]:
    """The next `size` recipients without a message of lane `lane` of `lanes`: the lanes take the audience's
    blocks of `size` positions in turn (block b to lane b mod lanes). A lane whose blocks are done takes from the
    end of the audience, so the lanes still running keep theirs and one lane finishes a campaign on its own."""
    todo = _todo(campaign)
    if lanes <= 1:
        return _picks(todo.order_by("position"), size)
    block = Mod((F("position") - 1) / Value(size), Value(lanes))
    rows = _picks(todo.alias(lane=block).filter(lane=lane).order_by("position"), size)
    return rows or sorted(_picks(todo.order_by("-position"), size), key=lambda r: r.position)


def draft_chunk(*, campaign_id: int, size: int = CHUNK, lane: int = 0, lanes: int = 1) -> Draft | None:
    """The campaign's next chunk for this lane, its items made without a lock; None when the campaign is not
    Sending or no recipient is left."""
    campaign = (
        Campaign.objects.select_related("owner", "template", "sender")
        .filter(pk=campaign_id, status=CampaignStatus.SENDING)
        .first()
    )
    if campaign is None:
        return None
    rows = _picked(campaign, size, lane, lanes)
    if not rows:
        return None
    names = custom_field_names(owner=campaign.owner)
    ids = [r.contact_id for r in rows]
    reachable = reachable_data(owner=campaign.owner, channel=campaign.channel, ids=ids, names=names)
    items = {r.pk: _item(campaign, reachable[r.contact_id].data, r) for r in rows if r.contact_id in reachable}
    versions = {contact_id: reached.version for contact_id, reached in reachable.items()}
    return Draft(
        rows=rows, inputs=_inputs(campaign, names), versions=versions, items=items, checked=_checked(campaign, items)
    )


def _checked(campaign: Campaign, items: dict[int, Item]) -> dict[int, Checked]:
    """The send path's check of the drafted items (messaging.validation.item_errors), by recipient: those that
    passed it. Nothing when an error concerns the whole chunk (the send path then says so under the lock)."""
    drafts, errors = item_errors(campaign.channel, list(items.values()), max_items=len(items))
    bad = _per_item(errors)
    if errors and not bad:
        return {}
    return {pk: draft for index, (pk, draft) in enumerate(zip(items, drafts, strict=True)) if index not in bad}


_OPEN = "SELECT id FROM {table} WHERE id = ANY(%s::bigint[]) AND message_uid IS NULL AND skipped = ''"


def _still_open(rows: list[Pick]) -> list[Pick]:
    """Those of `rows` that still have no message and no reason to get none (one query; the ids as one array)."""
    with connection.cursor() as cursor:
        cursor.execute(_OPEN.format(table=CampaignRecipient._meta.db_table), [key_array(r.id for r in rows)])
        still = {pk for (pk,) in cursor.fetchall()}
    return [r for r in rows if r.pk in still]


def send_chunk(*, campaign_id: int, size: int = CHUNK, lane: int = 0, lanes: int = 1) -> int | None:
    """Creates the messages of the next `size` recipients without one (of lane `lane` of `lanes`, see _picked):
    drafted without a lock (draft_chunk), then settled in one transaction under the campaign's row lock (pause
    and cancel take the same lock, so no chunk commits after them), taking only the drafted recipients that
    still have no message (another lane may have settled them) — or, when none is left of them, the next ones,
    rendered under the lock. Returns how many recipients it settled (0: none was left: the fan-out is done), or
    None when the campaign is not Sending (paused, cancelled, gone — or paused now because the credit or the
    gateway failed the chunk)."""
    draft = draft_chunk(campaign_id=campaign_id, size=size, lane=lane, lanes=lanes)
    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update(of=("self",))
            .select_related("owner", "template", "sender")
            .filter(pk=campaign_id)
        )
        campaign = campaign.first()
        if campaign is None or campaign.status != CampaignStatus.SENDING:
            return None
        rows = _still_open(draft.rows) if draft is not None else []
        if not rows:
            rows, draft = _picks(_todo(campaign).order_by("position"), size), None
        if not rows:
            if campaign.fanned_out_at is None:
                campaign.fanned_out_at = timezone.now()
                Campaign.objects.filter(pk=campaign.pk).update(fanned_out_at=campaign.fanned_out_at)
            release_reservation(campaign)  # every recipient settled: what skipped ones left is unused
            finish_if_sent(campaign)
            return 0
        return _settle(campaign, rows, draft)


def _settle(campaign: Campaign, rows: list[Pick], draft: Draft | None = None) -> int | None:
    # The chunk's contacts that still have the address and are still subscribed (a status or a suppression may
    # have changed since the audience was resolved, or since the draft). A drafted item is kept when the
    # campaign's inputs and the version of its contact's data are what it was made of: the versions are one
    # query of short values; only the contacts whose items are made again here are read whole.
    names = custom_field_names(owner=campaign.owner)
    ids = [r.contact_id for r in rows]
    if draft is not None and draft.inputs == _inputs(campaign, names):
        versions = reachable_versions(owner=campaign.owner, channel=campaign.channel, ids=ids)
        kept = {r.pk for r in rows
                if r.pk in draft.items and draft.versions.get(r.contact_id, "") == versions.get(r.contact_id)}  # fmt: skip
        redo = [r.contact_id for r in rows if r.pk not in kept and r.contact_id in versions]
    else:
        draft, kept, redo = None, set(), ids
    reached = reachable_data(owner=campaign.owner, channel=campaign.channel, ids=redo, names=names) if redo else {}
    gone = [r for r in rows if r.pk not in kept and r.contact_id not in reached]
    _skip(gone, f"Not subscribed to {campaign.channel}, or no address, when its turn came.")
    rows = [r for r in rows if r.pk in kept or r.contact_id in reached]
    items = [draft.items[r.pk] if r.pk in kept else _item(campaign, reached[r.contact_id].data, r) for r in rows]
    # The drafted check stands for the chunk only when every item is drafted and passed it: else all are checked.
    drafted = draft is not None and all(r.pk in kept and r.pk in draft.checked for r in rows)
    checked = [draft.checked[r.pk] for r in rows] if drafted else None
    try:
        sent_rows, messages = _accept(campaign, rows, items, checked)
    except (CreditExhausted, GatewayNotFound, ValidationFailed, Rejected) as error:
        # About the whole chunk: nothing of it was created. The campaign waits for the tenant (top up, fix the
        # gateway), then resumes where it stopped; the skips above are kept (they hold whatever happens).
        _stop(campaign, CampaignStatus.PAUSED, error.message)
        logger.info("campaign %s paused: %s", campaign.public_id, error.message)
        return None
    _record(sent_rows, messages)
    skipped = len(rows) - len(sent_rows) + len(gone)
    cost = sum(m.cost for m in messages)
    Campaign.objects.filter(pk=campaign.pk).update(
        messages_count=F("messages_count") + len(messages),
        skipped_count=F("skipped_count") + skipped,
        cost=F("cost") + cost,
        reserved=max(0, campaign.reserved - cost),  # paid from it (topped up by _pay where it fell short)
        heartbeat_at=timezone.now(),
        updated_at=timezone.now(),
    )
    return len(messages) + skipped
