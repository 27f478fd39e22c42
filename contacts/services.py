"""Every change of the audience: contacts (create, update, identify, delete), their lists and tags (for many
contacts in a constant number of statements), and the tenant's lists, tags and custom fields.

Keyword-only; the tenant is explicit (`owner`); every object named by a public id is looked up among the
tenant's own, so another tenant's id is unknown here. Raises xsender.errors: ValidationFailed naming the field,
Conflict for a duplicate (naming the field) or a change that would break a rule.

Contact status and the suppression list (messaging.Suppression) stay consistent: a status set to
unsubscribed, bounced, complained or blocked adds the address to the tenant's suppression list on that channel
(opt_out, bounce, complaint, manual), in the same transaction; setting it back to subscribed while the address
is suppressed is a Conflict (the suppression is lifted where suppressions are managed, not as a side effect).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Func, Q, Value

from accounts.models import User
from contacts import imports, jobs, values
from contacts.models import (
    STATUS_FIELDS,
    STATUS_SUPPRESSION,
    Contact,
    ContactList,
    ContactStatus,
    CustomField,
    ImportJob,
    Segment,
    Tag,
)
from contacts.segments import check_rules
from messaging.models import Suppression
from messaging.services import add_suppressions
from xsender.errors import Conflict, ValidationFailed
from xsender.public_ids import is_public_id

TEXT_FIELDS = ("first_name", "last_name", "company")
CONTACT_FIELDS = ("email", "phone", *TEXT_FIELDS, "time_zone", "custom", *STATUS_FIELDS.values())
# The unique constraints a write can hit, and the field each one is about.
UNIQUE = {
    "contact_email_unique_per_owner": "email",
    "contact_phone_unique_per_owner": "phone",
    "contact_list_name_unique_per_owner": "name",
    "tag_name_unique_per_owner": "name",
    "custom_field_name_unique_per_owner": "name",
    "segment_name_unique_per_owner": "name",
}


def _constraint(exc: IntegrityError) -> str:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", "") or ""


def _saved(obj: Any, what: str) -> None:
    """Saves `obj` in a savepoint; a unique constraint hit becomes a Conflict naming its field."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        field = UNIQUE.get(_constraint(exc))
        if field is None:
            raise
        raise Conflict(f"A {what} with this {field} already exists.", field=field) from None


# ---------------------------------------------------------------- contacts


def check_contact_changes(*, owner: User, contact: Contact | None, changes: dict[str, Any]) -> dict[str, Any]:
    """`changes` (any of CONTACT_FIELDS) normalised and validated for `contact` (None: a new one): email and
    phone as the send path writes them, the time zone an IANA name (or "": the server's), statuses known, custom
    values typed by their fields and merged into the stored ones. Raises ValidationFailed naming the field."""
    unknown = sorted(set(changes) - set(CONTACT_FIELDS))
    if unknown:
        raise ValidationFailed.single(unknown[0], "This field cannot be set.")
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "email":
            clean[name] = values.check_email(value)
        elif name == "phone":
            clean[name] = values.check_phone(value)
        elif name in TEXT_FIELDS:
            clean[name] = values.check_text(value or "", name)
        elif name == "time_zone":
            clean[name] = values.check_time_zone(value)
        elif name == "custom":
            typed = values.check_custom(owner=owner, values=value or {})
            clean[name] = values.merged_custom(contact.custom if contact else {}, typed)
        else:
            clean[name] = values.check_status(value, name)
    email = clean.get("email", contact.email if contact else "")
    phone = clean.get("phone", contact.phone if contact else "")
    if not email and not phone:
        raise ValidationFailed.single("email", "Enter an email address or a phone number.")
    _refuse_suppressed(owner, email, phone, _resubscribed(contact, clean))
    return clean


def check_unique_contact(*, owner: User, contact: Contact | None, email: str, phone: str) -> None:
    """Conflict naming email or phone when another contact of the tenant has it (one query). The writes rely on
    the unique constraints; forms call this to show the error on the field."""
    taken = Contact.objects.for_tenant(owner).exclude(pk=contact.pk if contact else None)
    for field, value in (("email", email), ("phone", phone)):
        if value and taken.filter(**{field: value}).exists():
            raise Conflict(f"A contact with this {field} already exists.", field=field)


