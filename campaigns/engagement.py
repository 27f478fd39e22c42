"""What a campaign recipient does with our own links: unsubscribes, opens, clicks (campaigns.links signs them).

Each function takes the token from the URL; a bad or tampered one is NotFound. Statuses move only through
messaging.transitions.apply_reports; the unsubscribe writes the suppression (messaging), the contact's status
(contacts.services.update_contact) and publishes `message.unsubscribed` the way provider events do (tracking).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from campaigns import links
from campaigns.models import CampaignRecipient
from contacts import services as contacts
from contacts.models import STATUS_FIELDS, Contact, ContactStatus
from messaging import transitions
from messaging.models import Message, MessageEvent, Status, Suppression
from messaging.services import add_suppression
from tracking.services import publish_unsubscribed
from xsender.errors import NotFound

# Opens and clicks one message may record as events (a prefetching scanner or a loop of requests cannot grow the
# events table without bound); the status moves on the first one anyway.
MAX_EVENTS_PER_MESSAGE = 50
GONE = "This link is not valid (or no longer is)."
# How far back a contact's unsubscribe looks for the message whose link it was, to record the event on it.
MESSAGE_WINDOW = timedelta(days=30)


@dataclass
class Unsubscribe:
    """What the unsubscribe page shows: the address masked, whose messages, and whether it is done."""

    masked: str
    sender: str
    channel: str
    done: bool


def _recipient(recipient_id: int | None) -> tuple[CampaignRecipient, Message]:
    found = (
        CampaignRecipient.objects.select_related("campaign__owner", "campaign__template", "contact")
        .filter(pk=recipient_id or 0, message_uid__isnull=False)
        .first()
    )
    message = Message.objects.select_related("gateway").filter(uid=found.message_uid).first() if found else None
    if found is None or message is None:
        raise NotFound(GONE)
    return found, message


def mask(address: str) -> str:
    """`a***@example.com`, `+1******23`: enough for its owner to recognise, not enough to learn it."""
    local, at, domain = address.partition("@")
    if at:
        return f"{local[:1]}***@{domain}"
    return address[:2] + "*" * max(0, len(address) - 4) + address[-2:]


def _page(recipient: CampaignRecipient, message: Message, done: bool) -> Unsubscribe:
    owner = recipient.campaign.owner
    sender = message.sender_name or recipient.campaign.template.from_name or owner.name or "this sender"
    return Unsubscribe(masked=mask(message.recipient), sender=sender, channel=message.channel, done=done)


def _done(message: Message) -> bool:
    return MessageEvent.objects.filter(message=message, kind="unsubscribed").exists()


def unsubscribe_page(*, token: str) -> Unsubscribe:
    """What the page shows before anything changes. Raises NotFound."""
    named = links.read_contact_token(token)
    if named is not None:
        contact, channel = _contact(*named)
        return _contact_page(contact, channel)
    recipient, message = _recipient(links.read_recipient_token(token, links.UNSUBSCRIBE))
    return _page(recipient, message, _done(message))


def unsubscribe(*, token: str, one_click: bool = False) -> Unsubscribe:
    """Unsubscribes the message's recipient from the campaign owner's messages on its channel: an opt_out
    suppression, the contact's status, an `unsubscribed` event and `message.unsubscribed`. Idempotent: a second
    call changes nothing (the message row's lock orders concurrent calls). Raises NotFound. A contact's token
    (the send API's templates) goes to unsubscribe_contact."""
    payload = {"source": "list-unsubscribe one-click" if one_click else "unsubscribe page"}
    named = links.read_contact_token(token)
    if named is not None:
        return unsubscribe_contact(*named, payload=payload)
    recipient, message = _recipient(links.read_recipient_token(token, links.UNSUBSCRIBE))
    with transaction.atomic():
        Message.objects.select_for_update().filter(pk=message.pk).values_list("pk").first()
        if _done(message):
            return _page(recipient, message, True)
        owner = None if message.by_admin else recipient.campaign.owner
        add_suppression(
            user=owner, channel=message.channel, address=message.recipient, reason=Suppression.Reason.OPT_OUT
        )
        _unsubscribe_contact(recipient, message)
        _unsubscribed(message, payload)
    return _page(recipient, message, True)


def _unsubscribed(message: Message, payload: dict[str, str]) -> None:
    """The message's `unsubscribed` event and `message.unsubscribed`."""
    report = transitions.Report(message=message, status="", kind="unsubscribed", payload=payload)
    applied = transitions.apply_reports(reports=[report], keep_refused=True)
    publish_unsubscribed(message=message, status=applied[0].status)


# ---------------------------------------------------------------- a contact's link outside campaigns


def _contact(contact_id: int, channel: str, *, lock: bool = False) -> tuple[Contact, str]:
    rows = Contact.objects.select_related("owner").filter(pk=contact_id)
    contact = (rows.select_for_update(of=("self",)) if lock else rows).first()
    if contact is None or not _address(contact, channel):
        raise NotFound(GONE)
    return contact, channel


def _address(contact: Contact, channel: str) -> str:
    return contact.email.lower() if channel == "email" else contact.phone


def _contact_page(contact: Contact, channel: str) -> Unsubscribe:
    done = getattr(contact, STATUS_FIELDS[channel]) != ContactStatus.SUBSCRIBED
    sender = contact.owner.name or "this sender"
    return Unsubscribe(masked=mask(_address(contact, channel)), sender=sender, channel=channel, done=done)


def unsubscribe_contact(contact_id: int, channel: str, *, payload: dict[str, str]) -> Unsubscribe:
    """A contact's link in a message the send API rendered from a template: the contact's status on the channel
    becomes unsubscribed, with an opt_out suppression of its address for its owner (everyone's, for the admin's
    contacts), and the latest message sent to that address on the channel in the last 30 days gets the
    `unsubscribed` event and `message.unsubscribed`. Idempotent (the contact's row lock orders concurrent calls): a contact no longer
    subscribed there changes nothing. Raises NotFound."""
    with transaction.atomic():
        contact, channel = _contact(contact_id, channel, lock=True)
        if getattr(contact, STATUS_FIELDS[channel]) != ContactStatus.SUBSCRIBED:
            return _contact_page(contact, channel)
        owner, address = contact.owner, _address(contact, channel)
        add_suppression(
            user=None if owner.is_superuser else owner, channel=channel, address=address,
            reason=Suppression.Reason.OPT_OUT,
        )  # fmt: skip
        contacts.update_contact(contact=contact, **{STATUS_FIELDS[channel]: ContactStatus.UNSUBSCRIBED})
        sent = Message.objects.filter(by_admin=True) if owner.is_superuser else Message.objects.filter(user=owner)
        recent = sent.filter(channel=channel, recipient=address, created_at__gte=timezone.now() - MESSAGE_WINDOW)
        # Newest first along the (user, channel, created_at, id) index: stops at the first message to the address.
        message = recent.select_related("gateway").order_by("-created_at", "-id").first()
        if message is not None:
            _unsubscribed(message, payload)
    return _contact_page(contact, channel)


def _unsubscribe_contact(recipient: CampaignRecipient, message: Message) -> None:
    """The contact's status on the channel becomes unsubscribed — while it still has the address the message
    went to and is subscribed there (a bounced or blocked contact keeps its stronger status)."""
    contact, field = recipient.contact, STATUS_FIELDS[message.channel]
    address = contact.email.lower() if message.channel == "email" else contact.phone
    if address == message.recipient and getattr(contact, field) == ContactStatus.SUBSCRIBED:
        contacts.update_contact(contact=contact, **{field: ContactStatus.UNSUBSCRIBED})


def _record(message: Message, status: str, payload: dict[str, str]) -> None:
    kind = status.lower()
    if MessageEvent.objects.filter(message=message, kind=kind).count() >= MAX_EVENTS_PER_MESSAGE:
        return
    report = transitions.Report(message=message, status=status, payload=payload)
    transitions.apply_reports(reports=[report], keep_refused=True)


def record_open(*, token: str) -> None:
    """An open of the message the pixel's token names: Opened (once; later opens are kept as events, up to
    MAX_EVENTS_PER_MESSAGE). Raises NotFound."""
    _, message = _recipient(links.read_recipient_token(token, links.OPEN))
    _record(message, Status.OPENED, {"source": "pixel"})


def record_click(*, token: str) -> str:
    """A click on a link of the message the token names: Clicked, with the link in the event's payload. Returns
    the link (from the signed token only). Raises NotFound for a bad token or a target that is not http(s)."""
    read = links.read_click_token(token)
    if read is None:
        raise NotFound(GONE)
    _, message = _recipient(read[0])
    _record(message, Status.CLICKED, {"url": read[1]})
    return read[1]
