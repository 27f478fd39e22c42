"""Reads of the audience, always scoped to the tenant (another tenant's public id is NotFound)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import Case, CharField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from accounts.models import User
from contacts.models import (
    STATUS_FIELDS,
    SUPPRESSION_STATUS,
    Contact,
    ContactList,
    ContactStatus,
    CustomField,
    Segment,
    Tag,
)
from contacts.segments import check_rules, members_only, memberships, segment_q
from messaging.models import Suppression
from xsender.errors import ValidationFailed
from xsender.public_ids import is_public_id
from xsender.rows import key_array
from xsender.tenancy import owned_by_public_id

MAX_PAGE = 500


def get_contact(*, owner: User, public_id: str) -> Contact:
    return owned_by_public_id(Contact, owner, public_id, "contact", "Contact")


def get_list(*, owner: User, public_id: str) -> ContactList:
    return owned_by_public_id(ContactList, owner, public_id, "list", "List")


def get_tag(*, owner: User, public_id: str) -> Tag:
    return owned_by_public_id(Tag, owner, public_id, "tag", "Tag")


def get_custom_field(*, owner: User, public_id: str) -> CustomField:
    return owned_by_public_id(CustomField, owner, public_id, "custom_field", "Custom field")


def get_segment(*, owner: User, public_id: str) -> Segment:
    return owned_by_public_id(Segment, owner, public_id, "segment", "Segment")


def segments_of(owner: User) -> list[Segment]:
    """The tenant's segments by name (one query)."""
    return list(Segment.objects.for_tenant(owner).order_by("name"))


def with_statuses(contacts: QuerySet[Contact], owner: User) -> QuerySet[Contact]:
    """`contacts` annotated with `effective_<channel>_status`: what the suppression list (the tenant's or
    everyone's) says of the contact's address when it is there, else the stored status. In the same query."""
    annotations: dict[str, Any] = {}
    for channel, field in STATUS_FIELDS.items():
        reason = Suppression.objects.filter(
            Q(user=owner) | Q(user__isnull=True),
            channel=channel,
            address=OuterRef("email" if channel == "email" else "phone"),
        ).values("reason")[:1]
        mapped = Case(
            *(When(Q(reason=r), then=Value(status.value)) for r, status in SUPPRESSION_STATUS.items()),
            output_field=CharField(),
        )
        annotations[f"effective_{channel}_status"] = Coalesce(
            Subquery(reason.annotate(status=mapped).values("status")[:1]), field, output_field=CharField()
        )
    return contacts.annotate(**annotations)


@dataclass(frozen=True)
class ContactFilter:
    search: str = ""  # an email, phone or name prefix, or a contact's public id
    list_id: str = ""  # a list's public id
    tag: str = ""  # a tag's public id or name
    status: str = ""  # with `channel`: the contact's effective status there
    channel: str = "email"


@dataclass(frozen=True)
class ContactPage:
    contacts: list[Contact]
    next: int | None  # the cursor of the next page; None on the last


def _searched(contacts: QuerySet[Contact], text: str) -> QuerySet[Contact]:
    text = text.strip()
    if not text:
        return contacts
    if is_public_id(text, "contact"):
        return contacts.filter(public_id=text)
    if "@" in text:
        return contacts.filter(email__startswith=text.lower())
    digits = "".join(ch for ch in text if ch.isdigit())
    if text[0] in "+0123456789" and digits:
        return contacts.filter(phone__startswith=f"+{digits}")
    return contacts.filter(
        Q(email__startswith=text.lower()) | Q(first_name__istartswith=text) | Q(last_name__istartswith=text)
    )


