"""Every change to webhook endpoints: register, edit, remove, rotate the secret, resend, send a test event.

The panel, Django admin and the `xsender:webhook:*` commands all come here. An endpoint belongs to a tenant, or
to no one: the admin's, which receives the admin key's traffic (`user_id` null, `by_admin` true).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from webhooks.choices import EVENT_TYPES, TEST_EVENT
from webhooks.jobs import wake_on_commit
from webhooks.models import Delivery, Endpoint
from webhooks.outbox import new_event_id, timestamp
from webhooks.signing import new_secret, rotated
from webhooks.transport import check_endpoint_url
from xsender.addresses import AddressRefused
from xsender.errors import FieldError, ValidationFailed

MAX_URL = 2048
MAX_DESCRIPTION = 200


def _url_errors(url: str) -> list[FieldError]:
    if not url or len(url) > MAX_URL or any(c.isspace() or not c.isprintable() for c in url):
        return [{"field": "url", "message": f"Enter a URL of at most {MAX_URL} characters."}]
    try:
        check_endpoint_url(url)
    except AddressRefused as exc:
        return [{"field": "url", "message": exc.message}]
    return []


def check_endpoint(*, owner: User | None, url: str, event_types: Sequence[str], description: str = "") -> list[str]:
    """Validates an endpoint's fields (the URL against the address rules, resolved now); returns the event
    types in their documented order. Raises ValidationFailed listing every bad field."""
    errors = _url_errors(url)
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        errors.append({"field": "event_types", "message": f"Unknown event types: {', '.join(unknown)}."})
    elif not event_types:
        errors.append({"field": "event_types", "message": "Choose at least one event type."})
    if len(description) > MAX_DESCRIPTION:
        errors.append({"field": "description", "message": f"At most {MAX_DESCRIPTION} characters."})
    if owner is not None and owner.is_superuser:
        message = "The admin key's traffic goes to the admin's endpoints: register one with no owner."
        errors.append({"field": "user", "message": message})
    if errors:
        raise ValidationFailed(errors, message=errors[0]["message"])
    return [t for t in EVENT_TYPES if t in set(event_types)]


def add_endpoint(
    *, owner: User | None, url: str, event_types: Sequence[str], description: str = "", enabled: bool = True
) -> tuple[Endpoint, str]:
    """Registers an endpoint (owner None: the admin's). Returns it with its signing secret, shown only now."""
    types = check_endpoint(owner=owner, url=url, event_types=event_types, description=description)
    secret = new_secret()
    endpoint = Endpoint.objects.create(
        user=owner, url=url, event_types=types, description=description, enabled=enabled,
        secrets=[{"secret": secret, "expires_at": None}],
    )  # fmt: skip
    return endpoint, secret


def update_endpoint(
    *, endpoint: Endpoint, url: str, event_types: Sequence[str], description: str = "", enabled: bool = True
) -> Endpoint:
    """Changes an endpoint. Enabling one that was disabled for failing starts its count afresh."""
    types = check_endpoint(owner=endpoint.user, url=url, event_types=event_types, description=description)
    endpoint.url, endpoint.event_types, endpoint.description = url, types, description
    if enabled and not endpoint.enabled:
        endpoint.failing_since, endpoint.disabled_reason = None, ""
    endpoint.enabled = enabled
    endpoint.save(update_fields=["url", "event_types", "description", "enabled", "failing_since", "disabled_reason"])
    if enabled:
        wake_on_commit([endpoint.pk])  # deliveries that waited while it was disabled
    return endpoint


def remove_endpoint(*, endpoint: Endpoint) -> None:
    """Removes the endpoint with its deliveries and their log."""
    endpoint.delete()


@transaction.atomic
def rotate_secret(*, endpoint: Endpoint) -> str:
    """A new signing secret, returned only now; the previous one keeps signing beside it for 24 hours."""
    locked = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    endpoint.secrets, secret = rotated(locked.secrets, timezone.now())
    endpoint.save(update_fields=["secrets"])
    return secret


def send_test_event(*, endpoint: Endpoint) -> Delivery:
    """Queues a `webhook.test` event for the endpoint, whatever types it asked for."""
    now, event_id = timezone.now(), new_event_id()
    by_admin = endpoint.user_id is None
    data = {"message": "A test event from XSender.", "user_id": endpoint.user_id, "by_admin": by_admin}
    payload = {"type": TEST_EVENT, "id": event_id, "timestamp": timestamp(now), "data": data}
    delivery = Delivery.objects.create(endpoint=endpoint, event_id=event_id, type=TEST_EVENT, payload=payload)
    wake_on_commit([endpoint.pk])
    return delivery


def resend_delivery(*, delivery: Delivery) -> Delivery:
    """Queues the same event again for the same endpoint (same `webhook-id`: a receiver that had it can tell)."""
    copy = Delivery.objects.create(
        endpoint_id=delivery.endpoint_id, event_id=delivery.event_id, type=delivery.type, payload=delivery.payload
    )
    wake_on_commit([delivery.endpoint_id])
    return copy
