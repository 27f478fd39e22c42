"""OpenAPI descriptions of the XSender messaging endpoints (documentation only: the wire is parsed in wire.py and
checked by messaging.validation, whose limits and choices are read from there).

Request items are written as JSON Schema directly: a `contact` item has rules a serializer cannot say (a
WhatsApp item needs `message`, or `media` with `url`). tests/xsender/test_openapi.py runs schemathesis
against the served schema, valid and invalid requests alike.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers

from messaging.api.wire import CONTENT_FIELDS, MAX_TEMPLATE_DATA, RECIPIENT_KEY
from messaging.models import Status
from messaging.references import RECIPIENT_REFERENCES
from messaging.validation import ATTACHMENT_TYPES, LIMITS, MAX_ATTACHMENTS, MAX_GATEWAY, SMS_TYPES, WHATSAPP_MEDIA
from xsender.openapi import (
    BODY_STATUSES,
    NO_BREAKS,
    NO_NUL,
    NOT_BLANK,
    RATE_LIMIT_HEADERS,
    RETRY_AFTER,
    JsonSchemaSerializer,
    envelope,
    error_responses,
    header,
)

D = "[0-9]"
_YEAR = f"(?:[1-9]{D}{{3}}|0[1-9]{D}{{2}}|00[1-9]{D}|000[1-9])"
_LEAP_YEAR = f"(?:{D}{{2}}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_DATE = (
    f"(?:{_YEAR}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]{D}|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]{D}|30)"
    f"|02-(?:0[1-9]|1{D}|2[0-8]))|{_LEAP_YEAR}-02-29)"
)
# `Y-m-d H:i:s`, a date that exists; empty = now.
SCHEDULE_PATTERN = f"^(?:{_DATE} (?:[01]{D}|2[0-3]):[0-5]{D}:[0-5]{D})?$"
URL_PATTERN = r"^https?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?(?:[/?#][^\s]*)?$"


def text(limit: int, description: str, *, required: bool = False, header_bound: bool = False) -> dict[str, Any]:
    """A text field: `required` ones must not be empty; header-bound ones refuse line breaks."""
    schema: dict[str, Any] = {"type": "string", "maxLength": limit, **(NO_BREAKS if header_bound else NO_NUL)}
    if required:
        schema["minLength"] = 1
    return {**schema, "description": description}


def optional(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional item field: null and "" are read as absent."""
    return {**schema, "nullable": True}


def choice(values: tuple[str, ...], description: str) -> dict[str, Any]:
    return {"type": "string", "enum": ["", *values], "nullable": True, "description": description}


EMAIL = {
    "type": "string",
    "format": "email",
    "maxLength": 254,
    # Django's address check on top of the format: a top-level domain of two characters or more, or localhost, or
    # an address literal.
    "pattern": r"^[^\r\n\x00@]+@(?:localhost|\[[^\]]+\]|[^\r\n\x00@]+\.[^\r\n\x00@.]{2,})$",
    "description": "Recipient address; stored lower-case with an ASCII (IDNA) domain.",
}
# A custom format: the API reads any number phonenumbers can parse with its country code and that has a possible
# length for that country, and answers it in E.164.
NUMBER = {
    "type": "string",
    "format": "phone",
    "minLength": 1,
    "maxLength": 32,
    "description": "Recipient phone number in international format, e.g. +15555550123 (answered in E.164).",
}
SCHEDULE = {
    "type": "string",
    "pattern": SCHEDULE_PATTERN,
    "nullable": True,
    "description": "Send later: `Y-m-d H:i:s` in the server's time zone (a time with no UTC instant, such as "
    "0001-01-01 00:00:00 east of UTC, is a 400). Empty or past: send now.",
}
GATEWAY = text(MAX_GATEWAY, "A gateway's identifier; empty: the default gateway.", header_bound=True)
URL = {
    "type": "string",
    "minLength": 1,
    "maxLength": LIMITS["url"],
    "pattern": URL_PATTERN,
    "description": "An http(s) URL the server (or the provider) fetches.",
}
ATTACHMENT = {
    "type": "object",
    "required": ["type", "url"],
    "properties": {"type": {"type": "string", "enum": list(ATTACHMENT_TYPES)}, "url": URL},
}

