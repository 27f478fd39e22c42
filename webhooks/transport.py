"""POSTs to a tenant's endpoint under the address rules (xsender.addresses), over one kept-alive connection.

- the URL is checked once per `Target` (a drain's slice): https only unless XSENDER_ALLOW_INSECURE_HTTP, no
  private, loopback, link-local or metadata address after resolution unless the host is in
  XSENDER_WEBHOOK_ALLOWED_HOSTS;
- the connection goes to the address that was checked (the name is never resolved again: no DNS rebinding),
  with TLS verified against the host name;
- redirects are never followed (a 3xx is a failed attempt), nothing is retried here (the outbox retries);
- each POST is bounded by XSENDER_WEBHOOK_TIMEOUT (connect, and each read), and only the first 1 KB of the
  answer is kept (a little more is read, so the connection can carry the next POST).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3
from django.conf import settings
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from xsender.addresses import AddressRefused, ResolvedTarget, check_url

KEPT = 1024  # bytes of the answer logged
DRAINED = 64 * 1024  # read past the kept part so the connection is reused; beyond this it is dropped


@dataclass
class Answer:
    status: int | None  # None: no HTTP answer (refused address, network error, timeout)
    response: str = ""
    error: str = ""
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def check_endpoint_url(url: str) -> ResolvedTarget:
    """The checked address to post `url`'s events to; raises AddressRefused (a message safe to show) when `url`
    may not receive webhooks."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" and not settings.XSENDER_ALLOW_INSECURE_HTTP:
        raise AddressRefused("Only https URLs are allowed.")
    if parts.username or parts.password:
        raise AddressRefused("The URL must not carry a user name or password: verify the signature instead.")
    return check_url(url, allowed_hosts=settings.XSENDER_WEBHOOK_ALLOWED_HOSTS)


def _failure(exc: Exception, timeout: float) -> str:
    if isinstance(exc, ConnectTimeoutError | ReadTimeoutError | TimeoutError):
        return f"No answer within {timeout:g} s."
    if isinstance(exc, SSLError):
        return "TLS handshake failed (certificate not valid for this host?)."
    if isinstance(exc, NewConnectionError | ConnectionRefusedError):
        return "Could not connect."
    if isinstance(exc, ProtocolError):
        return "The connection was closed before an answer."
    return f"Request failed: {type(exc).__name__}."


class Target:
    """One endpoint URL, checked once, and a kept-alive connection to its checked address."""

    def __init__(self, url: str) -> None:
        self.timeout = settings.XSENDER_WEBHOOK_TIMEOUT
        self.refused = ""
        self.pool: urllib3.HTTPConnectionPool | None = None
        try:
            target = check_endpoint_url(url)
        except AddressRefused as exc:
            self.refused = exc.message
            return
        parts = urlsplit(url)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.host_header = parts.netloc
        common = {"maxsize": 1, "retries": False, "timeout": urllib3.Timeout(connect=self.timeout, read=self.timeout)}
        if target.scheme == "https":
            self.pool = urllib3.HTTPSConnectionPool(
                target.address, target.port, server_hostname=target.host, assert_hostname=target.host,
                cert_reqs="CERT_REQUIRED", ca_certs=certifi.where(), **common,
            )  # fmt: skip
        else:
            self.pool = urllib3.HTTPConnectionPool(target.address, target.port, **common)

    def post(self, body: bytes, headers: dict[str, str]) -> Answer:
        if self.pool is None:
            return Answer(status=None, error=self.refused)
        started = time.monotonic()
        try:
            response = self.pool.urlopen(
                "POST", self.path, body=body, headers={**headers, "host": self.host_header},
                redirect=False, retries=False, preload_content=False, assert_same_host=False,
            )  # fmt: skip
            try:
                kept = response.read(KEPT)
                self._drain(response, started)
            finally:
                response.release_conn()
        except (HTTPError, OSError) as exc:
            return Answer(status=None, error=_failure(exc, self.timeout), duration_ms=_ms(started))
        text = kept.decode("utf-8", errors="replace").replace("\x00", "")
        return Answer(status=response.status, response=text, duration_ms=_ms(started))

    def _drain(self, response: urllib3.BaseHTTPResponse, started: float) -> None:
        """Reads what is left of a short answer (the connection then carries the next POST); a long or slow one
        is cut and its connection dropped."""
        read = 0
        while time.monotonic() - started < self.timeout:
            chunk = response.read(16 * 1024)
            if not chunk:
                return
            read += len(chunk)
            if read > DRAINED:
                break
        response.close()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
