"""The XSender messaging endpoints: `/api/{email,sms,whatsapp}/send` (POST and GET) and `/api/get/{channel}/{uid}`."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response

from messaging.idempotency import Outcome, fingerprint, run_idempotent
from messaging.models import Message
from messaging.schema import send_schema, status_schema
from messaging.selectors import get_message, message_detail
from messaging.services import accept_messages
from xsender.api import XSenderAPIView, envelope
from xsender.errors import ValidationFailed

ACCEPTED = {
    "email": "New Email Request Sent, Please Check The Email History For Final Status",
    "sms": "New SMS Request Sent, Please Check The SMS History For Final Status",
    "whatsapp": "New WhatsApp Request Sent, Please Check The WhatsApp History For Final Status",
}
RECIPIENT_KEY = {"email": "email", "sms": "number", "whatsapp": "number"}
GET_FIELDS = {
    "email": ("email", "subject", "message", "sender_name", "gateway_identifier", "schedule_at"),
    "sms": ("number", "body", "sms_type", "gateway_identifier", "schedule_at"),
    "whatsapp": ("number", "message", "media", "url", "session_name", "schedule_at"),
}


def created_at(value: Any) -> str:
    """`2026-05-23 12:00 PM` in the server's time zone, as the spec shows it."""
    return timezone.localtime(value).strftime("%Y-%m-%d %I:%M %p")


def accepted_outcome(channel: str, messages: list[Message]) -> Outcome:
    key = RECIPIENT_KEY[channel]
    shown = {m.created_at: created_at(m.created_at) for m in messages}  # one request: one or a few instants
    data = [
        {"uid": str(m.uid), key: m.recipient, "status": m.status, "created_at": shown[m.created_at]} for m in messages
    ]
    return Outcome(200, envelope(ACCEPTED[channel], data))


def _query_item(channel: str, params: Any) -> dict[str, Any]:
    item = {name: params[name] for name in GET_FIELDS[channel] if name in params}
    # In a query string "+" decodes to a space: "?number=+1555…" arrives as " 1555…".
    if isinstance(item.get("number"), str) and item["number"].startswith(" "):
        item["number"] = "+" + item["number"].lstrip()
    return item


class SendView(XSenderAPIView):
    channel = ""

    def post(self, request: Request) -> Response:
        data = request.data
        contact = data.get("contact") if isinstance(data, dict) else None
        if contact is None:
            raise ValidationFailed.single("contact", "The contact field is required: a list of recipients.")
        return self._send(request, contact)

    def get(self, request: Request) -> Response:
        return self._send(request, [_query_item(self.channel, request.query_params)])

    def _send(self, request: Request, contact: Any) -> Response:
        def action() -> Outcome:
            messages = accept_messages(principal=request.user, channel=self.channel, items=contact, idempotency_key=key)
            return accepted_outcome(self.channel, messages)

        key = request.headers.get("Idempotency-Key", "")
        if not key:
            outcome = action()
        else:
            digest = fingerprint(request.method, request.path, contact)
            rebuild = lambda messages: accepted_outcome(self.channel, messages)  # noqa: E731
            outcome = run_idempotent(user=request.user, key=key, digest=digest, action=action, rebuild=rebuild)
        response = Response(outcome.body, status=outcome.status_code)
        if outcome.replayed:
            response["Idempotent-Replayed"] = "true"
        return response


@extend_schema_view(post=send_schema("email", "post"), get=send_schema("email", "get"))
class EmailSendView(SendView):
    channel = "email"


@extend_schema_view(post=send_schema("sms", "post"), get=send_schema("sms", "get"))
class SmsSendView(SendView):
    channel = "sms"


@extend_schema_view(post=send_schema("whatsapp", "post"), get=send_schema("whatsapp", "get"))
class WhatsAppSendView(SendView):
    channel = "whatsapp"


class StatusView(XSenderAPIView):
    @status_schema
    def get(self, request: Request, channel: str, uid: str) -> Response:
        message = get_message(user=request.user, channel=channel, uid=uid)
        return Response(envelope("Dispatch record", message_detail(message)))