EMAIL_ITEM = {
    "type": "object",
    "required": ["email", "subject", "message"],
    "properties": {
        "email": EMAIL,
        "subject": text(LIMITS["subject"], "Subject line.", required=True, header_bound=True),
        "message": text(LIMITS["email_body"], "The body (HTML or text).", required=True),
        "sender_name": optional(
            text(LIMITS["sender_name"], "Display name before the from address.", header_bound=True)
        ),
        "reply_to": optional(
            {
                "anyOf": [{**EMAIL, "description": "An address."}, {"type": "string", "maxLength": 0}],
                "description": "Where replies go (a Reply-To header), stored like the recipient; empty: no Reply-To.",
            }
        ),
        "gateway_identifier": optional(GATEWAY),
        "schedule_at": SCHEDULE,
        "attachments": {
            "type": "array",
            "items": ATTACHMENT,
            "maxItems": MAX_ATTACHMENTS,
            "nullable": True,
            "description": "Files the server fetches at send time through its address rules.",
        },
    },
}
SMS_ITEM = {
    "type": "object",
    "required": ["number", "body"],
    "properties": {
        "number": NUMBER,
        "body": text(LIMITS["sms_body"], "The text; its length decides the segments charged.", required=True),
        "sms_type": choice(SMS_TYPES, "Empty: plain. otp goes first in every queue."),
        "gateway_identifier": optional({**GATEWAY, "description": '"android" names your phone pool; empty: default.'}),
        "schedule_at": SCHEDULE,
    },
}
WHATSAPP_ITEM = {
    "type": "object",
    "required": ["number"],
    "properties": {
        "number": NUMBER,
        "message": optional(text(LIMITS["wa_body"], "The text, or the caption of media.")),
        "media": choice(WHATSAPP_MEDIA, "Send media by link: needs `url`."),
        "url": {
            "type": "string",
            "nullable": True,
            "description": "With media: its http(s) URL. Read only with media.",
        },
        "session_name": optional(
            text(MAX_GATEWAY, "A WhatsApp gateway's identifier; empty: default.", header_bound=True)
        ),
        "schedule_at": SCHEDULE,
    },
    # Text needs `message`; media needs `url` (and takes `message` as its caption). `url` is read only with media.
    # (Patterns rather than enums here: the schema generator merges enums of one property name.)
    "anyOf": [
        {
            "required": ["message"],
            "properties": {
                "message": {"type": "string", "minLength": 1},
                "media": {"type": "string", "maxLength": 0, "nullable": True},
            },
        },
        {"required": ["media", "url"], "properties": {"media": {"type": "string", "minLength": 1}, "url": URL}},
    ],
}
ITEMS = {"email": EMAIL_ITEM, "sms": SMS_ITEM, "whatsapp": WHATSAPP_ITEM}
NAME = {"type": "string", "minLength": 1, "maxLength": 255, "allOf": [{"pattern": NOT_BLANK}, NO_NUL]}
REFERENCES = {
    "template": {
        **NAME,
        "description": "A template of this channel, by id (template_…) or name: it gives the content (email: subject, "
        "HTML and text, sender name and reply-to unless the entry gives them; SMS and WhatsApp: the text, or a "
        "WhatsApp Cloud approved template), rendered for the recipient. Instead of the content fields.",
    },
    "template_data": {
        "type": "object",
        "maxProperties": MAX_TEMPLATE_DATA,
        "additionalProperties": {
            "anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}],
            "nullable": True,
        },
        "description": "With a template: values for its placeholders. first_name, last_name, company, email and phone "
        "replace the contact's own; any other name fills {{ custom.<name> }}.",
    },  # fmt: skip
    "contact_id": {
        "type": "string",
        "pattern": "^contact_[A-Za-z0-9]{22}$",
        "description": "Instead of the address: one of your contacts (it must have the channel's address and be "
        "subscribed there; its data fills the template).",
    },
    "list_id": {
        "type": "string",
        "pattern": "^list_[A-Za-z0-9]{22}$",
        "description": "Instead of the address: every member of one of your lists that has the channel's address and "
        "is subscribed there (one message each).",
    },
    "tag": {
        **NAME,
        "description": "Instead of the address: every contact with this tag (name or tag_… id), as list_id.",
    },
}


