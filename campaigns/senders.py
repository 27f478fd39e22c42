"""Every state change of senders: added (a confirmation link emailed to the address through the platform's own
mail), confirmed by that link (once, within CONFIRM_HOURS), removed. docs/campaigns.md ("Senders").

The link carries a random token of 256 bits; only its SHA-256 is stored (accounts.services.hash_key), so the
database does not hold a usable link. Confirming needs a POST (the page behind the link shows a button): mail
scanners that fetch every link in a message do not confirm an address on their own."""

from __future__ import annotations

import logging
import secrets
import smtplib
from datetime import timedelta

import idna
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.services import hash_key
from campaigns.models import Sender
from messaging.validation import HEADER_BREAKS, LIMITS, normalise_email
from xsender.errors import Conflict, FieldError, NotFound, Rejected, Throttled, ValidationFailed
from xsender.public_ids import is_public_id

CONFIRM_HOURS = 48
# A new link at most once a minute per sender: each one is a mail to an address that has not agreed to anything yet,
# so a button pressed in a loop must not turn the platform's mail into a way to flood someone's inbox.
RESEND_SECONDS = 60
logger = logging.getLogger(__name__)


class LinkExpired(Conflict):
    """A confirmation link older than CONFIRM_HOURS: a new one must be sent."""


class LinkNotMailed(Rejected):
    """The platform's mail did not take the confirmation mail (the address refused, or the mail server not
    reachable): nothing was changed. `field` is "email"."""


def check_sender(*, email: str, name: str) -> tuple[str, str]:
    """The normalised address and the trimmed name. Raises ValidationFailed naming every bad field."""
    errors: list[FieldError] = []
    address = ""
    try:
        address = normalise_email(email if isinstance(email, str) else "")
        validate_email(address)
    except (DjangoValidationError, ValueError, idna.IDNAError):
        errors.append({"field": "email", "message": f"{email!r} is not a valid email address."})
    clean = name.strip() if isinstance(name, str) else None
    if clean is None or len(clean) > LIMITS["sender_name"] or any(c in clean for c in HEADER_BREAKS):
        errors.append(
            {"field": "name", "message": f"A name of at most {LIMITS['sender_name']} characters on one line."}
        )
    if errors or clean is None:
        raise ValidationFailed(errors, message=f"{errors[0]['field']}: {errors[0]['message']}")
    return address, clean


def confirmation_url(token: str) -> str:
    return settings.XSENDER_BASE_URL.rstrip("/") + reverse("campaigns:sender-confirm", args=[token])


def _send_link(sender: Sender) -> None:
    """A new token for `sender` (the previous link stops working) and the mail with its link."""
    token = secrets.token_urlsafe(32)
    sender.token_hash, sender.token_sent_at = hash_key(token), timezone.now()
    sender.save(update_fields=["token_hash", "token_sent_at"])
    context = {"sender": sender, "owner": sender.owner, "url": confirmation_url(token), "hours": CONFIRM_HOURS}
    subject = render_to_string("campaigns/email/sender_confirm_subject.txt", context).strip()
    body = render_to_string("campaigns/email/sender_confirm.txt", context)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [sender.email])
    except smtplib.SMTPRecipientsRefused:
        raise LinkNotMailed(f"The mail server refused {sender.email}: nothing was changed.", field="email") from None
    except (smtplib.SMTPException, OSError):
        logger.warning("sender confirmation mail not sent", exc_info=True)  # the platform's mail is down: for operators
        raise LinkNotMailed(
            "The confirmation mail could not be sent just now: nothing was changed. Try again in a few minutes.",
            field="email",
        ) from None


@transaction.atomic
def add_sender(*, owner: User, email: str, name: str = "") -> Sender:
    """An unverified sender of `owner`, and the confirmation mail to its address (sent before the commit: if the
    platform's mail refuses, nothing is added). Raises ValidationFailed, Conflict for an address the owner has,
    LinkNotMailed."""
    address, name = check_sender(email=email, name=name)
    try:
        with transaction.atomic():
            sender = Sender.objects.create(owner=owner, email=address, name=name)
    except IntegrityError:
        raise Conflict(f"{address} is already one of your senders.", field="email") from None
    _send_link(sender)
    return sender


