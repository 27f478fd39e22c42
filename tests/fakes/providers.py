"""Request handlers that answer in each provider's documented wire format (for tests/fakes/http.FakeServer).

Each factory takes `failures`: {recipient: (http status, provider error code)} to answer with an error.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Callable
from urllib.parse import unquote

from tests.fakes.http import Reply, Request

_ids = itertools.count(1)


def twilio(failures: dict[str, tuple[int, int]] | None = None, token: str = "") -> Callable[[Request], Reply]:
    """Twilio REST: POST /2010-04-01/Accounts/{sid}/Messages.json, form-encoded, HTTP Basic (sid:token)."""
    failures = failures or {}

    def handle(request: Request) -> Reply:
        parts = request.path.split("/")
        if request.method != "POST" or len(parts) != 5 or parts[4] != "Messages.json":
            return Reply(404, {"code": 20404, "message": "The requested resource was not found", "status": 404})
        user, _, password = base64.b64decode(request.headers.get("authorization", "Basic ")[6:]).decode().partition(":")
        if user != parts[3] or (token and password != token):
            return Reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
        to = request.body.get("To", "")
        if to in failures:
            status, code = failures[to]
            return Reply(
                status,
                {
                    "code": code,
                    "message": f"Error {code} for {to}",
                    "more_info": f"https://www.twilio.com/docs/errors/{code}",
                    "status": status,
                },
            )
        sid = f"SM{next(_ids):032x}"
        sender = request.body.get("From") or None
        return Reply(201, {
            "sid": sid, "account_sid": parts[3], "to": to, "from": sender, "body": request.body.get("Body"),
            "status": "queued", "num_segments": "1", "direction": "outbound-api", "api_version": "2010-04-01",
            "messaging_service_sid": request.body.get("MessagingServiceSid"), "error_code": None, "error_message": None,
            "date_created": "Sun, 22 Nov 2026 12:00:00 +0000", "date_updated": "Sun, 22 Nov 2026 12:00:00 +0000",
            "date_sent": None, "price": None, "price_unit": "USD", "num_media": "0", "uri": f"/2010-04-01/Accounts/{parts[3]}/Messages/{sid}.json",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{parts[3]}/Messages/{sid}/Media.json"},
        })  # fmt: skip

    return handle


def graph(failures: dict[str, tuple[int, int]] | None = None, token: str = "") -> Callable[[Request], Reply]:
    """Meta Graph: POST /{version}/{phone_number_id}/messages with a Bearer token, JSON."""
    failures = failures or {}

    def handle(request: Request) -> Reply:
        if request.method != "POST" or not request.path.endswith("/messages"):
            return Reply(
                400, {"error": {"message": "Unsupported request", "type": "GraphMethodException", "code": 100}}
            )
        if token and request.headers.get("authorization") != f"Bearer {token}":
            return Reply(
                401,
                {
                    "error": {
                        "message": "Invalid OAuth access token.",
                        "type": "OAuthException",
                        "code": 190,
                        "fbtrace_id": "A1",
                    }
                },
            )
        to = request.body.get("to", "")
        if to in failures:
            status, code = failures[to]
            return Reply(
                status,
                {"error": {"message": f"Error {code}", "type": "OAuthException", "code": code, "fbtrace_id": "A2"}},
            )
        wamid = f"wamid.HBgL{next(_ids):020d}"
        return Reply(
            200,
            {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}], "messages": [{"id": wamid}]},
        )

    return handle


def waha(
    failures: dict[str, int] | None = None, api_key: str = "", status: str = "WORKING", qr: str = "2@xsender-fake-qr"
) -> Callable[[Request], Reply]:
    """WAHA: POST /api/sendText, /api/sendImage, /api/sendFile, /api/sendVideo, /api/sendVoice (JSON); and the session
    as the panel reads it: GET /api/sessions/{session} and GET /api/{session}/auth/qr (a PNG, `{"mimetype",
    "data"}` to Accept: application/json, `{"value"}` with ?format=raw; 422 unless the session waits for a scan).
    The session's state is `handle.session["status"]` (change it to move the session)."""
    failures = failures or {}
    paths = {"/api/sendText", "/api/sendImage", "/api/sendFile", "/api/sendVideo", "/api/sendVoice"}
    session = {"status": status}

    def handle(request: Request) -> Reply:
        if api_key and request.headers.get("x-api-key") != api_key:
            return Reply(401, {"statusCode": 401, "message": "Unauthorized"})
        if request.method == "GET":
            return _waha_session(request, session["status"], qr)
        if request.method != "POST" or request.path not in paths:
            return Reply(404, {"statusCode": 404, "message": "Cannot POST " + request.path, "error": "Not Found"})
        chat = request.body.get("chatId", "")
        if chat in failures:
            return Reply(
                failures[chat],
                {
                    "statusCode": failures[chat],
                    "message": "Session status is not as expected",
                    "error": "Unprocessable Entity",
                },
            )
        identifier = f"true_{chat}_{next(_ids):020X}"
        return Reply(
            201,
            {
                "id": identifier,
                "timestamp": 1795000000,
                "from": "15550009999@c.us",
                "to": chat,
                "fromMe": True,
                "ack": 1,
            },
        )

    handle.session = session  # type: ignore[attr-defined]
    return handle