def _resubscribed(contact: Contact | None, clean: dict[str, Any]) -> list[str]:
    """The channels `clean` moves from another status back to subscribed."""
    return [
        channel
        for channel, field in STATUS_FIELDS.items()
        if clean.get(field) == ContactStatus.SUBSCRIBED
        and contact is not None
        and getattr(contact, field) != ContactStatus.SUBSCRIBED
    ]


def _address(contact: Contact, channel: str) -> str:
    return contact.email if channel == "email" else contact.phone


def _refuse_suppressed(owner: User, email: str, phone: str, channels: list[str]) -> None:
    """Conflict naming the status field when the address of one of `channels` is on the suppression list (the
    tenant's or everyone's): a status goes back to subscribed only once the suppression is lifted."""
    wanted = Q()
    for channel in channels:
        address = email if channel == "email" else phone
        if address:
            wanted |= Q(channel=channel, address=address)
    if not channels or not wanted:
        return
    hit = Suppression.objects.filter(wanted, Q(user=owner) | Q(user__isnull=True)).values("channel", "reason").first()
    if hit:
        reason = Suppression.Reason(hit["reason"]).label.lower()
        field = STATUS_FIELDS[hit["channel"]]
        raise Conflict(f"The address is on the {hit['channel']} suppression list ({reason}).", field=field)


def _suppress(owner: User, contact: Contact) -> None:
    """Adds each channel whose status is not subscribed to the tenant's suppression list (one statement)."""
    entries = [
        (owner.pk, channel, _address(contact, channel), STATUS_SUPPRESSION[getattr(contact, field)])
        for channel, field in STATUS_FIELDS.items()
        if getattr(contact, field) != ContactStatus.SUBSCRIBED and _address(contact, channel)
    ]
    if entries:
        add_suppressions(entries=entries)


@transaction.atomic
def _write(*, owner: User, contact: Contact, clean: dict[str, Any]) -> Contact:
    for name, value in clean.items():
        setattr(contact, name, value)
    _saved(contact, "contact")
    touched = {"email", "phone", *STATUS_FIELDS.values()}
    if touched & set(clean):
        _suppress(owner, contact)
    return contact


def create_contact(*, owner: User, lists: Sequence[str] = (), tags: Sequence[str] = (), **fields: Any) -> Contact:
    """A new contact of `owner` with `fields` (CONTACT_FIELDS), in `lists` (public ids) and `tags` (names or
    public ids; new names are created). Raises Conflict naming email or phone when the tenant has a contact
    with it already; ValidationFailed naming the field."""
    clean = check_contact_changes(owner=owner, contact=None, changes=fields)
    with transaction.atomic():
        contact = _write(owner=owner, contact=Contact(owner=owner), clean=clean)
        _join(owner, [contact.public_id], lists=lists, tags=tags)
    return contact


def update_contact(*, contact: Contact, lists: Sequence[str] = (), tags: Sequence[str] = (), **changes: Any) -> Contact:
    """Changes `contact`'s fields (CONTACT_FIELDS; custom values merge: a None removes one) and adds it to
    `lists` and `tags`. Raises as create_contact does, and Conflict naming the status field when a status
    goes back to subscribed while the address is suppressed."""
    owner = contact.owner
    clean = check_contact_changes(owner=owner, contact=contact, changes=changes)
    with transaction.atomic():
        _write(owner=owner, contact=contact, clean=clean)
        _join(owner, [contact.public_id], lists=lists, tags=tags)
    return contact


def _find(owner: User, email: str, phone: str) -> Contact | None:
    """The contact with `email`, else the one with `phone` (one query)."""
    wanted = (Q(email=email) if email else Q()) | (Q(phone=phone) if phone else Q())
    found = list(Contact.objects.for_tenant(owner).filter(wanted)[:2])
    return next((c for c in found if email and c.email == email), found[0] if found else None)


