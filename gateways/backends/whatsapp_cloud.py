"""WhatsApp Cloud API (Meta Graph): POST /{version}/{phone_number_id}/messages — text, and media by link.

Error codes: https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateways.backends.base import BackendError, HttpBackend, SendResult

# Throttling and temporary errors: retry later.
TRANSIENT = {4, 80007, 130429, 131000, 131016, 131048, 131056, 133004}
# The token or the app: nothing in this batch can be sent.
AUTH = {0, 3, 10, 190, 200, 299}


class WhatsAppCloudBackend(HttpBackend):
    provider = "whatsapp_cloud"
    channels = ("whatsapp",)
    default_base_url = "https://graph.facebook.com"
    config_schema = {
        "phone_number_id": (str, True, "The WhatsApp Business phone number ID."),
        "access_token": (str, True, "A system-user access token with whatsapp_business_messaging."),
        "api_version": (str, False, "Graph API version (default v21.0)."),
        "base_url": (str, False, "Graph API base URL (default https://graph.facebook.com)."),
    }
    secret_keys = ("access_token",)

    def _payload(self, message: Any) -> dict[str, Any]:
        payload: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual"}
        payload["to"] = message.recipient.lstrip("+")
        if not message.media:
            return {**payload, "type": "text", "text": {"preview_url": False, "body": message.body}}
        media: dict[str, Any] = {"link": message.media_url}
        if message.body and message.media != "audio":  # audio takes no caption
            media["caption"] = message.body
        if message.media == "document":
            media["filename"] = message.media_url.rsplit("/", 1)[-1].split("?")[0] or "document"
        return {**payload, "type": message.media, message.media: media}

    def _send_one(self, message: Any) -> SendResult:
        version = self.config.get("api_version", "v21.0")
        headers = {"Authorization": f"Bearer {self.config['access_token']}"}
        status, body = self.post(
            f"/{version}/{self.config['phone_number_id']}/messages", self._payload(message), headers
        )
        if status == 200 and body.get("messages"):
            return SendResult(uid=message.uid, ok=True, provider_message_id=body["messages"][0]["id"], raw=body)
        error = body.get("error", {}) if isinstance(body, dict) else {}
        code = error.get("code")
        text = f"{code}: {error.get('message', 'HTTP ' + str(status))}"
        if code in AUTH or status in (401, 403):
            raise BackendError(f"WhatsApp Cloud API refused the credentials ({text}).", permanent=True)
        transient = code in TRANSIENT or status == 429 or status >= 500
        return SendResult(uid=message.uid, ok=False, transient=transient, error=text, raw=body)

    def send(self, messages: Sequence[Any]) -> list[SendResult]:
        return self.send_each(messages, self._send_one)
