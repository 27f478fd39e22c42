"""Development backend for every channel: logs the message instead of sending it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from gateways.backends.base import Backend, OutgoingMessage, SendResult

logger = logging.getLogger("xsender.console")


class ConsoleBackend(Backend):
    provider = "console"
    channels = ("email", "sms", "whatsapp")
    sends_templates = True  # it stands in for any provider in development, WhatsApp Cloud included
    config_schema = {
        "fail": (bool, False, "Fail every message permanently (to try the failure path)."),
        "fail_transient": (bool, False, "Fail every message with a temporary error (to try retries)."),
    }

    def _send_one(self, message: OutgoingMessage) -> SendResult:
        if self.config.get("fail") or self.config.get("fail_transient"):
            transient = bool(self.config.get("fail_transient"))
            error = "Console gateway configured to fail" + (" temporarily." if transient else ".")
            return SendResult(uid=message.uid, ok=False, transient=transient, error=error)
        template = getattr(message, "whatsapp_template", None)
        shown = f"template {template.get('name')}" if template else message.subject or message.body
        logger.info("[%s] to %s: %s", message.channel, message.recipient, shown[:80])
        return SendResult(uid=message.uid, ok=True, provider_message_id=f"console-{uuid.uuid4().hex[:12]}")

    def send(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        return self.send_each(messages, self._send_one)
