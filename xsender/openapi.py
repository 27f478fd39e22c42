"""OpenAPI pieces every endpoint of the XSender dialect shares: the error envelope, the answers given before or
around a view (the edge's 400/403/413, content negotiation's 406, the throttles' 429, the 500) and the headers.

Documentation only: the wire is written by xsender.api, xsender.middleware and xsender.throttling.
tests/xsender/test_openapi.py runs schemathesis against the served schema, so the two cannot drift apart.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any, ClassVar

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_field
from rest_framework import serializers

# Text never holds NUL (PostgreSQL cannot store it); header-bound text holds no CR or LF either (they would add
# mail headers). Said with `not` rather than an anchored pattern: a generator then builds long valid text cheaply.
NO_NUL: dict[str, Any] = {"not": {"pattern": r"\x00"}}
NO_BREAKS: dict[str, Any] = {"not": {"pattern": r"[\r\n\x00]"}}
# Holds a character str.strip() keeps (what DRF's CharField and our readers trim away is not text).
NOT_BLANK = r"(?:[^\s\x1c-\x1f\x85]|\ufeff)"


@extend_schema_field({"type": "boolean", "enum": [True]}, component_name="SuccessTrue")
class TrueField(serializers.BooleanField):
    """`success` of an answer that succeeded: always true."""


@extend_schema_field({"type": "boolean", "enum": [False]}, component_name="SuccessFalse")
class FalseField(serializers.BooleanField):
    """`success` of an error: always false."""


@extend_schema_field({"type": "array", "items": {}, "maxItems": 0})
class EmptyListField(serializers.ListField):
    """`data` of an answer that carries nothing: always `[]`."""


class FieldError(serializers.Serializer):
    field = serializers.CharField(help_text='Dotted path of the offending input, e.g. "contact.2.number".')
    message = serializers.CharField()


class ErrorEnvelope(serializers.Serializer):
    success = FalseField()
    message = serializers.CharField(help_text="What went wrong, safe to show. Never a stack trace.")
    data = EmptyListField()
    errors = FieldError(many=True, required=False, help_text="Validation errors only: one entry per bad field.")


class EmptyEnvelope(serializers.Serializer):
    success = TrueField()
    message = serializers.CharField()
    data = EmptyListField()


class JsonSchemaSerializer(serializers.Serializer):
    """A component written as JSON Schema (`json_schema`): for input with rules no serializer can state, such as
    "message, or media with url". A serializer class inside it becomes a reference to that class's component.
    Documentation only: it validates nothing."""

    json_schema: ClassVar[dict[str, Any]] = {}


def _resolve(schema: Any, auto_schema: Any, direction: Any) -> Any:
    if isinstance(schema, type) and issubclass(schema, serializers.BaseSerializer):
        return auto_schema.resolve_serializer(schema, direction).ref
    if isinstance(schema, dict):
        return {key: _resolve(value, auto_schema, direction) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_resolve(value, auto_schema, direction) for value in schema]
    return copy.deepcopy(schema)


class JsonSchemaSerializerScheme(OpenApiSerializerExtension):
    target_class = "xsender.openapi.JsonSchemaSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return _resolve(self.target.json_schema, auto_schema, direction)


def envelope(name: str, data: Any) -> type[serializers.Serializer]:
    """The success envelope `{"success": true, "message", "data"}` around `data` (a serializer field)."""
    fields = {"success": TrueField(), "message": serializers.CharField(), "data": data}
    return type(name, (serializers.Serializer,), fields)


# What each status means wherever it is answered; an endpoint may say more (`error_responses(404=...)`).
STATUS_TEXT: dict[int, str] = {
    400: "Bad request: a field is missing or malformed (`errors[]` names each one), the JSON body is malformed or "
    "nested too deep, or the Content-Length header is invalid.",
    401: "Missing, unknown or revoked credentials.",
    402: "Not enough credit for the whole request, no plan, a channel outside the plan, or an expired plan.",
    403: "Plain HTTP: the API answers over HTTPS only (unless the server allows insecure HTTP).",
    404: "Not found.",
    409: "A request with this Idempotency-Key is still being processed: retry later.",
    406: "The Accept header rules out application/json, the only type the API answers in.",
    413: "The request body is larger than the server accepts (XSENDER_MAX_BODY_BYTES).",
    415: "The body is not JSON: send Content-Type: application/json.",
    422: "A business rule refuses the request.",
    429: "Too many requests: wait `Retry-After` seconds.",
    500: "Server error: retry; if it persists, share the response with support. Never a stack trace.",
}
# Answered for any endpoint before or around its view: by the edge (400 for a bad Content-Length, 403, 413), by
# content negotiation (406) or by the server itself (500).
EDGE_STATUSES = (400, 403, 406, 413, 500)
# Answered besides by an endpoint that reads a JSON body: 400 for malformed JSON, 415 for another content type.
BODY_STATUSES = (400, 415)


def error_responses(*codes: int, texts: dict[int, str] | None = None) -> dict[int, OpenApiResponse]:
    """The error envelope for `codes` and EDGE_STATUSES; `texts` replaces the description of some statuses."""
    texts = texts or {}
    return {
        code: OpenApiResponse(ErrorEnvelope, description=texts.get(code, STATUS_TEXT[code]))
        for code in sorted({*codes, *EDGE_STATUSES})
    }


def header(
    name: str, kind: Any, description: str, codes: Iterable[int] | bool = True, *, required: bool = False
) -> OpenApiParameter:
    """A response header on `codes` (True: every response of the operation)."""
    return OpenApiParameter(
        name,
        kind,
        location=OpenApiParameter.HEADER,
        required=required,
        response=codes if isinstance(codes, bool) else list(codes),
        description=description,
    )


RETRY_AFTER = header("Retry-After", OpenApiTypes.INT, "Seconds to wait before retrying.", [429], required=True)
RATE_LIMIT_HEADERS = [
    header("X-RateLimit-Limit", OpenApiTypes.INT, "Requests per minute the key's plan allows (0: no limit)."),
    header("X-RateLimit-Remaining", OpenApiTypes.INT, "Requests left in the current minute."),
]
