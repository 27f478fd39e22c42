"""The contract every provider backend fulfils: `send(messages) -> list[SendResult]`, one result per message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from xsender.errors import ValidationFailed

if TYPE_CHECKING:
    from gateways.models import Gateway
    from messaging.models import Message


@dataclass
class SendResult:
    uid: Any
    ok: bool
    provider_message_id: str = ""
    transient: bool = False
    error: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


class BackendError(Exception):
    """A failure of the whole batch (connection refused, auth failed). `permanent` decides retry vs fail."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


class Backend:
    """Base of every provider backend.

    `config_schema` maps each config key to (type, required, description); `secret_keys` name the keys
    never shown back. `validate_config` rejects a missing or unknown key with a clear error.
    """

    provider: ClassVar[str]
    channels: ClassVar[tuple[str, ...]]
    config_schema: ClassVar[dict[str, tuple[type, bool, str]]] = {}
    secret_keys: ClassVar[tuple[str, ...]] = ()
    pushes: ClassVar[bool] = True  # False for pull gateways (Android devices claim their messages)

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.config = dict(gateway.config or {})

    @classmethod
    def validate_config(cls, config: Any) -> dict[str, Any]:
        if not isinstance(config, dict):
            raise ValidationFailed.single("config", "Config must be a JSON object.")
        errors = []
        for key in config:
            if key not in cls.config_schema:
                known = ", ".join(sorted(cls.config_schema)) or "none"
                errors.append({"field": f"config.{key}", "message": f"Unknown key for {cls.provider}; known: {known}."})
        for key, (kind, required, _doc) in cls.config_schema.items():
            if key not in config:
                if required:
                    errors.append({"field": f"config.{key}", "message": f"Required by {cls.provider}."})
                continue
            value = config[key]
            if kind is int and isinstance(value, bool) or not isinstance(value, kind):
                errors.append({"field": f"config.{key}", "message": f"Must be a {kind.__name__}."})
        if errors:
            raise ValidationFailed(errors, message="; ".join(f"{e['field']}: {e['message']}" for e in errors))
        return config

    @classmethod
    def public_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """The config with every secret masked, safe for responses and logs."""
        return {k: ("********" if k in cls.secret_keys else v) for k, v in (config or {}).items()}

    def send(self, messages: Sequence[Message]) -> list[SendResult]:
        raise NotImplementedError

    def close(self) -> None:
        """Releases connections opened by `send` (called once per batch)."""