def _post_item(channel: str) -> dict[str, Any]:
    """A POST `contact` item: the recipient by address, contact_id, list_id or tag (exactly one); the content as
    fields or by template (not both)."""
    literal = ITEMS[channel]
    address = RECIPIENT_KEY[channel]
    recipient = [{"required": [name]} for name in (address, *RECIPIENT_REFERENCES)]
    fields = {"required": [f for f in literal["required"] if f != address]}
    fields.update({"anyOf": literal["anyOf"]} if "anyOf" in literal else {})
    fields["not"] = {"anyOf": [{"required": ["template"]}, {"required": ["template_data"]}]}
    templated = {
        "required": ["template"],
        "not": {"anyOf": [{"required": [name]} for name in CONTENT_FIELDS[channel]]},
    }
    return {
        "type": "object",
        "properties": {**literal["properties"], **REFERENCES},
        "allOf": [{"oneOf": recipient}, {"oneOf": [fields, templated]}],
    }


def _send_request(channel: str) -> type[JsonSchemaSerializer]:
    item = type(f"{channel.title()}Item", (JsonSchemaSerializer,), {"json_schema": _post_item(channel)})
    contact = {
        "type": "array",
        "items": item,
        "minItems": 1,
        "maxItems": settings.XSENDER_MAX_RECIPIENTS,
        "description": "One object per recipient. All are accepted, or none is (and nothing is charged).",
    }
    body = {"type": "object", "required": ["contact"], "properties": {"contact": contact}}
    return type(f"{channel.title()}SendRequest", (JsonSchemaSerializer,), {"json_schema": body})


@extend_schema_field({"type": "string", "enum": [Status.PENDING, Status.SCHEDULED]})
class AcceptedStatus(serializers.CharField):
    pass


class Accepted(serializers.Serializer):
    uid = serializers.UUIDField(help_text="Ask GET /api/get/{channel}/{uid} for its delivery state.")
    email = serializers.EmailField(required=False, help_text="Email sends.")
    number = serializers.CharField(required=False, help_text="SMS and WhatsApp sends, in E.164.")
    status = AcceptedStatus()
    created_at = serializers.CharField(help_text='Server time zone, e.g. "2026-05-23 12:00 PM".')


IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "maxLength": 255},
    location=OpenApiParameter.HEADER,
    required=False,
    description="1 to 255 characters: the same request with the same key within 24 hours replays the first "
    "answer (Idempotent-Replayed: true) and sends and charges nothing.",
)
REPLAYED = header("Idempotent-Replayed", OpenApiTypes.STR, '"true" when the answer is a replay.', [200])
SEND_TEXTS = {
    400: "Validation error: `errors[]` names each bad field (`contact.2.number`); also a malformed JSON body, an "
    "Idempotency-Key over 255 characters or an invalid Content-Length header.",
    404: "Unknown gateway_identifier / session_name (or one not visible to the key), or no default gateway; an "
    "unknown template, contact_id, list_id or tag.",
    422: "A recipient is on the suppression list, a contact named by contact_id cannot be sent to (no address on "
    "the channel, not subscribed), a list or tag has no such contact, or the Idempotency-Key was used with another "
    "request.",
}
SEND_DESCRIPTION = {
    "post": "Sends to every recipient of `contact`, through the named gateway or the default one.",
    "get": "The GET form: one recipient, its fields in the query string (for simple clients; the key still goes "
    "in the Api-key header). Behind gunicorn the request line is limited to 4094 bytes.",
}


def _query(channel: str) -> list[OpenApiParameter]:
    """The GET form's parameters: the item's fields, minus attachments (a query string cannot carry them).

    A query string cannot say "message, or media with url": the GET form documents text messages (`message`
    required) and takes `media` with `url` too."""
    item = ITEMS[channel]
    required = set(item["required"]) | ({"message"} if channel == "whatsapp" else set())
    params = []
    for name, field in item["properties"].items():
        if name == "attachments":
            continue
        schema = {k: v for k, v in field.items() if k not in ("nullable", "description")}
        if name in required:
            schema["minLength"] = 1
        params.append(OpenApiParameter(name, schema, OpenApiParameter.QUERY, required=name in required,
                                       description=field.get("description", "")))  # fmt: skip
    return params


@cache
def _accepted(channel: str) -> type[serializers.Serializer]:
    return envelope(f"{channel.title()}Accepted", Accepted(many=True))


