"""The one SSRF-safe fetcher for every URL the server itself downloads (email attachments).

- every URL, and every redirect hop, passes the address rules of `xsender.addresses` (http(s) only, public
  addresses only unless the host is in XSENDER_FETCH_ALLOWED_HOSTS);
- the connection goes to the address that was checked (no second resolution: no DNS rebinding), with
  TLS verified against the host name;
- redirects are followed by hand, at most 5;
- the body is read under a size cap, and the whole fetch — connect, TLS handshake, request, headers, body,
  every redirect — under one deadline (XSENDER_FETCH_TIMEOUT) that bounds each socket read by the time left,
  so a server that drips one byte every few seconds is cut at the deadline;
- the file name it reports (Content-Disposition or the URL's last segment) is safe to put in a header.
"""

from __future__ import annotations

import http.client
import io
import re
import socket
import ssl
import time
import unicodedata
from dataclasses import dataclass
from email.message import Message as MimeHeaders
from pathlib import PurePosixPath
from urllib.parse import quote, unquote, urljoin, urlsplit

import certifi
from django.conf import settings

from xsender.addresses import AddressRefused, ResolvedTarget, check_url

MAX_REDIRECTS = 5
REDIRECTS = {301, 302, 303, 307, 308}
CHUNK = 64 * 1024
TOO_LONG = "Fetch took too long."
MAX_FILENAME = 100


class FetchError(Exception):
    """Why a fetch failed, safe to show to the tenant; `status` is the HTTP status when the server answered one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class FetchedFile:
    content: bytes
    content_type: str
    filename: str


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left; raises FetchError once the deadline has passed."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise FetchError(TOO_LONG)
        return left


class _DeadlineReader(io.RawIOBase):
    """Reads from the socket, each read waiting at most until the deadline (a per-read timeout alone would let
    a server that drips one byte at a time hold the fetch for ever)."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        super().__init__()
        self.sock = sock
        self.deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        self.sock.settimeout(self.deadline.remaining())
        try:
            return self.sock.recv_into(buffer)
        except TimeoutError:
            raise FetchError(TOO_LONG) from None


class _DeadlineSocket:
    """The part of a socket http.client uses (sendall, makefile, close), bounded by the deadline. Closing is
    left to the fetcher, which closes the real socket once the body has been read."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self.sock = sock
        self.deadline = deadline

    def sendall(self, data: bytes) -> None:
        self.sock.settimeout(self.deadline.remaining())
        self.sock.sendall(data)

    def makefile(self, *args: object, **kwargs: object) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self.sock, self.deadline))

    def close(self) -> None:
        pass


def _connect(target: ResolvedTarget, deadline: _Deadline) -> socket.socket:
    sock = socket.create_connection((target.address, target.port), timeout=deadline.remaining())
    if target.scheme != "https":
        return sock
    try:
        sock.settimeout(deadline.remaining())  # the handshake as a whole is bounded by the socket's timeout
        return ssl.create_default_context(cafile=certifi.where()).wrap_socket(sock, server_hostname=target.host)
    except BaseException:
        sock.close()
        raise


def _request(
    target: ResolvedTarget, sock: socket.socket, deadline: _Deadline, extra: dict[str, str]
) -> http.client.HTTPResponse:
    parts = urlsplit(target.url)
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~") + (
        "?" + quote(parts.query, safe="/%:@!$&'()*+,;=-._~?") if parts.query else ""
    )
    connection = http.client.HTTPConnection(target.host, target.port)  # never connects: it is given the socket
    connection.sock = _DeadlineSocket(sock, deadline)  # type: ignore[assignment]
    connection.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
    headers = {"Host": parts.netloc.rsplit("@", 1)[-1], "User-Agent": "XSender-Fetcher/1.0", "Accept": "*/*"}
    for name, value in {**headers, **extra, "Connection": "close"}.items():
        connection.putheader(name, value)
    connection.endheaders()
    return connection.getresponse()


def _open(url: str, deadline: _Deadline, extra: dict[str, str]) -> tuple[http.client.HTTPResponse, socket.socket]:
    """Checks `url`, connects to the checked address and reads the answer's headers."""
    try:
        target = check_url(url)
    except AddressRefused as exc:
        raise FetchError(exc.message) from None
    try:
        sock = _connect(target, deadline)
    except FetchError:
        raise
    except (OSError, ValueError) as exc:
        raise _failure(target, exc) from None
    try:
        return _request(target, sock, deadline, extra), sock
    except FetchError:
        sock.close()
        raise
    except (OSError, http.client.HTTPException, ValueError) as exc:
        sock.close()
        raise _failure(target, exc) from None