# A 1×1 PNG: what the bridge's QR endpoint answers by default (an image), here the smallest valid one.
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="
)


def _waha_session(request: Request, status: str, qr: str) -> Reply:
    parts = [unquote(p) for p in request.path.split("/")]
    if len(parts) == 4 and parts[:3] == ["", "api", "sessions"]:
        me = {"id": "15550009999@c.us", "pushName": "Office phone"} if status == "WORKING" else None
        return Reply(200, {"name": parts[3], "status": status, "config": {}, "me": me, "engine": {"engine": "WEBJS"}})
    if len(parts) == 5 and parts[1] == "api" and parts[3:] == ["auth", "qr"]:
        if status != "SCAN_QR_CODE":
            return Reply(422, {"statusCode": 422, "message": f"Session status is not as expected: {status}"})
        if request.query.get("format") == ["raw"]:
            return Reply(200, {"value": qr})
        if request.headers.get("accept") == "application/json":
            return Reply(200, {"mimetype": "image/png", "data": base64.b64encode(TINY_PNG).decode()})
        return Reply(200, TINY_PNG, headers={"Content-Type": "image/png"})
    return Reply(404, {"statusCode": 404, "message": "Cannot GET " + request.path, "error": "Not Found"})


HANDLERS: dict[str, Callable[[], Callable[[Request], Reply]]] = {"twilio": twilio, "graph": graph, "waha": waha}


def postmark(failures: dict[str, tuple[int, int]] | None = None, token: str = "") -> Callable[[Request], Reply]:
    """Postmark: POST /email (JSON, X-Postmark-Server-Token) → {"MessageID", "ErrorCode": 0, ...}."""
    failures = failures or {}

    def handle(request: Request) -> Reply:
        if request.method != "POST" or request.path != "/email":
            return Reply(404, {"ErrorCode": 404, "Message": "Not found"})
        if token and request.headers.get("x-postmark-server-token") != token:
            return Reply(
                401,
                {
                    "ErrorCode": 10,
                    "Message": "The Server Token you provided in the X-Postmark-Server-Token request header was invalid.",
                },
            )
        to = request.body.get("To", "")
        if to in failures:
            status, code = failures[to]
            text = f"Error {code} for {to}"
            if code == 406:  # Postmark's own wording, which clients parse for the addresses
                text = f"You tried to send to recipient(s) that have been marked as inactive. Found inactive addresses: {to}. Inactive recipients are ones that have generated a hard bounce or a spam complaint."
            return Reply(status, {"ErrorCode": code, "Message": text, "To": to})
        message_id = f"{next(_ids):08d}-0000-4000-8000-000000000000"
        return Reply(
            200,
            {
                "To": to,
                "SubmittedAt": "2026-11-22T12:00:00.0000000Z",
                "MessageID": message_id,
                "ErrorCode": 0,
                "Message": "OK",
            },
        )

    return handle


HANDLERS["postmark"] = postmark