@cache
def _request(channel: str) -> type[JsonSchemaSerializer]:
    return _send_request(channel)


def send_schema(channel: str, method: str):  # noqa: ANN201 — a decorator
    responses: dict[int, Any] = {200: _accepted(channel)}
    body = BODY_STATUSES if method == "post" else ()
    responses.update(error_responses(401, 402, 404, 409, 422, 429, *body, texts=SEND_TEXTS))
    headers = [IDEMPOTENCY, REPLAYED, RETRY_AFTER, *RATE_LIMIT_HEADERS]
    common = {"responses": responses, "tags": [channel], "description": SEND_DESCRIPTION[method]}
    if method == "post":
        return extend_schema(request=_request(channel), parameters=headers, summary=f"Send {channel}", **common)
    return extend_schema(parameters=[*headers, *_query(channel)], summary=f"Send one {channel} (GET)", **common)


# ---------------------------------------------------------------- status


class Event(serializers.Serializer):
    event = serializers.CharField(help_text="retry, failed, cancelled, a device report, a tracking event …")
    at = serializers.CharField(allow_null=True, help_text="Y-m-d H:i:s, server time zone.")
    data = serializers.JSONField()


@extend_schema_field({"type": "string", "enum": list(Status.values)})
class StatusName(serializers.CharField):
    pass


def _stamp() -> serializers.CharField:
    return serializers.CharField(allow_null=True, help_text="Y-m-d H:i:s in the server time zone, or null.")


class DispatchRecord(serializers.Serializer):
    uid = serializers.UUIDField()
    channel = serializers.ChoiceField(choices=["email", "sms", "whatsapp"])
    email = serializers.EmailField(required=False, help_text="Email.")
    number = serializers.CharField(required=False, help_text="SMS and WhatsApp.")
    status = StatusName()
    gateway_identifier = serializers.CharField(allow_null=True)
    gateway_response = serializers.JSONField(allow_null=True, help_text="The provider's answer, as recorded.")
    provider_message_id = serializers.CharField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    attempts = serializers.IntegerField(min_value=0)
    cost = serializers.IntegerField(min_value=0)
    by_admin = serializers.BooleanField()
    subject = serializers.CharField(required=False, help_text="Email.")
    sender_name = serializers.CharField(required=False, allow_blank=True, help_text="Email.")
    reply_to = serializers.CharField(required=False, allow_null=True, help_text="Email.")
    from_email = serializers.CharField(
        required=False, allow_null=True, help_text="Email: a campaign's verified sender address; null: the gateway's."
    )
    attachments = serializers.JSONField(required=False, help_text="Email: [{type, url}].")
    body = serializers.CharField(required=False, allow_blank=True, help_text="SMS.")
    sms_type = serializers.CharField(required=False, help_text="SMS.")
    message = serializers.CharField(required=False, allow_blank=True, allow_null=True, help_text="WhatsApp.")
    media = serializers.CharField(required=False, allow_null=True, help_text="WhatsApp.")
    url = serializers.CharField(required=False, allow_null=True, help_text="WhatsApp.")
    template = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text="WhatsApp: the approved template sent ({name, language, components}).",
    )
    created_at = _stamp()
    schedule_at = _stamp()
    queued_at = _stamp()
    processing_at = _stamp()
    sent_at = _stamp()
    delivered_at = _stamp()
    opened_at = _stamp()
    clicked_at = _stamp()
    failed_at = _stamp()
    updated_at = _stamp()
    events = Event(many=True)


status_schema = extend_schema(
    summary="A message's delivery state",
    description="The dispatch record of one message of the key's owner. Another tenant's uid, or a uid of another "
    "channel, is a 404.",
    parameters=[
        OpenApiParameter("channel", OpenApiTypes.STR, OpenApiParameter.PATH, enum=["email", "sms", "whatsapp"]),
        OpenApiParameter("uid", OpenApiTypes.UUID, OpenApiParameter.PATH),
        RETRY_AFTER,
        *RATE_LIMIT_HEADERS,
    ],
    responses={
        200: envelope("DispatchRecordEnvelope", DispatchRecord()),
        **error_responses(401, 404, 429, texts={404: "No message of yours with this uid on this channel."}),
    },
    tags=["status"],
)