def identify_contact(
    *, owner: User, lists: Sequence[str] = (), tags: Sequence[str] = (), **fields: Any
) -> tuple[Contact, bool]:
    """Upsert: the tenant's contact with the given email (else phone) gets `fields` merged in (a field left out
    or empty keeps its value; custom values merge) and `lists`/`tags` added; without one, a new contact is made.
    Returns (contact, created). A phone that belongs to another contact than the email's is a Conflict."""
    email = values.check_email(fields.get("email", ""))
    phone = values.check_phone(fields.get("phone", ""))
    given = {k: v for k, v in fields.items() if v not in (None, "", {})}
    contact = _find(owner, email, phone)
    if contact is None:
        try:
            return create_contact(owner=owner, lists=lists, tags=tags, **given), True
        except Conflict:  # made by a concurrent identify since we looked: merge into it
            contact = _find(owner, email, phone)
            if contact is None:
                raise
    return update_contact(contact=contact, lists=lists, tags=tags, **given), False


def delete_contact(*, contact: Contact) -> None:
    """Removes the contact and its memberships. Its suppressions stay: an address that opted out stays out."""
    contact.delete()


# ---------------------------------------------------------------- memberships, for many contacts at once

_LINK = """
INSERT INTO {through} (contact_id, {column})
SELECT c.id, t.id FROM {contact} c CROSS JOIN unnest(%s::bigint[]) AS t(id)
WHERE c.owner_id = %s AND c.public_id = ANY(%s)
ON CONFLICT DO NOTHING
"""


def _link(field: Any, column: str, owner: User, contact_ids: Sequence[str], target_ids: list[int]) -> int:
    """One INSERT … SELECT: every contact of `owner` among `contact_ids` × every target; existing pairs stay."""
    if not target_ids or not contact_ids:
        return 0
    sql = _LINK.format(through=field.through._meta.db_table, column=column, contact=Contact._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql, [target_ids, owner.pk, list(contact_ids)])
        return cursor.rowcount


def _lists(owner: User, list_ids: Sequence[str]) -> list[ContactList]:
    """The tenant's lists `list_ids` (one query); ValidationFailed naming `lists` for an unknown one."""
    found = {cl.public_id: cl for cl in ContactList.objects.for_tenant(owner).filter(public_id__in=list(list_ids))}
    missing = [list_id for list_id in list_ids if list_id not in found]
    if missing:
        raise ValidationFailed.single("lists", f"Unknown list {missing[0]!r}.")
    return list(found.values())


def add_to_lists(*, owner: User, contact_ids: Sequence[str], list_ids: Sequence[str]) -> int:
    """Puts the tenant's contacts `contact_ids` in the lists `list_ids` (public ids); two statements whatever
    their number. Contact ids the tenant does not have are skipped. Returns the number of new memberships."""
    lists = _lists(owner, list_ids)
    return _link(Contact.lists, "contactlist_id", owner, contact_ids, [cl.pk for cl in lists])


def remove_from_lists(*, owner: User, contact_ids: Sequence[str], list_ids: Sequence[str]) -> int:
    """Takes the contacts out of the lists (one statement); unknown ids change nothing. Returns how many left."""
    memberships = Contact.lists.through.objects.filter(
        contact__owner=owner, contact__public_id__in=list(contact_ids),
        contactlist__owner=owner, contactlist__public_id__in=list(list_ids),
    )  # fmt: skip
    return memberships.delete()[0]


def add_tags(*, owner: User, contact_ids: Sequence[str], tags: Sequence[str]) -> int:
    """Tags the contacts with `tags` (names, created on first use, or tag public ids); three statements
    whatever their number. Returns the number of new taggings."""
    found = resolve_tags(owner=owner, tags=tags)
    return _link(Contact.tags, "tag_id", owner, contact_ids, [tag.pk for tag in found])


def remove_tags(*, owner: User, contact_ids: Sequence[str], tags: Sequence[str]) -> int:
    """Untags the contacts (`tags`: names or public ids; one statement). Returns how many taggings went."""
    ids = [t for t in tags if is_public_id(t, "tag")]
    names = [t.strip() for t in tags if not is_public_id(t, "tag")]
    taggings = Contact.tags.through.objects.filter(
        Q(tag__public_id__in=ids) | Q(tag__name__in=names),
        contact__owner=owner, contact__public_id__in=list(contact_ids), tag__owner=owner,
    )  # fmt: skip
    return taggings.delete()[0]