def matching_contacts(*, owner: User, wanted: ContactFilter) -> QuerySet[Contact]:
    """The tenant's contacts matching `wanted`, with their effective statuses; unordered."""
    contacts = with_statuses(Contact.objects.for_tenant(owner), owner)
    contacts = _searched(contacts, wanted.search)
    if wanted.list_id:
        contacts = contacts.filter(lists__public_id=wanted.list_id, lists__owner=owner)
    if wanted.tag:
        key = "tags__public_id" if is_public_id(wanted.tag, "tag") else "tags__name"
        contacts = contacts.filter(**{key: wanted.tag.strip(), "tags__owner": owner})
    if wanted.status:
        if wanted.status not in ContactStatus.values:
            raise ValidationFailed.single("status", f"Unknown status {wanted.status!r}.")
        if wanted.channel not in STATUS_FIELDS:
            raise ValidationFailed.single("channel", f"Unknown channel {wanted.channel!r}.")
        contacts = contacts.filter(**{f"effective_{wanted.channel}_status": wanted.status})
    return contacts


def contacts_page(*, owner: User, wanted: ContactFilter, after: int | None = None, size: int = 50) -> ContactPage:
    """One page of the tenant's contacts matching `wanted`, newest first, after the cursor `after`, with their
    lists and tags: three queries whatever the page size or the tenant's number of contacts (keyset on the
    (owner, id) index, never an OFFSET or a COUNT)."""
    size = max(1, min(size, MAX_PAGE))
    contacts = matching_contacts(owner=owner, wanted=wanted)
    if after is not None:
        contacts = contacts.filter(id__lt=after)
    rows = list(contacts.order_by("-id").prefetch_related("lists", "tags")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return ContactPage(contacts=rows, next=rows[-1].pk if more else None)


def custom_field_names(*, owner: User) -> dict[str, str]:
    """The tenant's custom fields: public id → name (one query), for `contact_data`."""
    return dict(CustomField.objects.for_tenant(owner).values_list("public_id", "name"))


def contact_data(contact: Contact, names: dict[str, str]) -> dict[str, Any]:
    """`contact` as plain data for a template (campaigns.rendering.contact_context): its fields, and its custom
    values keyed by field name (`names` from custom_field_names; a value of a field since deleted is left out).
    Its `time_zone` comes along for the campaign fan-out (a message at the contact's local time); it is not a
    placeholder: the template context takes only the placeholders' names."""
    fields = ("first_name", "last_name", "email", "phone", "company", "time_zone")
    data: dict[str, Any] = {f: getattr(contact, f) for f in fields}
    data["custom"] = {names[key]: value for key, value in contact.custom.items() if key in names}
    return data


_DATA_FIELDS = ("first_name", "last_name", "email", "phone", "company", "time_zone")


_REACHABLE = """
SELECT c.id, {columns} FROM {contacts} c
WHERE c.id = ANY(%(ids)s::bigint[]) AND c.owner_id = %(owner)s AND c.{status} = %(subscribed)s AND c.{address} <> ''
  AND NOT EXISTS (
    SELECT 1 FROM {suppressions} s
    WHERE (s.user_id = %(owner)s OR s.user_id IS NULL) AND s.channel = %(channel)s AND s.address = c.{address}
      AND s.reason = ANY(%(reasons)s)
  )
"""
# The version of a contact's row: the transaction that wrote it (PostgreSQL's `xmin` system column, free to read).
# Any change to the row writes a new version of it, so whatever its template data is read from has not changed
# while this has not (the optimistic-concurrency token PostgreSQL drivers use); a write that changes nothing only
# makes a draft be rendered again.
_VERSION = "c.xmin::text"


class Reached(NamedTuple):
    """A reachable contact's template data (contact_data's shape) and the version of what it was read from."""

    version: str
    data: dict[str, Any]


def _reachable(owner: User, channel: str, ids: list[int], columns: str) -> list[tuple[Any, ...]]:
    sql = _REACHABLE.format(
        columns=columns,
        contacts=Contact._meta.db_table,
        suppressions=Suppression._meta.db_table,
        status=STATUS_FIELDS[channel],
        address="email" if channel == "email" else "phone",
    )
    params = {"ids": key_array(ids), "owner": owner.pk, "subscribed": ContactStatus.SUBSCRIBED.value, "channel": channel,
              "reasons": list(SUPPRESSION_STATUS)}  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def reachable_data(*, owner: User, channel: str, ids: list[int], names: dict[str, str]) -> dict[int, Reached]:
    """Of the contacts `ids` of `owner`, those that have `channel`'s address and are subscribed there, with their
    template data and its version (Reached), in one query of plain values. Subscribed means what `with_statuses`
    says for this one channel: the stored status is subscribed and no suppression of the tenant's or everyone's
    names the address (every suppression reason is a status other than subscribed). The ids go as one array
    parameter: a campaign chunk asks for a thousand at a time, and a thousand parameters cost more than the
    query."""
    rows = _reachable(owner, channel, ids, f"{_VERSION}, {', '.join(f'c.{name}' for name in _DATA_FIELDS)}, c.custom")
    found = {}
    for pk, version, *values, custom in rows:
        data: dict[str, Any] = dict(zip(_DATA_FIELDS, values, strict=True))
        custom = json.loads(custom) if isinstance(custom, str) else custom  # Django reads jsonb as text
        data["custom"] = {names[key]: value for key, value in custom.items() if key in names}
        found[pk] = Reached(version, data)
    return found


def reachable_versions(*, owner: User, channel: str, ids: list[int]) -> dict[int, str]:
    """reachable_data's contacts, by the version of their data only (what to compare with an earlier read: a
    thousand short strings instead of a thousand contacts' data)."""
    return dict(_reachable(owner, channel, ids, _VERSION))


# ---------------------------------------------------------------- segments


def segment_contacts(segment: Segment) -> QuerySet[Contact]:
    """The segment's owner's contacts matching its rules, now (evaluated in SQL); unordered."""
    rules = segment_q(segment.owner_id, segment.rules, segment.match)
    return Contact.objects.filter(rules, owner_id=segment.owner_id)  # the owner's id: no query for the owner


# Set for the transaction of a segment's COUNT (set_config(…, true) is SET LOCAL): one statement for both.
_COUNT_SETTINGS = (
    "SELECT set_config('random_page_cost', '1.1', true), set_config('plan_cache_mode', 'force_custom_plan', true)"
)


def _count(owner_id: int, rules: list[dict[str, Any]], match: str) -> int:
    """One COUNT of the owner's contacts matching checked rules. One tag or list rule counts its memberships (an
    index-only scan of the tag's or list's members, not of the tenant's contacts). Otherwise the COUNT runs in a
    transaction that tells the planner random reads cost about what sequential ones do (`random_page_cost` 1.1,
    PostgreSQL's advice for SSDs and data in memory; 4 by default): a tag or list rule among others is then walked
    from its members (one lookup by id each) rather than by reading every contact of the tenant; and that plans
    the COUNT for its own values every time (`plan_cache_mode`): psycopg prepares a statement a connection repeats,
    and after five runs PostgreSQL would keep a generic plan made without the rules' values, which counted the
    bench's three-rule segment in 277 ms instead of 116. Two statements in a transaction (the caller's, if any: the
    settings then last until it ends; they change plans, never results)."""
    single = members_only(rules)
    if single is not None:
        return memberships(owner_id, single).count()
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(_COUNT_SETTINGS)
        return Contact.objects.filter(segment_q(owner_id, rules, match), owner_id=owner_id).count()


def segment_count(segment: Segment) -> int:
    """How many contacts the segment holds now: one COUNT (_count)."""
    return _count(segment.owner_id, segment.rules, segment.match)


def count_rules(*, owner: User, rules: Any, match: str = "all") -> int:
    """The live count of rules not saved yet (the rule builder): checked as a save checks them (ValidationFailed
    naming `rules.N.<key>`), then one COUNT (_count)."""
    clean = check_rules(owner=owner, rules=rules, match=match)
    return _count(owner.pk, clean, match)