@transaction.atomic
def resend_confirmation(*, sender: Sender) -> Sender:
    """A new confirmation link for an unverified sender. Raises Conflict for a verified one, Throttled within
    RESEND_SECONDS of the previous link (its `retry_after` says how many seconds are left), LinkNotMailed (the
    previous link then still works)."""
    sender = Sender.objects.select_for_update().select_related("owner").get(pk=sender.pk)
    if sender.verified_at is not None:
        raise Conflict(f"{sender.email} is already verified.")
    if sender.token_sent_at is not None:
        wait = RESEND_SECONDS - int((timezone.now() - sender.token_sent_at).total_seconds())
        if wait > 0:
            raise Throttled(
                f"A link was sent to {sender.email} less than a minute ago: check that inbox (and its spam folder), "
                f"or ask again in {wait} second{'s' * (wait != 1)}.",
                retry_after=wait,
            )
    _send_link(sender)
    return sender


def pending_sender(token: str) -> Sender:
    """The sender whose confirmation link carries `token`, without confirming it (the page before the button).
    Raises NotFound (unknown or used link), LinkExpired."""
    sender = Sender.objects.filter(token_hash=hash_key(token or "")).exclude(token_hash="").first()
    if sender is None:
        raise NotFound("This confirmation link is unknown or has already been used.")
    if sender.token_sent_at is None or sender.token_sent_at < timezone.now() - timedelta(hours=CONFIRM_HOURS):
        raise LinkExpired(f"This confirmation link has expired (after {CONFIRM_HOURS} hours): ask for a new one.")
    return sender


@transaction.atomic
def confirm_sender(*, token: str) -> Sender:
    """Verifies the sender of `token`; the link then stops working. Raises NotFound (unknown or already used),
    LinkExpired."""
    found = pending_sender(token)
    sender = Sender.objects.select_for_update().get(pk=found.pk)
    if sender.token_hash != found.token_hash:  # confirmed (or sent again) by a concurrent request
        raise NotFound("This confirmation link is unknown or has already been used.")
    sender.verified_at, sender.token_hash, sender.token_sent_at = timezone.now(), "", None
    sender.save(update_fields=["verified_at", "token_hash", "token_sent_at"])
    return sender


def remove_sender(*, sender: Sender) -> None:
    """Removes the sender. Raises Conflict while a campaign names it: a campaign that has started keeps its sender
    as the record of whom its mail came from (the key is PROTECT)."""
    names = list(sender.campaigns.order_by("name").values_list("name", flat=True)[:4])
    if names:
        listed = ", ".join(f"“{name}”" for name in names[:3]) + (" and others" if len(names) > 3 else "")
        raise Conflict(
            f"{sender.email} cannot be removed: campaign{'s' * (len(names) != 1)} {listed} "
            f"{'use' if len(names) != 1 else 'uses'} it. A draft or scheduled campaign can be given another sender; "
            "a campaign that has started keeps its sender."
        )
    sender.delete()


def owned_sender(owner: User, value: object) -> tuple[Sender | None, list[FieldError]]:
    """The owner's verified sender named by public id or instance, for a campaign's `sender` field; None for an
    empty value. Another tenant's sender is as unknown as a missing one."""
    if value in (None, ""):
        return None, []
    found = None
    if isinstance(value, Sender):
        found = value if value.owner_id == owner.pk else None
    elif isinstance(value, str) and is_public_id(value, "sender"):
        found = Sender.objects.for_tenant(owner).filter(public_id=value).first()
    if found is None:
        return None, [{"field": "sender", "message": "Sender not found."}]
    if found.verified_at is None:
        return None, [{"field": "sender", "message": f"{found.email} is not verified yet: confirm it by its link."}]
    return found, []
