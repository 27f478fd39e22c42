"""The XSender dialect: its envelope, its error rendering, its timestamps and the base view of its endpoints.

Registered for `/api/` (and, with no authentication or throttle of its own, for the provider webhooks under
`/api/webhook/`) in settings.XSENDER_DIALECTS; see xsender.dialects.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.defaults import page_not_found, server_error
from rest_framework import exceptions as drf_exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from xsender import errors
from xsender.dialects import SERVER_ERROR, Dialect, dialect_for

logger = logging.getLogger(__name__)
HTTP_500_MESSAGE = SERVER_ERROR
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"

# Status codes of the XSender spec's error table.
DOMAIN_STATUS: dict[type[errors.DomainError], int] = {
    errors.ValidationFailed: 400,
    errors.NotAuthenticated: 401,
    errors.CreditExhausted: 402,
    errors.GatewayNotFound: 404,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Rejected: 422,
    errors.Throttled: 429,
}


def envelope(message: str, data: Any = None, *, success: bool = True, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"success": success, "message": message, "data": [] if data is None else data}
    body.update(extra)
    return body


def ok(message: str, data: Any = None, status_code: int = 200) -> Response:
    return Response(envelope(message, data), status=status_code)


def error_body(message: str, status: int = 400, **extra: Any) -> dict[str, Any]:
    return envelope(message, success=False, **extra)


def parse_timestamp(value: str) -> datetime:
    """`Y-m-d H:i:s` in the server's TIME_ZONE, as the XSender API writes times. Raises ValueError."""
    naive = datetime.strptime(value.strip(), TIMESTAMP_FORMAT)
    aware = timezone.make_aware(naive, timezone.get_default_timezone())
    try:
        aware.astimezone(UTC)
    except OverflowError:  # 0001-01-01 east of UTC, 9999-12-31 west of it: no such instant, unstorable
        raise ValueError("out of range") from None
    return aware


def stamp(value: datetime | None) -> str | None:
    return timezone.localtime(value).strftime(TIMESTAMP_FORMAT) if value else None


def _drf_errors(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """Flattens DRF's nested error detail into [{"field": "contact.2.number", "message": ...}]."""
    if isinstance(detail, dict):
        out: list[dict[str, str]] = []
        for key, value in detail.items():
            field = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors":
                field = prefix or "non_field_errors"
            out.extend(_drf_errors(value, field))
        return out
    if isinstance(detail, list):
        if all(not isinstance(v, (dict, list)) for v in detail):
            return [{"field": prefix or "non_field_errors", "message": str(v)} for v in detail]
        out = []
        for index, value in enumerate(detail):
            if value:
                out.extend(_drf_errors(value, f"{prefix}.{index}" if prefix else str(index)))
        return out
    return [{"field": prefix or "non_field_errors", "message": str(detail)}]


def _domain_response(exc: errors.DomainError) -> Response:
    code = next((c for cls, c in DOMAIN_STATUS.items() if isinstance(exc, cls)), 400)
    extra: dict[str, Any] = {}
    if isinstance(exc, errors.ValidationFailed):
        extra["errors"] = [{"field": e.get("field", ""), "message": e["message"]} for e in exc.errors]
    response = Response(error_body(exc.message, **extra), status=code)
    if isinstance(exc, errors.Throttled):
        response["Retry-After"] = str(exc.retry_after)
    return response


def handle_exception(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The XSender dialect's error for anything a view raises: the envelope with the spec's status codes."""
    if isinstance(exc, errors.DomainError):
        return _domain_response(exc)
    if isinstance(exc, Http404):
        return Response(error_body("Not found."), status=404)
    if isinstance(exc, drf_exceptions.ValidationError):
        return Response(error_body("Validation error", errors=_drf_errors(exc.detail)), status=400)
    if isinstance(exc, (drf_exceptions.NotAuthenticated, drf_exceptions.AuthenticationFailed)):
        return Response(error_body(str(exc.detail)), status=401)
    if isinstance(exc, drf_exceptions.Throttled):
        response = Response(error_body("Too many requests."), status=429)
        response["Retry-After"] = str(int(exc.wait or 1))
        return response
    if isinstance(exc, drf_exceptions.APIException):
        return Response(error_body(str(exc.detail)), status=exc.status_code)
    logger.exception("Unhandled error in API view", exc_info=exc)
    return Response(error_body(HTTP_500_MESSAGE), status=500)


XSENDER = Dialect(
    name="xsender",
    error_body=error_body,
    handle_exception=handle_exception,
    authentication=("accounts.authentication.ApiKeyAuthentication",),
    throttles=("xsender.throttling.PlanRateThrottle",),
)
# Provider webhooks: each receiver authenticates its provider itself; exempt from the per-key throttle.
WEBHOOKS = Dialect(name="webhooks", error_body=error_body, handle_exception=handle_exception)


class DialectView(APIView):
    """Base of every API view: authentication and throttles come from the dialect of the request's path,
    unless the view names its own (the device API's session tokens, the unauthenticated pairing call)."""

    authentication_classes: Any = None
    throttle_classes: Any = None

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        self.dialect_path = request.path  # authenticators are chosen before self.request is set
        return super().initialize_request(request, *args, **kwargs)

    @property
    def dialect(self) -> Dialect | None:
        path = getattr(self, "dialect_path", None) or getattr(getattr(self, "request", None), "path", "")
        return dialect_for(path)

    def get_authenticators(self) -> list[Any]:
        classes = self.authentication_classes
        if classes is None:
            classes = self.dialect.authentication_classes if self.dialect else []
        return [auth() for auth in classes]

    def get_throttles(self) -> list[Any]:
        classes = self.throttle_classes
        if classes is None:
            classes = self.dialect.throttle_classes if self.dialect else []
        return [throttle() for throttle in classes]


class XSenderAPIView(DialectView):
    """Base of every XSender-dialect endpoint: rate-limit headers on every response."""

    def finalize_response(self, request: Any, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        limit = getattr(request, "rate_limit", None)
        if limit is not None:
            response["X-RateLimit-Limit"] = str(limit.limit)
            response["X-RateLimit-Remaining"] = str(max(0, limit.limit - limit.count))
        return response


def not_found_handler(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    dialect = dialect_for(request.path)
    if dialect is not None:
        return dialect.error_response("Not found.", 404)
    return page_not_found(request, exception)


def server_error_handler(request: HttpRequest) -> HttpResponse:
    dialect = dialect_for(request.path)
    if dialect is not None:
        return dialect.error_response(HTTP_500_MESSAGE, 500)
    return server_error(request)
