"""A WhatsApp Web bridge speaking WAHA's HTTP API: POST /api/sendText, /api/sendImage, /api/sendFile,
/api/sendVideo, /api/sendVoice with a session name (https://waha.devlike.pro/docs/how-to/send-messages/).

The bridge downloads a media URL itself, from inside our network: the URL passes our address rules before the
bridge is asked, or the message fails alone ("Media URL refused: …") and the bridge never hears of it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import mimetypes
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from gateways.backends import waha_events, waha_session
from gateways.backends.base import (
    BackendError,
    HttpBackend,
    MessageRefused,
    OutgoingMessage,
    SendResult,
    WebhookEvent,
    check_handoff_url,
)
from xsender.fetch import safe_filename

if TYPE_CHECKING:
    from django.http import HttpRequest

ENDPOINTS = {
    "image": "/api/sendImage",
    "video": "/api/sendVideo",
    "audio": "/api/sendVoice",
    "document": "/api/sendFile",
}
DEFAULT_MIME = {
    "image": "image/jpeg",
    "video": "video/mp4",
    "audio": "audio/ogg; codecs=opus",
    "document": "application/octet-stream",
}


class WhatsAppWebBackend(HttpBackend):
    provider = "whatsapp_web"
    channels = ("whatsapp",)
    config_schema = {
        "base_url": (str, True, "The bridge's URL, e.g. http://waha.internal:3000."),
        "session": (str, False, "The bridge's session name (default: default)."),
        "api_key": (str, False, "Sent as X-Api-Key when the bridge requires one."),
        "webhook_key": (str, False, "The HMAC key of the session's webhook (X-Webhook-Hmac, SHA-512)."),
    }
    secret_keys = ("api_key", "webhook_key")

    def _request(self, message: OutgoingMessage) -> tuple[str, dict[str, Any]]:
        payload: dict[str, Any] = {"session": self.config.get("session", "default")}
        payload["chatId"] = f"{message.recipient.lstrip('+')}@c.us"
        if getattr(message, "whatsapp_template", None):  # refused at accept; never sent as an empty text
            raise MessageRefused("A WhatsApp Web bridge cannot send approved templates: not sent.")
        if not message.media:
            return "/api/sendText", {**payload, "text": message.body}
        check_handoff_url(message.media_url)
        filename = safe_filename(unquote(urlsplit(message.media_url).path.rsplit("/", 1)[-1]), message.media)
        mimetype = mimetypes.guess_type(filename)[0] or DEFAULT_MIME[message.media]
        payload["file"] = {"url": message.media_url, "mimetype": mimetype, "filename": filename}
        if message.body and message.media != "audio":
            payload["caption"] = message.body
        return ENDPOINTS[message.media], payload

    def _send_one(self, message: OutgoingMessage) -> SendResult:
        path, payload = self._request(message)
        headers = {"X-Api-Key": self.config["api_key"]} if self.config.get("api_key") else {}
        status, body = self.post(path, payload, headers)
        if status in (200, 201):
            identifier = body.get("id")
            if isinstance(identifier, dict):  # WEBJS engine: {"fromMe", "remote", "id", "_serialized"}
                identifier = identifier.get("_serialized") or identifier.get("id")
            return SendResult(uid=message.uid, ok=True, provider_message_id=str(identifier or ""), raw=body)
        if status in (401, 403):
            raise BackendError("The WhatsApp Web bridge refused the API key.", permanent=True)
        text = body.get("message") or body.get("error") or f"HTTP {status}"
        # 422: the session is not connected (scan the QR again) — retrying later may work.
        transient = status in (408, 422, 429) or status >= 500
        return SendResult(
            uid=message.uid,
            ok=False,
            transient=transient,
            error=str(text)[:500],
            raw=body,
        )

    def send(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        return self.send_each(messages, self._send_one)

    def verify(self, request: HttpRequest) -> bool:
        """With a webhook key: X-Webhook-Hmac = hex(HMAC-SHA512(key, raw body)) (WAHA's docs, "Events"). Without
        one, the gateway's unguessable URL is the only secret. The event must name this gateway's session."""
        key = self.config.get("webhook_key")
        if key:
            algorithm = request.headers.get("X-Webhook-Hmac-Algorithm", "sha512").lower()
            expected = hmac.new(key.encode(), request.body, hashlib.sha512).hexdigest()
            if algorithm != "sha512" or not hmac.compare_digest(expected, request.headers.get("X-Webhook-Hmac", "")):
                return False
        try:
            body = json.loads(request.body)
        except ValueError:
            return False
        return isinstance(body, dict) and body.get("session") == self.config.get("session", "default")

    def parse_events(self, request: HttpRequest) -> list[WebhookEvent]:
        body = json.loads(request.body)
        event = waha_events.parse(body)
        return [event] if event is not None else []

    # The panel's view of the bridge (gateways/backends/waha_session.py: fetched through the safe fetcher).
    def session_status(self) -> waha_session.BridgeSession:
        """The session's state on the bridge (GET /api/sessions/{session}); an unreachable bridge is a state."""
        return waha_session.session_status(self.base_url, self.config)

    def qr_code(self) -> waha_session.BridgeQr | None:
        """The QR code that links the session (GET /api/{session}/auth/qr), while the bridge offers one."""
        return waha_session.qr_code(self.base_url, self.config)