def _failure(target: ResolvedTarget, exc: Exception) -> FetchError:
    if isinstance(exc, TimeoutError):
        return FetchError(TOO_LONG)
    return FetchError(f"Cannot fetch {target.host}: {type(exc).__name__}.")


def _read(response: http.client.HTTPResponse, max_bytes: int) -> bytes:
    declared = response.getheader("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"File too large ({declared} bytes; limit {max_bytes}).")
    chunks, size = [], 0
    try:
        while chunk := response.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise FetchError(f"File too large (over {max_bytes} bytes).")
            chunks.append(chunk)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise FetchError(f"Fetch interrupted: {type(exc).__name__}.") from None
    return b"".join(chunks)


_REPLACED = re.compile(r'[\\/"\'`<>|:*?]')


def safe_filename(name: str, fallback: str = "attachment") -> str:
    """`name` made safe for a MIME header or a disk: no control or format characters (CR, LF, NUL, direction
    overrides), no path separators or quotes, no leading or trailing dots, at most 100 characters with the
    extension kept; `fallback` when nothing is left."""
    kept = []
    for char in name:
        category = unicodedata.category(char)
        if category[0] == "C" or category in ("Zl", "Zp"):
            continue
        kept.append(" " if category == "Zs" else char)
    cleaned = " ".join(_REPLACED.sub("_", "".join(kept)).split()).strip(" .")
    if len(cleaned) > MAX_FILENAME:
        stem, dot, extension = cleaned.rpartition(".")
        if dot and stem and len(extension) <= 16:
            cleaned = stem[: MAX_FILENAME - len(extension) - 1].rstrip(" .") + "." + extension
        else:
            cleaned = cleaned[:MAX_FILENAME].rstrip(" .")
    return cleaned or fallback


def _filename(url: str, response: http.client.HTTPResponse) -> str:
    headers = MimeHeaders()
    headers["Content-Disposition"] = response.getheader("Content-Disposition", "")
    try:
        name = headers.get_filename() or ""
    except (LookupError, UnicodeError, ValueError):  # an undecodable RFC 2231 name: fall back to the URL's
        name = ""
    return safe_filename(name or PurePosixPath(unquote(urlsplit(url).path)).name)


def safe_fetch(
    url: str, *, max_bytes: int | None = None, timeout: float | None = None, headers: dict[str, str] | None = None
) -> FetchedFile:
    """Downloads `url` under the rules above. Raises FetchError with a reason safe to show to the tenant.

    `headers` are added to the request (an API key, an Accept); a request that carries them follows no redirect
    (a redirect is an error), so that they never reach a host other than the one asked."""
    max_bytes = max_bytes or settings.XSENDER_FETCH_MAX_BYTES
    deadline = _Deadline(timeout or settings.XSENDER_FETCH_TIMEOUT)
    extra = dict(headers or {})  # a value with a line break is refused by http.client (a FetchError here)
    for _ in range(MAX_REDIRECTS + 1):
        response, sock = _open(url, deadline, extra)
        try:
            if response.status in REDIRECTS and response.getheader("Location"):
                if extra:
                    raise FetchError("The server answered with a redirect: not followed.", status=response.status)
                url = urljoin(url, response.getheader("Location", ""))
                continue
            if response.status >= 400:
                raise FetchError(f"The server answered HTTP {response.status}.", status=response.status)
            content = _read(response, max_bytes)
            content_type = (response.getheader("Content-Type") or "application/octet-stream").split(";")[0].strip()
            return FetchedFile(content=content, content_type=content_type, filename=_filename(url, response))
        finally:
            response.close()
            sock.close()
    raise FetchError(f"More than {MAX_REDIRECTS} redirects.")
