"""The XSender dialect's edge: the envelope, the exception handler and the base view every endpoint uses."""

from __future__ import annotations

import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found, server_error
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from xsender import errors

logger = logging.getLogger(__name__)
HTTP_500_MESSAGE = "Server error. Retry; if it persists, share this response with support."

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


def error_body(message: str, **extra: Any) -> dict[str, Any]:
    return envelope(message, success=False, **extra)


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


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, errors.DomainError):
        code = next((c for cls, c in DOMAIN_STATUS.items() if isinstance(exc, cls)), 400)
        extra: dict[str, Any] = {}
        if isinstance(exc, errors.ValidationFailed):
            extra["errors"] = exc.errors
        response = Response(error_body(exc.message, **extra), status=code)
        if isinstance(exc, errors.Throttled):
            response["Retry-After"] = str(exc.retry_after)
        return response
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


class XSenderAPIView(APIView):
    """Base of every XSender-dialect endpoint: rate-limit headers on every response."""

    def finalize_response(self, request: Any, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        limit = getattr(request, "rate_limit", None)
        if limit is not None:
            response["X-RateLimit-Limit"] = str(limit.limit)
            response["X-RateLimit-Remaining"] = str(max(0, limit.limit - limit.count))
        return response


def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    return JsonResponse(error_body("Not found."), status=404)


def json_error_response(message: str, code: int) -> JsonResponse:
    return JsonResponse(error_body(message), status=code)


__all__ = ["XSenderAPIView", "envelope", "ok", "exception_handler", "api_not_found", "status"]


def not_found_handler(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return api_not_found(request)
    return page_not_found(request, exception)


def server_error_handler(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return json_error_response(HTTP_500_MESSAGE, 500)
    return server_error(request)
