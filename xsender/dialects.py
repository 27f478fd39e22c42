"""The API dialects and the URL prefixes they answer under.

One domain serves several dialects (the XSender API under `/api/`, provider webhooks under `/api/webhook/`,
the SendX-compatible API under `/api/v1/rest/`). Each decides, for every request under its prefix, how a
caller authenticates, which throttles apply and what an error looks like — including the errors raised
before a view runs (plain HTTP refused, body too large), unknown URLs and server errors. The registry is
`settings.XSENDER_DIALECTS` (prefix → dotted path of a `Dialect`), longest prefix first; a path under no
prefix is a page of the panel or admin (HTML).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from rest_framework.response import Response

# What any dialect says when the server fails: never a stack trace, even with DEBUG.
SERVER_ERROR = "Server error. Retry; if it persists, share this response with support."


@dataclass(frozen=True)
class Dialect:
    name: str
    # The error body of this dialect: (message, status, extra fields) → JSON object.
    error_body: Callable[..., dict[str, Any]]
    # DRF exception handler for views of this dialect: (exc, context) → Response or None.
    handle_exception: Callable[[Exception, dict[str, Any]], Response | None]
    authentication: tuple[str, ...] = ()  # dotted paths of DRF authentication classes
    throttles: tuple[str, ...] = ()  # dotted paths of DRF throttle classes
    meta: dict[str, Any] = field(default_factory=dict)

    def error_response(self, message: str, status: int, **extra: Any) -> JsonResponse:
        return JsonResponse(self.error_body(message, status, **extra), status=status)

    @property
    def authentication_classes(self) -> list[type]:
        return _classes(self.authentication)

    @property
    def throttle_classes(self) -> list[type]:
        return _classes(self.throttles)


@cache
def _load(path: str) -> Any:
    return import_string(path)


def _classes(paths: tuple[str, ...]) -> list[type]:
    return [_load(p) for p in paths]


@cache
def _ordered(registry: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    return sorted(registry, key=lambda item: len(item[0]), reverse=True)


def dialect_for(path: str) -> Dialect | None:
    """The dialect answering under `path`, or None for an HTML page."""
    for prefix, dotted in _ordered(tuple(settings.XSENDER_DIALECTS.items())):
        if path.startswith(prefix):
            return _load(dotted)
    return None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: the dialect of the request's path renders the error."""
    request = context.get("request")
    dialect = dialect_for(request.path if request is not None else "")
    if dialect is None:
        from rest_framework.views import exception_handler as drf_default

        return drf_default(exc, context)
    return dialect.handle_exception(exc, context)


def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any unknown URL under a dialect's prefix: that dialect's 404, never an HTML page (even with DEBUG)."""
    dialect = dialect_for(request.path)
    assert dialect is not None  # routed here only under a dialect's prefix  # noqa: S101
    return dialect.error_response("Not found.", 404)
