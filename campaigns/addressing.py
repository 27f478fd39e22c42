"""Send requests that name a template, or their recipients by contact, list or tag (messaging.references; docs/api.md,
"Templates and contacts"). Registered as the send path's resolver when Django starts (CampaignsConfig.ready).

For one request: one query per kind of reference it names (templates, contacts, contacts by address), one for
the custom field names when a template is used, and one per list or tag entry for its members — never one per
recipient. A list or tag sends to its members that have the channel's address and are subscribed there (as a
campaign does); a contact named by id that is not reachable is refused (422), like a suppressed address.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields, replace
from typing import Any

from django.db.models import Q, QuerySet

from accounts.models import User
from campaigns import links
from campaigns.content import render_template, rendered_item
from campaigns.models import Template
from contacts.models import Contact, ContactList, ContactStatus, Tag
from contacts.selectors import contact_data, custom_field_names, with_statuses
from messaging.items import Item
from messaging.references import Reference
from messaging.validation import normalise_email, normalise_number
from xsender.errors import FieldError, NotFound, Rejected, ValidationFailed
from xsender.public_ids import is_public_id

ADDRESS = {"email": "email", "sms": "phone", "whatsapp": "phone"}
ADDRESS_NAME = {"email": "email address", "sms": "phone number", "whatsapp": "phone number"}
# template_data keys that set a contact's own field; any other key is a custom value: {{ custom.<key> }}.
CONTACT_KEYS = ("first_name", "last_name", "company", "email", "phone")


def _by_id_or_name(rows: QuerySet[Any], values: Iterable[str], prefix: str) -> QuerySet[Any]:
    values = set(values)
    ids = [v for v in values if is_public_id(v, prefix)]
    return rows.filter(Q(public_id__in=ids) | Q(name__in=values - set(ids)))


def _templates(principal: User, channel: str, references: list[Reference]) -> dict[str, Template]:
    """The named templates by the name or id each entry used (one query). Raises NotFound (404) for an unknown
    one, ValidationFailed for one of another channel."""
    wanted = {r.template for r in references if r.template}
    if not wanted:
        return {}
    found: dict[str, Template] = {}
    saved = Template.objects.for_tenant(principal).filter(campaign_only=False)  # not a campaign's own content
    for template in _by_id_or_name(saved, wanted, "template"):
        found[template.public_id] = found[template.name] = template
    errors: list[FieldError] = []
    for r in references:
        template = found.get(r.template) if r.template else None
        if r.template and template is None:
            raise NotFound(f"Template {r.template!r} not found.", index=r.index, field="template")
        if template is not None and template.channel != channel:
            message = f"{template.name!r} is a {template.channel} template; this endpoint sends {channel}."
            errors.append({"index": r.index, "field": "template", "message": message})
    if errors:
        raise ValidationFailed(errors, message=errors[0]["message"])
    return found


def _reachable(contact: Contact, channel: str) -> bool:
    return bool(getattr(contact, ADDRESS[channel])) and contact.status_for(channel) == ContactStatus.SUBSCRIBED


def _named_contacts(principal: User, channel: str, references: list[Reference]) -> dict[str, Contact]:
    """The contacts named by `contact_id` (one query). Raises NotFound for an unknown one, Rejected (422) for one
    without the channel's address or not subscribed there."""
    wanted = {r.contact_id for r in references if r.contact_id}
    if not wanted:
        return {}
    rows = Contact.objects.for_tenant(principal).filter(public_id__in=[w for w in wanted if is_public_id(w, "contact")])
    found = {c.public_id: c for c in with_statuses(rows, principal)}
    for r in references:
        if not r.contact_id:
            continue
        contact = found.get(r.contact_id)
        if contact is None:
            raise NotFound("Contact not found.", index=r.index, field="contact_id")
        if not getattr(contact, ADDRESS[channel]):
            raise Rejected(f"{r.contact_id} has no {ADDRESS_NAME[channel]}.", index=r.index, field="contact_id")
        if contact.status_for(channel) != ContactStatus.SUBSCRIBED:
            status = contact.status_for(channel)
            raise Rejected(f"{r.contact_id} is {status} on {channel}.", index=r.index, field="contact_id")
    return found


def _group(principal: User, r: Reference) -> Q:
    """The members of the list or tag `r` names. Raises NotFound when the tenant has no such list or tag."""
    if r.list_id:
        lists = ContactList.objects.for_tenant(principal)
        group = lists.filter(public_id=r.list_id) if is_public_id(r.list_id, "list") else lists.none()
        field, what = "list_id", "List"
    else:
        group = _by_id_or_name(Tag.objects.for_tenant(principal), [r.tag], "tag")
        field, what = "tag", "Tag"
    pk = group.values_list("pk", flat=True).first()
    if pk is None:
        raise NotFound(f"{what} not found.", index=r.index, field=field)
    return Q(lists=pk) if r.list_id else Q(tags=pk)


