"""The API edge before any view runs: trusted proxy scheme, plain-HTTP refusal, body size, JSON errors."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from xsender.dialects import SERVER_ERROR, dialect_for

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


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_ip(meta: dict[str, Any]) -> str:
    """The caller's address: REMOTE_ADDR, or, when that is a trusted proxy, the nearest X-Forwarded-For hop
    that is not one of ours (walking from the right: hops left of it were written by the client).

    An IPv6 caller is named by its /64 (the network's first address): one subscriber usually holds a whole
    /64, and counting per address would let it rotate through them.
    """
    remote = meta.get("REMOTE_ADDR", "")
    address = _address(remote)
    if address is not None and from_trusted_proxy(remote):
        for hop in reversed(meta.get("HTTP_X_FORWARDED_FOR", "").split(",")):
            hop_address = _address(hop)
            if hop_address is None:
                break  # a hop our proxies would not have written: stop at the last believable one
            address = hop_address
            if not from_trusted_proxy(str(hop_address)):
                break
    if address is None:
        return "0.0.0.0"  # noqa: S104 — not a bind address: the bucket of callers without a readable address
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return str(address)


def request_client_ip(request: HttpRequest) -> str:
    """client_ip for code that is handed the request (django-axes' AXES_CLIENT_IP_CALLABLE)."""
    return client_ip(request.META)


class ApiEdgeMiddleware:
    """First middleware of the stack.

    - `X-Forwarded-Proto` is honoured only from `XSENDER_TRUSTED_PROXIES` (anyone else could claim https).
    - Plain HTTP to an API (any dialect's prefix, xsender.dialects) is refused unless
      `XSENDER_ALLOW_INSECURE_HTTP`, in that dialect's error shape.
    - Bodies over `XSENDER_MAX_BODY_BYTES` are refused before they are read.
    - An unhandled error under an API prefix is that dialect's 500, never a stack trace, even with DEBUG.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        forwarded = request.META.pop("HTTP_X_FORWARDED_PROTO", None)
        if forwarded and from_trusted_proxy(request.META.get("REMOTE_ADDR", "")):
            # The last value is the one our proxy set; anything before it came from the client.
            request.META["wsgi.url_scheme"] = forwarded.split(",")[-1].strip().lower()
        dialect = dialect_for(request.path)
        if dialect is not None:
            refused = self._refuse(request)
            if refused is not None:
                return dialect.error_response(*refused)
        return self.get_response(request)

    def _refuse(self, request: HttpRequest) -> tuple[str, int] | None:
        if not request.is_secure() and not settings.XSENDER_ALLOW_INSECURE_HTTP:
            return "HTTPS is required: plain-HTTP API requests are refused.", 403
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return "Invalid Content-Length header.", 400
        if length > settings.XSENDER_MAX_BODY_BYTES:
            return f"Request body too large (limit {settings.XSENDER_MAX_BODY_BYTES} bytes).", 413
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        dialect = dialect_for(request.path)
        if dialect is None:
            return None
        logger.exception("Unhandled error under %s", request.path, exc_info=exception)
        return dialect.error_response(SERVER_ERROR, 500)


# What an API answer (JSON, never rendered as a page) may load or be framed by: nothing.
API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, except that a JSON answer under an API prefix gets the fixed policy that
    forbids everything, without a policy built per response on the send path."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if dialect_for(request.path) is not None and response.get("Content-Type", "").startswith("application/json"):
            if "Content-Security-Policy" not in response:
                response["Content-Security-Policy"] = API_CONTENT_SECURITY_POLICY
            return response
        return super().process_response(request, response)
