"""ESP tracking webhooks through django-anymail's own tracking views and its `tracking` signal.

Anymail's views read their secrets from settings unless the view is built with them (`View(**kwargs)`, the
same keywords `as_view()` takes — anymail.utils.get_anymail_setting looks in kwargs first). So:

- at the site-wide URL the view is built as anymail would build it: secrets from settings.ANYMAIL;
- at a gateway's own URL every secret keyword is passed explicitly from the gateway's config (empty where the
  gateway has none), so that a missing key never falls back to the site-wide one.

A request is verified by the view's own validators (basic auth, the ESP's signature), and parsed by the
view's own `post()`, whose events reach us through anymail's `tracking` signal. Amazon SNS signatures, which
anymail does not check, are checked in gateways.backends.sns.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from anymail.exceptions import (
    AnymailConfigurationError,
    AnymailError,
    AnymailWarning,
    AnymailWebhookValidationFailure,
)
from anymail.signals import AnymailTrackingEvent, EventType, tracking
from django.utils.module_loading import import_string

from gateways.backends import sns
from gateways.backends.base import ProviderEvent, WebhookEvent, public_url

if TYPE_CHECKING:
    from django.http import HttpRequest

# ESP → (anymail's tracking view, the keyword of its signing key or None when the ESP signs nothing).
VIEWS: dict[str, tuple[str, str | None]] = {
    "sendgrid": ("anymail.webhooks.sendgrid.SendGridTrackingWebhookView", "tracking_webhook_verification_key"),
    "mailgun": ("anymail.webhooks.mailgun.MailgunTrackingWebhookView", "webhook_signing_key"),
    "postmark": ("anymail.webhooks.postmark.PostmarkTrackingWebhookView", None),
    "brevo": ("anymail.webhooks.brevo.BrevoTrackingWebhookView", None),
    "sparkpost": ("anymail.webhooks.sparkpost.SparkPostTrackingWebhookView", None),
    "mailjet": ("anymail.webhooks.mailjet.MailjetTrackingWebhookView", None),
    "resend": ("anymail.webhooks.resend.ResendTrackingWebhookView", "signing_secret"),
    "mailersend": ("anymail.webhooks.mailersend.MailerSendTrackingWebhookView", "signing_secret"),
    "postal": ("anymail.webhooks.postal.PostalTrackingWebhookView", "webhook_key"),
    "mandrill": ("anymail.webhooks.mandrill.MandrillCombinedWebhookView", "webhook_key"),
    "amazon_ses": ("anymail.webhooks.amazon_ses.AmazonSESTrackingWebhookView", None),
}
# Anymail refuses to build these views without their signing key.
SIGNING_REQUIRED = {"mailgun", "mailersend", "postal", "mandrill"}

_collected: ContextVar[list[AnymailTrackingEvent] | None] = ContextVar("anymail_tracking_events", default=None)


def _collect(sender: Any, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any) -> None:
    bucket = _collected.get()
    if bucket is not None:
        bucket.append(event)


tracking.connect(_collect, dispatch_uid="xsender.esp_webhooks")


@contextmanager
def collecting() -> Iterator[list[AnymailTrackingEvent]]:
    """The anymail tracking events signalled inside the block, by this thread only."""
    bucket: list[AnymailTrackingEvent] = []
    token = _collected.set(bucket)
    try:
        yield bucket
    finally:
        _collected.reset(token)


def build_view(esp: str, config: dict[str, Any] | None, request: HttpRequest) -> Any | None:
    """Anymail's tracking view for `esp`, with the gateway's secrets (`config`), or the site-wide ones when
    `config` is None. None when nothing would authenticate a request (no basic auth and no signing key)."""
    path, key_name = VIEWS[esp]
    kwargs: dict[str, Any] = {}
    if esp == "mandrill":
        kwargs["webhook_url"] = public_url(request)
    if esp == "amazon_ses":
        kwargs["auto_confirm_sns_subscriptions"] = False  # confirmed by us, through the safe fetcher
    if config is not None:
        kwargs["webhook_secret"] = [config["webhook_secret"]] if config.get("webhook_secret") else []
        if key_name:
            if not config.get("webhook_signing_key") and esp in SIGNING_REQUIRED:
                return None
            kwargs[key_name] = config.get("webhook_signing_key") or None
    try:
        with warnings.catch_warnings():
            # Anymail warns about a view without basic auth (we refuse one with no secret at all, below) and
            # that SendGrid is no longer officially supported (its events still parse as documented).
            warnings.simplefilter("ignore", AnymailWarning)
            view = import_string(path)(**kwargs)
    except (AnymailConfigurationError, AnymailError, ValueError):
        return None
    signed = bool(key_name and getattr(view, key_name, None) or getattr(view, "webhook_verification_key", None))
    return view if view.basic_auth or signed or esp in SIGNING_REQUIRED else None


def verified_view(esp: str, config: dict[str, Any] | None, request: HttpRequest) -> Any | None:
    """The ESP's view when it validates `request` (and, for Amazon SES, SNS's signature verifies); else None."""
    if esp not in VIEWS:
        return None
    view = build_view(esp, config, request)
    if view is None or not validate(view, request):
        return None
    return view if esp != "amazon_ses" or sns.verify_message(json.loads(request.body)) else None


def parse(esp: str, view: Any, request: HttpRequest) -> list[WebhookEvent]:
    """The events of a request `verified_view` accepted; an SNS subscription is confirmed on the way."""
    if esp == "amazon_ses" and request.headers.get("x-amz-sns-message-type") == "SubscriptionConfirmation":
        sns.confirm_subscription(json.loads(request.body))
    events = (to_provider_event(esp, e) for e in tracking_events(view, request))
    return [e for e in events if e is not None]


def validate(view: Any, request: HttpRequest) -> bool:
    try:
        view.run_validators(request)
    except AnymailWebhookValidationFailure:
        return False
    except AnymailError:  # a body the validator cannot read (SES: not JSON, unknown SNS type)
        return False
    return True


def tracking_events(view: Any, request: HttpRequest) -> list[AnymailTrackingEvent]:
    """Runs the view as anymail would (validators, parser, the `tracking` signal); returns what it signalled.
    Raises ValueError when anymail refuses the request at this point."""
    with collecting() as events:
        response = view.post(request)
    if response.status_code >= 400:
        raise ValueError(f"The ESP's view answered {response.status_code}.")
    return events


# anymail's normalised type → (our status or None for an event that moves nothing, suppression reason).
STATUS: dict[str, tuple[str | None, str]] = {
    EventType.SENT: ("Sent", ""),
    EventType.DELIVERED: ("Delivered", ""),
    EventType.OPENED: ("Opened", ""),
    EventType.CLICKED: ("Clicked", ""),
    EventType.BOUNCED: ("Bounced", "bounce"),
    EventType.COMPLAINED: ("Complained", "complaint"),
    EventType.FAILED: ("Failed", ""),
    EventType.REJECTED: ("Failed", ""),
    EventType.UNSUBSCRIBED: (None, "opt_out"),
    EventType.QUEUED: (None, ""),
    EventType.DEFERRED: (None, ""),
    EventType.AUTORESPONDED: (None, ""),
    EventType.SUBSCRIBED: (None, ""),
}
SOFT_BOUNCE_EVENTS = {"soft_bounce", "activity.soft_bounced"}  # Brevo, Mandrill; MailerSend
# Hard bounce classes: https://support.sparkpost.com/docs/deliverability/bounce-classification-codes
HARD_SPARKPOST_CLASSES = {"10", "25", "26", "30", "90"}


def _soft_bounce(esp: str, raw: Any) -> bool:
    """Whether a `bounced` event is temporary (the address is not to be blocked)."""
    if not isinstance(raw, dict):
        return False
    if raw.get("event") in SOFT_BOUNCE_EVENTS or raw.get("type") in SOFT_BOUNCE_EVENTS:
        return True
    if esp == "postmark":
        return raw.get("Type") != "HardBounce"
    if esp == "amazon_ses":
        return (raw.get("bounce") or {}).get("bounceType") != "Permanent"
    if esp == "sendgrid":
        return raw.get("type") == "blocked"
    if esp == "sparkpost":
        bounce_class = (raw.get("msys", {}).get("message_event") or {}).get("bounce_class")
        return bounce_class is not None and str(bounce_class) not in HARD_SPARKPOST_CLASSES
    return False


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def to_provider_event(esp: str, event: AnymailTrackingEvent) -> ProviderEvent | None:
    """One anymail event as ours; None for one that names no message or is of a type anymail did not know."""
    if event.event_type not in STATUS or event.message_id in (None, ""):
        return None
    status, suppress = STATUS[event.event_type]
    raw = _plain(event.esp_event)
    if event.event_type == EventType.BOUNCED and _soft_bounce(esp, raw):
        suppress = ""
    if event.event_type == EventType.REJECTED and event.reject_reason in ("bounced", "invalid"):
        suppress = "bounce"  # the ESP refused an address it knows to bounce
    detail = {"esp": esp, "event_type": event.event_type, "recipient": event.recipient,
              "reject_reason": event.reject_reason, "description": event.description,
              "mta_response": event.mta_response, "esp_event": raw}  # fmt: skip
    identity = [str(event.event_id or ""), event.event_type, str(event.recipient or ""), str(event.message_id)]
    if not event.event_id:  # no id from the ESP: the event's own content names it
        identity.append(hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest())
    error = event.description or event.mta_response or (event.reject_reason or "")
    return ProviderEvent(
        provider_message_id=str(event.message_id), status=status, occurred_at=event.timestamp, detail=detail,  # type: ignore[arg-type]
        event_id="|".join(identity), kind=event.event_type, suppress=suppress,
        error=str(error)[:500] if status in ("Bounced", "Failed", "Complained") else "",
    )  # fmt: skip
