"""The API edge before any view runs: trusted proxy scheme, plain-HTTP refusal, body size, JSON errors."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from xsender.api import HTTP_500_MESSAGE, json_error_response

logger = logging.getLogger(__name__)


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def from_trusted_proxy(remote_addr: str) -> bool:
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    return any(address in net for net in _networks(tuple(settings.XSENDER_TRUSTED_PROXIES)))


def is_api_path(path: str) -> bool:
    return path.startswith("/api/")


class ApiEdgeMiddleware:
    """First middleware of the stack.

    - `X-Forwarded-Proto` is honoured only from `XSENDER_TRUSTED_PROXIES` (anyone else could claim https).
    - Plain HTTP to `/api/` is refused with a JSON error unless `XSENDER_ALLOW_INSECURE_HTTP`.
    - Bodies over `XSENDER_MAX_BODY_BYTES` are refused before they are read.
    - An unhandled error under `/api/` is a JSON 500, never a stack trace, even with DEBUG.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        forwarded = request.META.pop("HTTP_X_FORWARDED_PROTO", None)
        if forwarded and from_trusted_proxy(request.META.get("REMOTE_ADDR", "")):
            request.META["wsgi.url_scheme"] = forwarded.split(",")[0].strip().lower()
        if is_api_path(request.path):
            refused = self._refuse(request)
            if refused is not None:
                return refused
        return self.get_response(request)

    def _refuse(self, request: HttpRequest) -> HttpResponse | None:
        if not request.is_secure() and not settings.XSENDER_ALLOW_INSECURE_HTTP:
            return json_error_response("HTTPS is required: plain-HTTP API requests are refused.", 403)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_error_response("Invalid Content-Length header.", 400)
        if length > settings.XSENDER_MAX_BODY_BYTES:
            return json_error_response(f"Request body too large (limit {settings.XSENDER_MAX_BODY_BYTES} bytes).", 413)
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api_path(request.path):
            return None
        logger.exception("Unhandled error under /api/", exc_info=exception)
        return json_error_response(HTTP_500_MESSAGE, 500)
