"""A WhatsApp Web bridge's (WAHA) session as the panel shows it: its state and, while it waits to be linked, the QR
code to scan (https://waha.devlike.pro/docs/how-to/sessions/):

- `GET /api/sessions/{session}` → `{"name", "status", "me": {"id", "pushName"} | null, …}`; status is one of
  STOPPED, STARTING, SCAN_QR_CODE, WORKING, FAILED;
- `GET /api/{session}/auth/qr?format=raw` → `{"value": "…"}` (the text to draw as a QR code); without `format=raw`
  the bridge answers a PNG image (or `{"mimetype": "image/png", "data": base64}` to `Accept: application/json`).
  It answers 422 unless the session is in SCAN_QR_CODE.

The server asks the bridge through the safe fetcher, like any URL it fetches: the bridge's URL passes the address
rules (a bridge on a private or loopback address is refused unless its host is in XSENDER_FETCH_ALLOWED_HOSTS — an
operator's own bridge; a tenant's bridge must be public), a short deadline, a size cap, and no redirect followed
(the request carries the bridge's API key). What goes wrong is a state shown to the tenant, never an exception.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from xsender.fetch import FetchedFile, FetchError, safe_fetch

TIMEOUT = 5.0  # seconds for the whole call: the page waits for it
MAX_BYTES = 512 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
STATES = {
    "STOPPED": "Stopped: start the session on the bridge.",
    "STARTING": "Starting: the bridge is opening WhatsApp Web.",
    "SCAN_QR_CODE": "Waiting to be linked: scan the QR code with WhatsApp (Linked devices → Link a device).",
    "WORKING": "Linked and working.",
    "FAILED": "Failed: restart the session on the bridge; if that does not help, log out and link it again.",
}
UNREACHABLE = "UNREACHABLE"


@dataclass(frozen=True)
class BridgeSession:
    state: str  # WAHA's status, UNREACHABLE, or UNKNOWN for a status this version does not know
    detail: str  # in words, safe to show (never the bridge's address nor its key)
    account: str = ""  # who is linked, while WORKING: "Office (15550009999@c.us)"

    @property
    def needs_qr(self) -> bool:
        return self.state == "SCAN_QR_CODE"


@dataclass(frozen=True)
class BridgeQr:
    """The bridge's QR code: the text to draw (`raw`), or its own PNG image (`png`)."""

    raw: str = ""
    png: bytes = b""


def _get(base_url: str, path: str, config: dict[str, Any], accept: str = "application/json") -> FetchedFile:
    headers = {"Accept": accept}
    if config.get("api_key"):
        headers["X-Api-Key"] = str(config["api_key"])
    return safe_fetch(base_url + path, max_bytes=MAX_BYTES, timeout=TIMEOUT, headers=headers)


def _session(config: dict[str, Any]) -> str:
    return quote(str(config.get("session") or "default"), safe="")  # a name, never a path


def _json(fetched: FetchedFile) -> dict[str, Any]:
    try:
        body = json.loads(fetched.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _refused(exc: FetchError) -> BridgeSession:
    if exc.status in (401, 403):
        return BridgeSession(UNREACHABLE, "The bridge refused the API key: enter the right one in the gateway.")
    if exc.status == 404:
        return BridgeSession(UNREACHABLE, "The bridge has no session of this name: create it there, or fix the name.")
    return BridgeSession(UNREACHABLE, f"The bridge did not answer: {exc.message}")


def session_status(base_url: str, config: dict[str, Any]) -> BridgeSession:
    """The session's state on the bridge (one GET). Never raises."""
    try:
        body = _json(_get(base_url, f"/api/sessions/{_session(config)}", config))
    except FetchError as exc:
        return _refused(exc)
    state = str(body.get("status") or "")
    if state not in STATES:
        return BridgeSession("UNKNOWN", "The bridge answered without a session state this version knows.")
    me = body.get("me") if isinstance(body.get("me"), dict) else {}
    account = " ".join(filter(None, [str(me.get("pushName") or ""), f"({me['id']})" if me.get("id") else ""]))
    return BridgeSession(state, STATES[state], account if state == "WORKING" else "")


def qr_code(base_url: str, config: dict[str, Any]) -> BridgeQr | None:
    """The QR code to link the session, when the bridge offers one (only while the session waits to be linked);
    None otherwise. Never raises."""
    try:
        fetched = _get(base_url, f"/api/{_session(config)}/auth/qr?format=raw", config)
    except FetchError:
        return None
    if fetched.content.startswith(PNG_SIGNATURE):  # a bridge that ignores format=raw answers the image
        return BridgeQr(png=fetched.content)
    body = _json(fetched)
    if isinstance(body.get("value"), str) and 0 < len(body["value"]) <= 2000:
        return BridgeQr(raw=body["value"])
    data = body.get("data")
    if isinstance(data, str):
        try:
            image = base64.b64decode(data, validate=True)
        except ValueError:
            return None
        return BridgeQr(png=image) if image.startswith(PNG_SIGNATURE) else None
    return None
