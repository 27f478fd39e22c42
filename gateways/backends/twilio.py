"""Twilio Programmable Messaging through the twilio SDK: one Client (one HTTP session) per batch.

Error codes: https://www.twilio.com/docs/api/errors
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from gateways.backends.base import (
    Backend,
    BackendError,
    InboundEvent,
    OutgoingMessage,
    ProviderEvent,
    SendResult,
    WebhookEvent,
    public_url,
    request_sent,
    webhook_url,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

    from gateways.models import Gateway

# Account-level failures: nothing in the batch can be sent with these credentials.
AUTH = {20003, 20005, 20404}
# Too many requests, queue overflow: retry later.
TRANSIENT = {20429, 30001, 14107}
# Status callbacks: MessageStatus → our status (queued, sending, accepted … move nothing and are not kept).
STATUSES = {"sent": "Sent", "delivered": "Delivered", "read": "Opened", "undelivered": "Failed",
            "failed": "Failed", "canceled": "Failed"}  # fmt: skip
# ErrorCode of an undelivered/failed message → the suppression it calls for: the recipient opted out (STOP),
# or the number cannot receive (blocked, unknown, landline or unreachable carrier, filtered, not a mobile).
SUPPRESS = {21610: "opt_out", 30004: "bounce", 30005: "bounce", 30006: "bounce", 30007: "bounce",
            21211: "bounce", 21614: "bounce"}  # fmt: skip


class TwilioBackend(Backend):
    provider = "twilio"
    channels = ("sms",)
    config_schema = {
        "account_sid": (str, True, "Account SID (AC…)."),
        "auth_token": (str, True, "Auth token."),
        "from_number": (str, False, "Sender number in E.164, or an alphanumeric sender ID."),
        "messaging_service_sid": (str, False, "Messaging Service SID (MG…), instead of from_number."),
        "status_callback": (str, False, "URL Twilio calls with delivery updates."),
        "base_url": (str, False, "API base URL (default https://api.twilio.com)."),
    }
    secret_keys = ("auth_token",)
    endpoint_keys = ("base_url",)

    @classmethod
    def validate_config(cls, config: Any) -> dict[str, Any]:
        config = super().validate_config(config)
        if not config.get("from_number") and not config.get("messaging_service_sid"):
            from xsender.errors import ValidationFailed

            raise ValidationFailed.single("config.from_number", "Give from_number or messaging_service_sid.")
        return config

    def __init__(self, gateway: Gateway) -> None:
        super().__init__(gateway)
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            http = TwilioHttpClient(pool_connections=True, timeout=20)
            self._client = Client(self.config["account_sid"], self.config["auth_token"], http_client=http)
            if self.config.get("base_url"):
                self._client.api.base_url = self.config["base_url"].rstrip("/")
        return self._client

    def _send_one(self, message: OutgoingMessage) -> SendResult:
        params: dict[str, Any] = {"to": message.recipient, "body": message.body}
        if self.config.get("messaging_service_sid"):
            params["messaging_service_sid"] = self.config["messaging_service_sid"]
        else:
            params["from_"] = self.config["from_number"]
        # Every message reports its delivery to this gateway's own webhook URL, unless the config names another.
        params["status_callback"] = self.config.get("status_callback") or webhook_url(
            f"/api/webhook/sms/twilio/{self.gateway.uid}"
        )
        try:
            sent = self.client.messages.create(**params)
        except TwilioRestException as exc:
            if exc.code in AUTH or exc.status == 401:
                raise BackendError(f"Twilio refused the credentials (error {exc.code}).", permanent=True) from None
            transient = exc.code in TRANSIENT or exc.status == 429 or exc.status >= 500
            return SendResult(uid=message.uid, ok=False, transient=transient, error=f"Twilio {exc.code}: {exc.msg}")
        except requests.RequestException as exc:
            raise BackendError(f"No answer from Twilio ({type(exc).__name__}).", in_flight=request_sent(exc)) from None
        except TwilioException as exc:
            raise BackendError(f"Twilio client error ({type(exc).__name__}).") from None
        raw = {"sid": sent.sid, "status": sent.status, "num_segments": sent.num_segments}
        return SendResult(uid=message.uid, ok=True, provider_message_id=sent.sid, raw=raw)

    def send(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        return self.send_each(messages, self._send_one)

    def verify(self, request: HttpRequest) -> bool:
        """Twilio's signature over the public URL and the form, with this gateway's auth token, from its account."""
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature or request.POST.get("AccountSid") != self.config.get("account_sid"):
            return False
        return RequestValidator(self.config["auth_token"]).validate(public_url(request), request.POST, signature)

    def parse_events(self, request: HttpRequest) -> list[WebhookEvent]:
        form = request.POST
        status, sid = form.get("MessageStatus") or form.get("SmsStatus", ""), form.get("MessageSid", "")
        detail = {"params": form.dict()}
        if status == "received" and "Body" in form:  # the gateway's number received a message
            media = form.get("MediaUrl0", "")
            inbound = InboundEvent(sender=form.get("From", ""), body=form.get("Body", ""), occurred_at=None,
                                   detail=detail, event_id=f"{sid}:received", provider_message_id=sid,
                                   media_type=form.get("MediaContentType0", "") if media else "", media_url=media)  # fmt: skip
            return [inbound]
        if status not in STATUSES or not sid:
            return []
        code = int(form["ErrorCode"]) if (form.get("ErrorCode") or "").isdigit() else None
        error = f"Twilio {code}" if code else ""
        return [ProviderEvent(provider_message_id=sid, status=STATUSES[status], occurred_at=None, detail=detail,  # type: ignore[arg-type]
                              event_id=f"{sid}:{status}", kind=status, suppress=SUPPRESS.get(code or 0, ""),
                              error=error)]  # fmt: skip

    def close(self) -> None:
        super().close()
        if self._client is not None and self._client.http_client.session is not None:
            self._client.http_client.session.close()
        self._client = None
