"""OpenAPI descriptions of the Android device API (documentation only: devices.api parses and answers)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers

from xsender.openapi import BODY_STATUSES, NO_NUL, NOT_BLANK, RETRY_AFTER, EmptyEnvelope, envelope, error_responses


class Text(serializers.CharField):
    """DRF's CharField, documented as DRF reads it (TextScheme): no behaviour of its own."""


class TextScheme(OpenApiSerializerFieldExtension):
    target_class = "devices.schema.Text"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        field = self.target
        # DRF's CharField refuses NUL and, unless blank is allowed, text that is empty once trimmed.
        schema: dict[str, Any] = {"type": "string", **NO_NUL}
        if not field.allow_blank:
            schema["pattern"] = NOT_BLANK
        if field.max_length is not None:
            schema["maxLength"] = field.max_length
        if not field.allow_blank:
            schema["minLength"] = 1
        return schema


class SimData(serializers.Serializer):
    uid = serializers.CharField(help_text="The SIM's id in the API: sim/{uid}, sim_uid.")
    slot = serializers.IntegerField(min_value=0, max_value=7)
    label = serializers.CharField(allow_blank=True)
    country_code = serializers.CharField(allow_blank=True)
    active = serializers.BooleanField()
    signal_strength = serializers.IntegerField(allow_null=True, help_text="dBm, or null before the first heartbeat.")
    messages_sent_24h = serializers.IntegerField(min_value=0)


class DeviceUser(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(allow_blank=True)


class Profile(serializers.Serializer):
    poll_interval = serializers.IntegerField(help_text="Seconds between two polls of pending.")
    daily_quota = serializers.IntegerField(help_text="SMS per SIM per 24 hours.")
    lease_seconds = serializers.IntegerField(help_text="Seconds to report a claimed message before it is re-queued.")


class Registration(serializers.Serializer):
    session_token = serializers.CharField(help_text="Send as `Authorization: Bearer …`; shown once.")
    gateway_uid = serializers.UUIDField()
    user = DeviceUser()
    sims = SimData(many=True)
    profile = Profile()


@extend_schema_field({"type": "string", "enum": ["high", "normal", "low"]})
class PriorityName(serializers.CharField):
    pass


class PendingSms(serializers.Serializer):
    uid = serializers.UUIDField(help_text="Report it in update-statuses.")
    number = serializers.CharField(help_text="E.164.")
    body = serializers.CharField(allow_blank=True)
    sim_uid = serializers.CharField(help_text="The SIM to send it from.")
    priority = PriorityName()


class ReportAnswer(serializers.Serializer):
    uid = serializers.CharField()
    success = serializers.BooleanField(help_text="false: unknown uid, not this phone's, or a malformed entry.")
    changed = serializers.BooleanField(required=False, help_text="false: the status had already moved past it.")
    status = serializers.CharField(required=False, help_text="The message's status after the report.")
    message = serializers.CharField(required=False, help_text="Why nothing changed, or why the entry failed.")


# Each entry is answered for itself (success false with the reason): only the list's shape can fail the request.
REPORT_ITEMS = {
    "type": "array",
    "minItems": 1,
    "maxItems": 500,
    "items": {
        "type": "object",
        "properties": {
            "uid": {"description": "A message uid from pending."},
            "status": {"description": "sent, delivered or failed (any case)."},
            "sent_at": {"description": "Y-m-d H:i:s, server time zone; optional."},
            "delivered_at": {"description": "Y-m-d H:i:s, server time zone; optional (wins over sent_at)."},
            "error": {"description": "With failed: the phone's reason (first 2,000 characters kept)."},
        },
    },
}

SIM = envelope("SimEnvelope", SimData())
REGISTERED = envelope("RegistrationEnvelope", Registration())
PENDING = envelope("PendingEnvelope", PendingSms(many=True))
REPORTED = envelope("ReportEnvelope", ReportAnswer(many=True))

TEXTS = {
    401: "Missing, invalid or revoked session token (`Authorization: Bearer …`).",
    404: "No SIM with this uid on this device.",
    429: "Too many requests from this device session or address: wait `Retry-After` seconds.",
}
REGISTER_TEXTS = {
    401: "Invalid, expired or already used pairing token.",
    429: "Too many registrations from this address: wait `Retry-After` seconds.",
}


def schema(
    summary: str,
    *,
    request: Any = None,
    answer: Any = EmptyEnvelope,
    status: int = 200,
    errors: tuple[int, ...] = (),
    texts: dict[int, str] | None = None,
) -> Callable:
    """A device endpoint's description: its answer, and the errors it can give besides 401, 429 and the edge's."""
    body = BODY_STATUSES if request is not None else ()
    responses = {status: answer, **error_responses(401, 429, *body, *errors, texts=texts or TEXTS)}
    return extend_schema(
        summary=summary, request=request, responses=responses, parameters=[RETRY_AFTER], tags=["android devices"]
    )