def _join(owner: User, contact_ids: list[str], *, lists: Sequence[str], tags: Sequence[str]) -> None:
    if lists:
        add_to_lists(owner=owner, contact_ids=contact_ids, list_ids=lists)
    if tags:
        add_tags(owner=owner, contact_ids=contact_ids, tags=tags)


# ---------------------------------------------------------------- lists and tags


def create_list(*, owner: User, name: str, description: str = "") -> ContactList:
    """Raises Conflict naming `name` when the tenant has a list of that name."""
    contact_list = ContactList(owner=owner, name=values.check_name(name), description=description or "")
    _saved(contact_list, "list")
    return contact_list


def update_list(*, contact_list: ContactList, name: str | None = None, description: str | None = None) -> ContactList:
    """Renames or re-describes the list; Conflict naming `name` when another list has the name."""
    if name is not None:
        contact_list.name = values.check_name(name)
    if description is not None:
        contact_list.description = description
    _saved(contact_list, "list")
    return contact_list


def delete_list(*, contact_list: ContactList) -> None:
    """Removes the list and its memberships; its contacts stay."""
    contact_list.delete()


def resolve_tags(*, owner: User, tags: Iterable[str]) -> list[Tag]:
    """The tenant's tags named by `tags` — public ids (ValidationFailed naming `tags` for an unknown one) or
    names (created on first use) — in two statements whatever their number."""
    ids = {t for t in tags if is_public_id(t, "tag")}
    names = {values.check_name(t, "tags") for t in tags if t not in ids}
    Tag.objects.bulk_create([Tag(owner=owner, name=name) for name in sorted(names)], ignore_conflicts=True)
    found = list(Tag.objects.for_tenant(owner).filter(Q(public_id__in=ids) | Q(name__in=names)))
    missing = sorted(ids - {tag.public_id for tag in found})
    if missing:
        raise ValidationFailed.single("tags", f"Unknown tag {missing[0]!r}.")
    return found


def get_or_create_tag(*, owner: User, name: str) -> Tag:
    """The tenant's tag called `name`, created on first use."""
    return resolve_tags(owner=owner, tags=[values.check_name(name)])[0]


def rename_tag(*, tag: Tag, name: str) -> Tag:
    """Conflict naming `name` when the tenant has another tag of that name."""
    tag.name = values.check_name(name)
    _saved(tag, "tag")
    return tag


def delete_tag(*, tag: Tag) -> None:
    """Removes the tag from every contact, and the tag."""
    tag.delete()


# ---------------------------------------------------------------- custom fields


def _choices(kind: str, choices: Sequence[str]) -> list[str]:
    if kind != CustomField.Type.CHOICE:
        if choices:
            raise ValidationFailed.single("choices", "Only a choice field has choices.")
        return []
    clean = list(dict.fromkeys(values.check_name(c, "choices") for c in choices))
    if not clean:
        raise ValidationFailed.single("choices", "A choice field needs at least one choice.")
    return clean


def check_custom_field(*, type: str, choices: Sequence[str]) -> list[str]:
    """The choices of a new field of `type`; ValidationFailed naming `type` or `choices`."""
    if type not in CustomField.Type.values:
        raise ValidationFailed.single(
            "type", f"Unknown type {type!r}; use one of {', '.join(CustomField.Type.values)}."
        )
    return _choices(type, choices)


def create_custom_field(
    *, owner: User, name: str, type: str, choices: Sequence[str] = (), description: str = ""
) -> CustomField:
    """A typed field for the tenant's contacts. Raises ValidationFailed naming `type` or `choices`, Conflict
    naming `name` for a duplicate name."""
    choices = check_custom_field(type=type, choices=choices)
    field = CustomField(owner=owner, name=values.check_name(name), type=type, choices=choices, description=description)
    _saved(field, "custom field")
    return field


