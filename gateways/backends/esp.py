"""Any email service provider django-anymail supports, over its HTTP API: one connection per batch.

Anymail raises AnymailRecipientsRefused when the ESP rejects the recipient (permanent), and
AnymailAPIError with the HTTP status otherwise (https://anymail.dev/en/stable/sending/exceptions/).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from anymail.exceptions import AnymailAPIError, AnymailError, AnymailRecipientsRefused
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import get_connection

from gateways.backends import esp_webhooks
from gateways.backends.base import (
    Backend,
    BackendError,
    OutgoingMessage,
    SendResult,
    WebhookEvent,
)
from gateways.backends.esp_config import ESPS, backend_arguments, http_status, in_flight, required_keys
from xsender.errors import ValidationFailed

if TYPE_CHECKING:
    from django.http import HttpRequest

    from gateways.models import Gateway


class EspBackend(Backend):
    provider = "esp"
    channels = ("email",)
    config_schema = {
        "esp": (str, True, f"One of: {', '.join(sorted(ESPS))}."),
        "api_key": (str, False, "The ESP's API key (Postmark: server token; MailerSend: API token); not SES."),
        "secret_key": (str, False, "Mailjet's secret key."),
        "sender_domain": (str, False, "Mailgun's sending domain, when it differs from from_email's."),
        "region": (str, False, "Amazon SES: the AWS region, e.g. eu-west-1."),
        "access_key_id": (str, False, "Amazon SES: the IAM access key id (ses:SendEmail)."),
        "secret_access_key": (str, False, "Amazon SES: the IAM secret access key."),
        "from_email": (str, True, "Sender address, verified with the ESP."),
        "base_url": (str, False, "The ESP's API URL (default: the ESP's own; SES: the endpoint URL)."),
        "webhook_secret": (str, False, "user:password the ESP's webhook URL carries as basic auth."),
        "webhook_signing_key": (str, False, "The ESP's webhook signing key or secret (docs/webhooks.md)."),
    }
    secret_keys = ("api_key", "secret_key", "secret_access_key", "webhook_secret", "webhook_signing_key")
    endpoint_keys = ("esp", "base_url")  # which service, at which URL, receives the key

    @classmethod
    def validate_config(cls, config: Any) -> dict[str, Any]:
        config = super().validate_config(config)
        if config["esp"] not in ESPS:
            raise ValidationFailed.single(
                "config.esp", f"Unknown ESP {config['esp']!r}; one of {', '.join(sorted(ESPS))}."
            )
        return config

    @classmethod
    def required_keys(cls, config: dict[str, Any]) -> set[str]:
        return {"esp", "from_email", *required_keys(str(config.get("esp", "")))}

    def __init__(self, gateway: Gateway) -> None:
        super().__init__(gateway)
        self.connection: Any = None
        self._view: Any = None

    def _connect(self) -> Any:
        try:
            name, kwargs = backend_arguments(self.config)
            connection = get_connection(f"anymail.backends.{name}.EmailBackend", fail_silently=False, **kwargs)
            connection.open()
        except (KeyError, ImproperlyConfigured, AnymailError) as exc:
            raise BackendError(
                f"The ESP gateway's config is incomplete ({type(exc).__name__}).", permanent=True
            ) from None
        return connection

    def _send_one(self, message: OutgoingMessage) -> SendResult:
        email = self.compose_email(message, self.connection)
        try:
            email.send()
        except AnymailRecipientsRefused as exc:
            return SendResult(uid=message.uid, ok=False, error=f"Refused by the ESP: {exc}"[:500])
        except AnymailAPIError as exc:
            status = http_status(exc)
            if status in (401, 403):
                raise BackendError(f"The ESP refused the credentials (HTTP {status}).", permanent=True) from None
            if status is None:  # no HTTP answer: in flight unless the connection itself failed
                raise BackendError("No answer from the ESP.", in_flight=in_flight(exc)) from None
            return SendResult(
                uid=message.uid, ok=False, transient=status == 429 or status >= 500, error=f"ESP HTTP {status}"
            )
        except AnymailError as exc:
            return SendResult(uid=message.uid, ok=False, error=f"ESP error: {type(exc).__name__}")
        status = email.anymail_status
        if status.status and status.status & {"rejected", "invalid", "failed"}:
            return SendResult(
                uid=message.uid, ok=False, error=f"Refused by the ESP ({', '.join(sorted(status.status))})."
            )
        return SendResult(
            uid=message.uid,
            ok=True,
            provider_message_id=str(status.message_id or ""),
            raw={"status": sorted(status.status or [])},
        )

    def send(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        if self.connection is None:
            self.connection = self._connect()
        return self.send_each(messages, self._send_one)

    def verify(self, request: HttpRequest) -> bool:
        """The ESP's anymail view validates (basic auth, signature); SES also needs SNS's own signature."""
        self._view = esp_webhooks.verified_view(
            self.config.get("esp", ""), None if self.site_wide else self.config, request
        )
        return self._view is not None

    def parse_events(self, request: HttpRequest) -> list[WebhookEvent]:
        return esp_webhooks.parse(self.config["esp"], self._view, request)

    def close(self) -> None:
        super().close()
        if self.connection is not None:
            self.connection.close()
            self.connection = None
