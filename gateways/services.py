"""Every state change of gateways: add, update, share, remove, and the admin's test send."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import CHANNELS, User
from gateways.backends import PROVIDERS, get_backend_class
from gateways.backends.base import SECRET_MASK, Backend, SendResult
from gateways.models import MAX_CONNECTIONS, Gateway
from xsender.errors import ValidationFailed

# Called with (gateway, force) inside remove_gateway's transaction, before the delete: raises
# xsender.errors.Conflict to refuse the removal, or settles what depends on the gateway (see remove_gateway).
RemovalGuard = Callable[[Gateway, bool], None]
_removal_guards: list[RemovalGuard] = []

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
    masked = [key for key in backend.secret_keys if isinstance(config, dict) and config.get(key) == SECRET_MASK]
    if masked:
        raise ValidationFailed.single(f"config.{masked[0]}", "The secret is masked: enter it.")
    if channel not in backend.channels:
        raise ValidationFailed.single(
            "provider", f"{provider} does not send {channel}; it sends {', '.join(backend.channels)}."
        )
    if not IDENTIFIER.match(identifier or ""):
        raise ValidationFailed.single(
            "identifier", "Identifier: 1-100 letters, digits, '.', '_' or '-', starting alphanumeric."
        )
    if Gateway.objects.filter(owner=owner, identifier=identifier).exists():
        whose = "An admin gateway" if owner is None else f"A gateway of {owner.email}"
        raise ValidationFailed.single("identifier", f"{whose} named {identifier!r} already exists.")
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
    share_with = check_shares(owner=owner, users=share_with)
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


def check_config_change(*, gateway: Gateway, config: Any) -> dict[str, Any]:
    """The config `gateway` would have after a change to `config`, validated by its backend.

    A secret given as the mask (********) keeps its stored value — unless an endpoint key (where the secrets
    are sent: host, port, base_url …) changes in the same change: then every secret not entered again is
    cleared, so that nobody can point a gateway elsewhere and have its stored secret sent there. A required
    secret so cleared is an error that says to enter it again.
    """
    backend = get_backend_class(gateway.provider)
    if not isinstance(config, dict):
        return backend.validate_config(config)
    stored = gateway.config or {}
    moved = [key for key in backend.endpoint_keys if config.get(key) != stored.get(key)]
    merged, cleared = {}, []
    for key, value in config.items():
        if key in backend.secret_keys and value == SECRET_MASK:
            if moved or key not in stored:
                cleared.append(key)
                continue
            value = stored[key]
        merged[key] = value
    _require_cleared_secrets(backend, cleared, moved, config)
    return backend.validate_config(merged)


def _require_cleared_secrets(
    backend: type[Backend], cleared: list[str], moved: list[str], config: dict[str, Any]
) -> None:
    required = [key for key in cleared if key in backend.required_keys(config)]
    if not required:
        return
    why = f"{', '.join(moved)} changed" if moved else "no secret is stored"
    raise ValidationFailed.single(
        f"config.{required[0]}", f"Enter {required[0]} again: {why}, so the stored secret was not kept."
    )


@transaction.atomic
def update_gateway(*, gateway: Gateway, **changes: Any) -> Gateway:
    """Changes name, config, is_default, status, retry_unknown_outcome or connections; a config is validated by
    its backend, masked secrets resolved as `check_config_change` says."""
    allowed = {"name", "config", "is_default", "status", "retry_unknown_outcome", "connections"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed.single(sorted(unknown)[0], "This field cannot be changed.")
    if "config" in changes:
        changes["config"] = check_config_change(gateway=gateway, config=changes["config"])
    if "connections" in changes:
        check_connections(changes["connections"])
    for key, value in changes.items():
        setattr(gateway, key, value)
    gateway.save()
    _unset_other_defaults(gateway)
    return gateway


def set_connection_state(*, gateway: Gateway, state: str, connected: bool, connected_state: str) -> bool:
    """Stores the state the provider's session reported for `gateway`; returns whether it just stopped being
    connected (it was `connected_state` and is no longer)."""
    now = timezone.now()
    with transaction.atomic():
        previous = Gateway.objects.select_for_update().filter(pk=gateway.pk).values_list("connection_state", flat=True)
        was = previous.first()
        Gateway.objects.filter(pk=gateway.pk).update(connection_state=state[:32], connection_state_at=now)
    gateway.connection_state, gateway.connection_state_at = state[:32], now
    return was == connected_state and not connected


def check_shares(*, owner: User | None, users: Iterable[User]) -> list[User]:
    """The users a gateway of `owner` may be shared with: only admin gateways are shared."""
    users = list(users)
    if users and owner is not None:
        raise ValidationFailed.single("share_with", "Only admin gateways can be shared with users.")
    return users


def share_gateway(*, gateway: Gateway, users: Iterable[User]) -> Gateway:
    gateway.shared_with.add(*check_shares(owner=gateway.owner, users=users))
    return gateway


def set_gateway_shares(*, gateway: Gateway, users: Iterable[User]) -> Gateway:
    """Shares an admin gateway with exactly `users` (removing the others)."""
    gateway.shared_with.set(check_shares(owner=gateway.owner, users=users))
    return gateway


def register_removal_guard(guard: RemovalGuard) -> None:
    """Adds a check every gateway removal runs (once, however often it is registered). An app whose rows
    depend on gateways registers one from its AppConfig.ready(): gateways imports no app above it."""
    if guard not in _removal_guards:
        _removal_guards.append(guard)


def unregister_removal_guard(guard: RemovalGuard) -> None:
    if guard in _removal_guards:
        _removal_guards.remove(guard)


@transaction.atomic
def remove_gateway(*, gateway: Gateway, force: bool = False) -> None:
    """Deletes `gateway` after every removal guard agreed, all in one transaction.

    Without `force` a guard refuses (xsender.errors.Conflict) while work depends on the gateway (queued
    messages); with `force` it settles that work (fails the messages with the reason, refunds them) instead.
    The gateway's row stays locked meanwhile, so nothing new can be queued for it.
    """
    locked = Gateway.objects.select_for_update().filter(pk=gateway.pk).first()
    if locked is None:
        return
    for guard in list(_removal_guards):
        guard(locked, force)
    locked.delete()


def record_gateway_error(*, gateway_id: int, error: str) -> None:
    """Keeps the failure that stopped a delivery run on `gateway_id` (one UPDATE; the dashboard shows it).
    `error` is the backend's message, which never carries a credential."""
    Gateway.objects.filter(pk=gateway_id).update(last_error=error[:2000], last_error_at=timezone.now())


@dataclass
class ProbeMessage:
    """An OutgoingMessage that is not a tenant's message (the admin's test send)."""

    recipient: str
    channel: str
    subject: str = "XSender test message"
    body: str = "This is a test message sent from XSender to check the gateway."
    sender_name: str = ""
    reply_to: str = ""
    list_unsubscribe: str = ""
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