def _members(principal: User, channel: str, r: Reference, room: int) -> list[Contact]:
    """The reachable members of `r`'s list or tag, by contact (one query for the group, one for its members).
    Raises ValidationFailed when they are more than `room`, Rejected when there is none."""
    field = "list_id" if r.list_id else "tag"
    members = with_statuses(Contact.objects.for_tenant(principal).filter(_group(principal, r)), principal)
    members = members.exclude(**{ADDRESS[channel]: ""}).filter(
        **{f"effective_{channel}_status": ContactStatus.SUBSCRIBED}
    )
    rows = list(members.order_by("pk")[: room + 1])
    if len(rows) > room:
        raise ValidationFailed(
            [{"index": r.index, "field": field, "message": f"More subscribed contacts than this request has room for "
              f"({room}): send to this audience with a campaign."}]
        )  # fmt: skip
    if not rows:
        raise Rejected(f"No subscribed contact with a {ADDRESS_NAME[channel]} to send to.", index=r.index, field=field)
    return rows


def _normalised(channel: str, address: str) -> str | None:
    try:
        return normalise_email(address) if channel == "email" else normalise_number(address)
    except ValueError:
        return None


def _known_addresses(principal: User, channel: str, references: list[Reference]) -> dict[str, Contact]:
    """For templated entries that give an address: the tenant's contact at that address, if any (one query), so
    that `{{ first_name }}` reads the contact's name whoever names the recipient."""
    wanted = {
        r.item.recipient: _normalised(channel, r.item.recipient)
        for r in references
        if r.template and not r.names_recipients and r.item.recipient
    }
    addresses = {a for a in wanted.values() if a}
    if not addresses:
        return {}
    field = ADDRESS[channel]
    found = {getattr(c, field): c for c in Contact.objects.for_tenant(principal).filter(**{f"{field}__in": addresses})}
    return {given: found[a] for given, a in wanted.items() if a in found}


def _data(contact: Contact | None, names: dict[str, str], channel: str, address: str, extra: dict[str, Any]) -> dict:
    """What a template reads: the contact's data (or only its address), with `template_data` on top."""
    data = contact_data(contact, names) if contact is not None else {ADDRESS[channel]: address, "custom": {}}
    custom = dict(data["custom"])
    for key, value in extra.items():
        if key in CONTACT_KEYS:
            data[key] = value
        else:
            custom[key] = value
    data["custom"] = custom
    return data


# The fields a template gives; an entry's other fields (gateway, schedule, sms_type …) apply to each of its items.
CONTENT = ("recipient", "subject", "body", "text", "template")


def _item(r: Reference, template: Template | None, address: str, data: dict[str, Any], contact: Contact | None) -> Item:
    """The entry's item for one recipient: its literal fields with the address, and the template's content rendered
    for it (campaigns.content.rendered_item: the entry's sender_name and reply_to win over the template's). Sent to
    one of the tenant's contacts, `{{ unsubscribe_url }}` is the contact's own unsubscribe link, also sent as
    List-Unsubscribe (RFC 8058 one-click) for email; to an address that is no contact it renders as nothing."""
    if template is None:
        return replace(r.item, recipient=address)
    literal = {f.name: getattr(r.item, f.name) for f in fields(r.item) if f.name not in CONTENT}
    unsubscribe = links.contact_unsubscribe_url(contact.pk, template.channel) if contact is not None else ""
    if unsubscribe and "list_unsubscribe" in literal:
        literal["list_unsubscribe"] = unsubscribe
    rendered = render_template(template=template, contact=data, unsubscribe_url=unsubscribe)
    return rendered_item(rendered, recipient=address, **literal)


def resolve_references(
    *, principal: User, channel: str, references: list[Reference], max_items: int
) -> list[tuple[int, Item]]:
    """The items of `references` (messaging.references.resolve), each with its entry's index."""
    templates = _templates(principal, channel, references)
    named = _named_contacts(principal, channel, references)
    known = _known_addresses(principal, channel, references)
    names = custom_field_names(owner=principal) if templates else {}
    items: list[tuple[int, Item]] = []
    for r in references:
        if r.list_id or r.tag:
            contacts: list[Contact | None] = list(_members(principal, channel, r, max(0, max_items - len(items))))
        elif r.contact_id:
            contacts = [named[r.contact_id]]
        else:
            contacts = [known.get(r.item.recipient)]
        template = templates.get(r.template) if r.template else None
        for contact in contacts:
            address = getattr(contact, ADDRESS[channel]) if r.names_recipients and contact else r.item.recipient
            data = _data(contact, names, channel, address, r.template_data) if template else {}
            items.append((r.index, _item(r, template, address, data, contact)))
    return items
