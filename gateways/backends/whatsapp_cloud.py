"""WhatsApp Cloud API (Meta Graph): POST /{version}/{phone_number_id}/messages — text, media by link, and approved
templates (https://developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates).

Meta downloads a media link itself, so the link passes our address rules before it is handed over.

Error codes: https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from gateways.backends.base import (
    BackendError,
    HttpBackend,
    OutgoingMessage,
    SendResult,
    WebhookEvent,
    check_handoff_url,
)
from gateways.backends.meta_events import cloud_values, inbound_event, meta_signature_valid, status_event
from xsender.fetch import safe_filename

if TYPE_CHECKING:
    from django.http import HttpRequest

# Throttling and temporary errors: retry later.
TRANSIENT = {4, 80007, 130429, 131000, 131016, 131048, 131056, 133004}
# The token or the app: nothing in this batch can be sent.
AUTH = {0, 3, 10, 190, 200, 299}


def _template(template: dict[str, Any]) -> dict[str, Any]:
    """Our {"name", "language": "en_US", "components"} as Meta's template object: the language is an object
    {"code": …}; components (header, body, button parameters) go as they are, and none when there are none."""
    sent: dict[str, Any] = {"name": template["name"], "language": {"code": template["language"]}}
    if template.get("components"):
        sent["components"] = template["components"]
    return sent


class WhatsAppCloudBackend(HttpBackend):
    provider = "whatsapp_cloud"
    channels = ("whatsapp",)
    default_base_url = "https://graph.facebook.com"
    config_schema = {
        "phone_number_id": (str, True, "The WhatsApp Business phone number ID."),
        "access_token": (str, True, "A system-user access token with whatsapp_business_messaging."),
        "api_version": (str, False, "Graph API version (default v21.0)."),
        "base_url": (str, False, "Graph API base URL (default https://graph.facebook.com)."),
        "app_secret": (str, False, "The Meta app's secret: webhooks are signed with it (X-Hub-Signature-256)."),
        "verify_token": (str, False, "The token you type in the app's webhook setup (its GET challenge)."),
    }
    secret_keys = ("access_token", "app_secret", "verify_token")
    sends_templates = True

    def _payload(self, message: OutgoingMessage) -> dict[str, Any]:
        payload: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual"}
        payload["to"] = message.recipient.lstrip("+")
        template = getattr(message, "whatsapp_template", None)
        if template:
            return {**payload, "type": "template", "template": _template(template)}
        if not message.media:
            return {**payload, "type": "text", "text": {"preview_url": False, "body": message.body}}
        check_handoff_url(message.media_url)
        media: dict[str, Any] = {"link": message.media_url}
        if message.body and message.media != "audio":  # audio takes no caption
            media["caption"] = message.body
        if message.media == "document":
            media["filename"] = safe_filename(unquote(urlsplit(message.media_url).path.rsplit("/", 1)[-1]), "document")
        return {**payload, "type": message.media, message.media: media}

    def _send_one(self, message: OutgoingMessage) -> SendResult:
        version = self.config.get("api_version", "v21.0")
        headers = {"Authorization": f"Bearer {self.config['access_token']}"}
        payload = self._payload(message)
        status, body = self.post(f"/{version}/{self.config['phone_number_id']}/messages", payload, headers)
        if status == 200:
            return self._accepted(message, body)
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        code = error.get("code")
        text = f"{code}: {error.get('message', 'HTTP ' + str(status))}"
        if code in AUTH or status in (401, 403):
            raise BackendError(f"WhatsApp Cloud API refused the credentials ({text}).", permanent=True)
        transient = code in TRANSIENT or status == 429 or status >= 500
        return SendResult(uid=message.uid, ok=False, transient=transient, error=text, raw=body)

    @staticmethod
    def _accepted(message: OutgoingMessage, body: dict[str, Any]) -> SendResult:
        messages = body.get("messages")
        first = messages[0] if isinstance(messages, list) and messages and isinstance(messages[0], dict) else {}
        if first.get("id"):
            return SendResult(uid=message.uid, ok=True, provider_message_id=str(first["id"]), raw=body)
        # Accepted with an answer we cannot read: it may be on its way, so it is not sent again blindly.
        error = "Outcome unknown: the WhatsApp Cloud API answered 200 without a message id."
        return SendResult(uid=message.uid, ok=False, unknown=True, error=error, raw=body)

    def send(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        return self.send_each(messages, self._send_one)

    def verify(self, request: HttpRequest) -> bool:
        """X-Hub-Signature-256: sha256=hex(HMAC-SHA256(app secret, the raw body)), before anything is parsed."""
        return bool(self.config.get("app_secret")) and meta_signature_valid(
            self.config["app_secret"], request.body, request.headers.get("X-Hub-Signature-256", "")
        )

    def answer_challenge(self, request: HttpRequest) -> str | None:
        token = self.config.get("verify_token") or ""
        given = request.GET.get("hub.verify_token", "")
        if request.GET.get("hub.mode") != "subscribe" or not token or not hmac.compare_digest(token, given):
            return None
        return request.GET.get("hub.challenge", "")

    def parse_events(self, request: HttpRequest) -> list[WebhookEvent]:
        events: list[WebhookEvent] = []
        for value in cloud_values(json.loads(request.body)):
            events.extend(status_event(status) for status in value.get("statuses") or [])
            number = (value.get("metadata") or {}).get("phone_number_id")
            if number in (None, self.config.get("phone_number_id")):  # the app's other numbers are other gateways'
                events.extend(inbound_event(message) for message in value.get("messages") or [])
        return [e for e in events if e is not None]
