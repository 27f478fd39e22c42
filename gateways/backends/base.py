"""The contract every provider backend fulfils: `send(messages) -> list[SendResult]`, one result per message."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    """A failure beyond one message (connection refused, auth failed). `permanent` decides retry vs fail;
    `in_flight` says the message being sent may have reached the provider (its outcome is unknown)."""

    def __init__(self, message: str, permanent: bool = False, in_flight: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.in_flight = in_flight


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

    def send_each(self, messages: Sequence[Any], send_one: Callable[[Any], SendResult]) -> list[SendResult]:
        """Sends one by one. When the connection fails part-way, what was sent stays sent, the message in
        flight is an unknown outcome (resent only if the gateway allows it), the rest was never handed over."""
        results: list[SendResult] = []
        for message in messages:
            try:
                results.append(send_one(message))
            except BackendError as exc:
                if not results and not exc.in_flight:
                    raise
                rest = list(messages[len(results) :])
                if exc.in_flight:
                    retry = bool(getattr(self.gateway, "retry_unknown_outcome", False))
                    error = f"Outcome unknown: {exc.message}"
                    results.append(SendResult(uid=rest.pop(0).uid, ok=False, transient=retry, error=error))
                results += [
                    SendResult(uid=m.uid, ok=False, transient=not exc.permanent, error=exc.message) for m in rest
                ]
                break
        return results

    def close(self) -> None:
        """Releases connections opened by `send` (called once per batch)."""


def request_sent(exc: Exception) -> bool:
    """Whether a failed HTTP call may have reached the provider: only a failure to connect proves it did not."""
    import requests

    if isinstance(exc, requests.ConnectTimeout):
        return False
    return not (isinstance(exc, requests.ConnectionError) and "NewConnectionError" in repr(exc))


class HttpBackend(Backend):
    """A backend speaking JSON over HTTP: one requests.Session per batch, timeouts, no automatic retries
    (a retried POST could send twice; the delivery layer decides about retries)."""

    default_base_url: ClassVar[str] = ""
    timeout: ClassVar[float] = 20.0

    def __init__(self, gateway: Gateway) -> None:
        super().__init__(gateway)
        self.base_url = str(self.config.get("base_url") or self.default_base_url).rstrip("/")
        self._session: Any = None

    @property
    def session(self) -> Any:
        if self._session is None:
            import requests

            self._session = requests.Session()
            self._session.headers["User-Agent"] = "XSender/1.0"
        return self._session

    def post(self, path: str, payload: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """POSTs JSON; returns (status, parsed body). A connection failure raises a temporary BackendError."""
        import requests

        try:
            response = self.session.post(
                self.base_url + path, json=payload, headers=headers or {}, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise BackendError(f"{self.provider}: cannot reach the provider ({type(exc).__name__}).") from None
        try:
            body = response.json()
        except ValueError:
            body = {"text": response.text[:500]}
        return response.status_code, body

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
