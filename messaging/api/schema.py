"""OpenAPI descriptions of the XSender messaging endpoints (documentation only: the wire is parsed in wire.py and
checked by messaging.validation, whose limits are shown here)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from messaging.validation import LIMITS, SMS_TYPES, WHATSAPP_MEDIA


class Attachment(serializers.Serializer):
    type = serializers.ChoiceField(choices=["image", "file"])
    url = serializers.URLField()


class EmailItem(serializers.Serializer):
    email = serializers.EmailField()
    subject = serializers.CharField(max_length=LIMITS["subject"])
    message = serializers.CharField(max_length=LIMITS["email_body"])
    sender_name = serializers.CharField(required=False, max_length=LIMITS["sender_name"])
    gateway_identifier = serializers.CharField(required=False)
    schedule_at = serializers.CharField(required=False, help_text="Y-m-d H:i:s in the server's time zone.")
    attachments = Attachment(many=True, required=False)


class SmsItem(serializers.Serializer):
    number = serializers.CharField(help_text="International format, e.g. +15555550123.")
    body = serializers.CharField(max_length=LIMITS["sms_body"])
    sms_type = serializers.ChoiceField(choices=list(SMS_TYPES), required=False)
    gateway_identifier = serializers.CharField(required=False, help_text='"android" names your phone pool.')
    schedule_at = serializers.CharField(required=False)


class WhatsAppItem(serializers.Serializer):
    number = serializers.CharField()
    message = serializers.CharField(required=False, max_length=LIMITS["wa_body"])
    media = serializers.ChoiceField(choices=list(WHATSAPP_MEDIA), required=False)
    url = serializers.URLField(required=False)
    session_name = serializers.CharField(required=False)
    schedule_at = serializers.CharField(required=False)


class Accepted(serializers.Serializer):
    uid = serializers.UUIDField()
    email = serializers.EmailField(required=False)
    number = serializers.CharField(required=False)
    status = serializers.CharField()
    created_at = serializers.CharField(help_text='e.g. "2026-05-23 12:00 PM"')


class AcceptedEnvelope(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    data = Accepted(many=True)


class ErrorEnvelope(serializers.Serializer):
    success = serializers.BooleanField(default=False)
    message = serializers.CharField()
    data = serializers.ListField(default=list)
    errors = serializers.ListField(child=serializers.DictField(), required=False)


class RecordEnvelope(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    data = serializers.DictField()


ERRORS = {
    code: OpenApiResponse(ErrorEnvelope, description=text)
    for code, text in {
        400: "Validation error: read errors[]",
        401: "Missing / invalid Api-key",
        402: "Plan limit exhausted",
        404: "Gateway / session not found",
        409: "Idempotency-Key still in flight",
        422: "Business-rule rejection (suppression, opt-out, Idempotency-Key reuse)",
        429: "Throttled: honour Retry-After",
    }.items()
}
IDEMPOTENCY = OpenApiParameter("Idempotency-Key", location="header", required=False, description="Makes a retry safe.")
ITEMS = {"email": EmailItem, "sms": SmsItem, "whatsapp": WhatsAppItem}


def send_schema(channel: str, method: str):  # noqa: ANN201 — a decorator
    item = ITEMS[channel]
    responses = {200: AcceptedEnvelope, **ERRORS}
    if method == "post":
        body = type(f"{channel.title()}SendRequest", (serializers.Serializer,), {"contact": item(many=True)})
        return extend_schema(request=body, responses=responses, parameters=[IDEMPOTENCY], tags=[channel])
    query = [OpenApiParameter(name, location="query", required=False) for name in item().fields]
    return extend_schema(parameters=[IDEMPOTENCY, *query], responses=responses, tags=[channel])


status_schema = extend_schema(responses={200: RecordEnvelope, 401: ERRORS[401], 404: ERRORS[404]}, tags=["status"])