def check_choices(*, field: CustomField, choices: Sequence[str]) -> list[str]:
    """The choices `field` may change to: Conflict naming `choices` when a contact holds one being removed."""
    clean = _choices(field.type, choices)
    dropped = [c for c in field.choices if c not in clean]
    held = Contact.objects.for_tenant(field.owner).filter(**{f"custom__{field.public_id}__in": dropped})
    if dropped and held.exists():
        raise Conflict("A contact holds a choice being removed; change its value first.", field="choices")
    return clean


def update_custom_field(
    *, field: CustomField, name: str | None = None, choices: Sequence[str] | None = None, description: str | None = None
) -> CustomField:
    """Renames the field, changes its description or (a choice field) its choices, as check_choices allows.
    Its type never changes: the stored values were checked against it."""
    if name is not None:
        field.name = values.check_name(name)
    if description is not None:
        field.description = description
    if choices is not None:
        field.choices = check_choices(field=field, choices=choices)
    _saved(field, "custom field")
    return field


class _WithoutKey(Func):
    """jsonb `-` text: the object without a key."""

    arg_joiner = " - "
    template = "(%(expressions)s)"


@transaction.atomic
def delete_custom_field(*, field: CustomField) -> None:
    """Removes the field and every contact's value of it (one UPDATE)."""
    holders = Contact.objects.for_tenant(field.owner).filter(custom__has_key=field.public_id)
    holders.update(custom=_WithoutKey(F("custom"), Value(field.public_id)))
    field.delete()


# ---------------------------------------------------------------- segments


def create_segment(
    *, owner: User, name: str, rules: list[dict[str, Any]], match: str = "all", description: str = ""
) -> Segment:
    """A saved segment. Raises ValidationFailed naming `rules.N.<key>` (contacts.segments.check_rules), `match`
    or `name`; Conflict naming `name` when the tenant has a segment of that name."""
    clean = check_rules(owner=owner, rules=rules, match=match)
    segment = Segment(owner=owner, name=values.check_name(name), rules=clean, match=match, description=description)
    _saved(segment, "segment")
    return segment


def update_segment(
    *,
    segment: Segment,
    name: str | None = None,
    rules: list[dict[str, Any]] | None = None,
    match: str | None = None,
    description: str | None = None,
) -> Segment:
    """Changes what is given; the rules are checked again (with `match`) as on create."""
    if name is not None:
        segment.name = values.check_name(name)
    if rules is not None or match is not None:
        match = match if match is not None else segment.match
        segment.rules = check_rules(owner=segment.owner, rules=segment.rules if rules is None else rules, match=match)
        segment.match = match
    if description is not None:
        segment.description = description
    _saved(segment, "segment")
    return segment


def delete_segment(*, segment: Segment) -> None:
    segment.delete()


# ---------------------------------------------------------------- imports


def start_import(
    *,
    owner: User,
    filename: str,
    data: bytes,
    mapping: dict[str, str] | None = None,
    list_id: str = "",
    tags: Sequence[str] = (),
    enqueue: bool = True,
) -> ImportJob:
    """An import of the CSV or XLSX file `data` into the tenant's contacts, queued on `low` once the
    transaction commits (`enqueue=False`: the caller runs contacts.imports.run_import itself). `mapping` is
    column → email, phone, first_name, last_name, company, time_zone or custom.<field id or name> (None: the
    columns named so; `timezone` too). Raises ValidationFailed naming `file`, `mapping.<column>`, `mapping`,
    `lists` or `tags`."""
    imports.check_file(filename)
    delimiter = "" if imports.is_xlsx(filename) else imports.sniff_delimiter(data)
    packed = gzip.compress(data, compresslevel=1)
    headers = imports.headers_of(filename, packed, delimiter)
    fields = list(CustomField.objects.for_tenant(owner))
    clean = imports.check_mapping(headers=headers, mapping=mapping, fields=fields)
    contact_list = _lists(owner, [list_id])[0] if list_id else None
    tag_ids = [tag.pk for tag in resolve_tags(owner=owner, tags=tags)] if tags else []
    job = ImportJob.objects.create(
        owner=owner, filename=filename[:255], delimiter=delimiter, data=packed, mapping=clean,
        contact_list=contact_list, tag_ids=tag_ids,
    )  # fmt: skip
    if enqueue:
        jobs.enqueue_import(job.pk)
    return job
