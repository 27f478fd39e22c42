"""The XSender messaging endpoints: `/api/{email,sms,whatsapp}/send` (POST and GET) and `/api/get/{channel}/{uid}`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response

from messaging.api import wire
from messaging.api.schema import send_schema, status_schema
from messaging.idempotency import Outcome, fingerprint, run_idempotent
from messaging.models import Message
from messaging.references import expand
from messaging.selectors import get_message
from messaging.services import accept_messages
from xsender.api import XSenderAPIView, envelope
from xsender.errors import DomainError, ValidationFailed

ACCEPTED = {
    "email": "New Email Request Sent, Please Check The Email History For Final Status",
    "sms": "New SMS Request Sent, Please Check The SMS History For Final Status",
    "whatsapp": "New WhatsApp Request Sent, Please Check The WhatsApp History For Final Status",
}


def accepted_outcome(channel: str, messages: list[Message]) -> Outcome:
    return Outcome(200, envelope(ACCEPTED[channel], wire.accepted(channel, messages)))


class SendView(XSenderAPIView):
    channel = ""

    def post(self, request: Request) -> Response:
        data = request.data
        contact = data.get("contact") if isinstance(data, dict) else None
        if contact is None:
            raise ValidationFailed.single("contact", "The contact field is required: a list of recipients.")
        return self._send(request, contact)

    def get(self, request: Request) -> Response:
        return self._send(request, wire.query_contact(self.channel, request.query_params))

    def _accept(self, request: Request, contact: Any, key: str) -> Outcome:
        entries = wire.parse_contacts(self.channel, contact)
        try:
            items, origins = expand(
                principal=request.user, channel=self.channel, entries=entries,
                max_items=settings.XSENDER_MAX_RECIPIENTS,
            )  # fmt: skip
        except DomainError as exc:
            raise wire.named(self.channel, exc) from None
        try:
            messages = accept_messages(principal=request.user, channel=self.channel, items=items, idempotency_key=key)
        except DomainError as exc:
            raise wire.named(self.channel, wire.from_entries(exc, origins)) from None
        return accepted_outcome(self.channel, messages)

    def _send(self, request: Request, contact: Any) -> Response:
        key = request.headers.get("Idempotency-Key", "")
        if not key:
            outcome = self._accept(request, contact, key)
        else:
            outcome = run_idempotent(
                user=request.user,
                key=key,
                digest=fingerprint(request.method, request.path, contact),
                action=lambda: self._accept(request, contact, key),
                rebuild=lambda messages: accepted_outcome(self.channel, messages),
            )
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
        return Response(envelope("Dispatch record", wire.dispatch_record(message)))
