"""Every state change of gateways: add, update, share, remove, and the admin's test send."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from accounts.models import CHANNELS, User
from gateways.backends import PROVIDERS, get_backend_class
from gateways.backends.base import SendResult
from gateways.models import MAX_CONNECTIONS, Gateway
from xsender.errors import ValidationFailed

IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def check_connections(connections: Any) -> int:
    """How many connections a worker may open to the gateway at once: a whole number from 1 to 16."""
    if isinstance(connections, bool) or not isinstance(connections, int) or not 1 <= connections <= MAX_CONNECTIONS:
        raise ValidationFailed.single("connections", f"Connections: a whole number from 1 to {MAX_CONNECTIONS}.")
    return connections


def check_gateway(*, owner: User | None, channel: str, provider: str, identifier: str, config: Any) -> dict[str, Any]:
    """Validates a new gateway's fields; returns the validated config. Raises ValidationFailed naming the field."""
    if channel not in CHANNELS:
        raise ValidationFailed.single("channel", f"Unknown channel {channel!r}; use one of {', '.join(CHANNELS)}.")
    if provider not in PROVIDERS:
        raise ValidationFailed.single(
            "provider", f"Unknown provider {provider!r}; known: {', '.join(sorted(PROVIDERS))}."
        )
    backend = get_backend_class(provider)
    if channel not in backend.channels:
        raise ValidationFailed.single(
            "provider", f"{provider} does not send {channel}; it sends {', '.join(backend.channels)}."
        )
    if not IDENTIFIER.match(identifier or ""):
        raise ValidationFailed.single(
            "identifier", "Identifier: 1-100 letters, digits, '.', '_' or '-', starting alphanumeric."
        )
    if Gateway.objects.filter(owner=owner, identifier=identifier).exists():
        whose = "admin gateway" if owner is None else f"gateway of {owner.email}"
        raise ValidationFailed.single("identifier", f"An {whose} named {identifier!r} already exists.")
    return backend.validate_config(config if config is not None else {})


def _unset_other_defaults(gateway: Gateway) -> None:
    if gateway.is_default:
        Gateway.objects.filter(owner=gateway.owner, channel=gateway.channel, is_default=True).exclude(
            pk=gateway.pk
        ).update(is_default=False)


@transaction.atomic
def add_gateway(
    *,
    owner: User | None,
    channel: str,
    provider: str,
    identifier: str,
    name: str = "",
    config: dict[str, Any] | None = None,
    is_default: bool = False,
    share_with: Iterable[User] = (),
    retry_unknown_outcome: bool = False,
    connections: int = 2,
) -> Gateway:
    """Creates a gateway (owner None = an admin gateway). A new default unsets the owner's other defaults."""
    config = check_gateway(owner=owner, channel=channel, provider=provider, identifier=identifier, config=config)
    connections = check_connections(connections)
    share_with = list(share_with)
    if share_with and owner is not None:
        raise ValidationFailed.single("share_with", "Only admin gateways can be shared with users.")
    gateway = Gateway.objects.create(
        owner=owner,
        channel=channel,
        provider=provider,
        identifier=identifier,
        name=name or identifier,
        config=config,
        is_default=is_default,
        retry_unknown_outcome=retry_unknown_outcome,
        connections=connections,
    )
    _unset_other_defaults(gateway)
    if share_with:
        gateway.shared_with.set(share_with)
    return gateway


@transaction.atomic
def update_gateway(*, gateway: Gateway, **changes: Any) -> Gateway:
    """Changes name, config, is_default, status, retry_unknown_outcome or connections; a config is validated by
    its backend."""
    allowed = {"name", "config", "is_default", "status", "retry_unknown_outcome", "connections"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed.single(sorted(unknown)[0], "This field cannot be changed.")
    if "config" in changes:
        changes["config"] = gateway.backend().validate_config(changes["config"])
    if "connections" in changes:
        check_connections(changes["connections"])
    for key, value in changes.items():
        setattr(gateway, key, value)
    gateway.save()
    _unset_other_defaults(gateway)
    return gateway


def share_gateway(*, gateway: Gateway, users: Iterable[User]) -> Gateway:
    if gateway.owner_id is not None:
        raise ValidationFailed.single("share_with", "Only admin gateways can be shared with users.")
    gateway.shared_with.add(*users)
    return gateway


def remove_gateway(*, gateway: Gateway) -> None:
    gateway.delete()


@dataclass
class ProbeMessage:
    """The fields a backend reads, for a send that is not a tenant's message (the admin's test)."""

    recipient: str
    channel: str
    subject: str = "XSender test message"
    body: str = "This is a test message sent from XSender to check the gateway."
    sender_name: str = ""
    sms_type: str = "plain"
    media: str = ""
    media_url: str = ""
    attachments: list[dict[str, str]] = field(default_factory=list)
    uid: uuid.UUID = field(default_factory=uuid.uuid4)


def send_test_message(*, gateway: Gateway, to: str) -> SendResult:
    """Sends one test message through `gateway` now; returns the provider's result (never raises for send errors)."""
    backend = gateway.backend()
    try:
        return backend.send([ProbeMessage(recipient=to, channel=gateway.channel)])[0]
    except Exception as exc:  # noqa: BLE001 — the admin wants the reason, whatever failed
        message = getattr(exc, "message", type(exc).__name__)
        return SendResult(uid=None, ok=False, error=str(message))
    finally:
        backend.close()
