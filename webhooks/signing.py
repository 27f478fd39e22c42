"""Standard Webhooks signatures (https://www.standardwebhooks.com/), made with the `standardwebhooks` library.

Each request carries `webhook-id` (the event's id, the same on every retry), `webhook-timestamp` (the attempt's
Unix time) and `webhook-signature`: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` under each live secret,
space-separated — after a rotation the old secret signs beside the new one for 24 hours, so a receiver still
holding the old one keeps verifying while it is updated.
"""

from __future__ import annotations

import base64
import secrets as random
from datetime import UTC, datetime, timedelta
from typing import Any

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
OVERLAP = timedelta(hours=24)


def new_secret() -> str:
    """A fresh signing secret: `whsec_` and 32 random bytes in base64 (what Standard Webhooks libraries take)."""
    return SECRET_PREFIX + base64.b64encode(random.token_bytes(32)).decode()


def live_secrets(stored: list[dict[str, Any]], now: datetime) -> list[str]:
    """The secrets that sign now: the current one and any rotated one still inside its overlap."""
    return [
        entry["secret"]
        for entry in stored
        if not entry.get("expires_at") or datetime.fromisoformat(entry["expires_at"]) > now
    ]


def rotated(stored: list[dict[str, Any]], now: datetime) -> tuple[list[dict[str, Any]], str]:
    """`stored` with a new current secret; the old current one expires after the overlap, expired ones go."""
    secret = new_secret()
    kept = [
        {"secret": entry["secret"], "expires_at": entry.get("expires_at") or (now + OVERLAP).isoformat()}
        for entry in stored
        if entry["secret"] in live_secrets([entry], now)
    ]
    return [{"secret": secret, "expires_at": None}, *kept], secret


class Signer:
    """Signs bodies under a fixed set of secrets (built once per drain: the secrets are decoded once)."""

    def __init__(self, secrets: list[str]) -> None:
        self.webhooks = [Webhook(secret) for secret in secrets]

    def headers(self, event_id: str, body: str, at: datetime | None = None) -> dict[str, str]:
        at = (at or datetime.now(UTC)).astimezone(UTC)
        signature = " ".join(webhook.sign(msg_id=event_id, timestamp=at, data=body) for webhook in self.webhooks)
        return {
            "webhook-id": event_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature,
            "content-type": "application/json",
            "user-agent": "XSender-Webhooks/1.0",
        }
