"""The one SSRF-safe fetcher for every URL the server itself downloads (email attachments).

- http and https only;
- the host is resolved here and every address it resolves to must be public (`is_global`): private,
  loopback, link-local (169.254.169.254, the cloud metadata service), shared, multicast and reserved
  addresses are refused — unless the host is in XSENDER_FETCH_ALLOWED_HOSTS;
- the connection goes to the address that was checked (no second resolution: no DNS rebinding), with
  TLS verified against the host name;
- redirects are followed by hand, at most 5, each hop checked again;
- the body is streamed under a size cap and the whole fetch under one deadline.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from email.message import Message as MimeHeaders
from pathlib import PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

import certifi
import urllib3
from django.conf import settings

MAX_REDIRECTS = 5
REDIRECTS = {301, 302, 303, 307, 308}


class FetchError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class FetchedFile:
    content: bytes
    content_type: str
    filename: str


def _address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int) -> str:
    """The address to connect to for `host`; raises FetchError if any of its addresses is not public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise FetchError(f"Cannot resolve {host}.") from None
    addresses = [info[4][0] for info in infos]
    if host not in settings.XSENDER_FETCH_ALLOWED_HOSTS:
        refused = [a for a in addresses if not _address_allowed(a)]
        if refused:
            raise FetchError(f"{host} resolves to a non-public address ({refused[0]}): refused.")
    return addresses[0]


def _open(url: str, deadline: float) -> urllib3.BaseHTTPResponse:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError("Only http and https URLs can be fetched.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = resolve(parts.hostname, port)
    timeout = urllib3.Timeout(total=max(0.1, deadline - time.monotonic()))
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address, port, timeout=timeout, server_hostname=parts.hostname, assert_hostname=parts.hostname,
            cert_reqs="CERT_REQUIRED", ca_certs=certifi.where(), retries=False,
        )  # fmt: skip
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {"Host": parts.netloc.rsplit("@", 1)[-1], "User-Agent": "XSender-Fetcher/1.0", "Accept": "*/*"}
    try:
        return pool.urlopen("GET", target, headers=headers, redirect=False, preload_content=False, retries=False)
    except urllib3.exceptions.HTTPError as exc:
        raise FetchError(f"Cannot fetch {parts.hostname}: {type(exc).__name__}.") from None


def _read(response: urllib3.BaseHTTPResponse, max_bytes: int, deadline: float) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"File too large ({declared} bytes; limit {max_bytes}).")
    chunks, size = [], 0
    try:
        for chunk in response.stream(64 * 1024):
            size += len(chunk)
            if size > max_bytes:
                raise FetchError(f"File too large (over {max_bytes} bytes).")
            if time.monotonic() > deadline:
                raise FetchError("Fetch took too long.")
            chunks.append(chunk)
    except urllib3.exceptions.HTTPError as exc:
        raise FetchError(f"Fetch interrupted: {type(exc).__name__}.") from None
    finally:
        response.release_conn()
    return b"".join(chunks)


def _filename(url: str, response: urllib3.BaseHTTPResponse) -> str:
    headers = MimeHeaders()
    headers["Content-Disposition"] = response.headers.get("Content-Disposition", "")
    name = headers.get_filename() or PurePosixPath(unquote(urlsplit(url).path)).name
    return name or "attachment"


def safe_fetch(url: str, *, max_bytes: int | None = None, timeout: float | None = None) -> FetchedFile:
    """Downloads `url` under the rules above. Raises FetchError with a reason safe to show to the tenant."""
    max_bytes = max_bytes or settings.XSENDER_FETCH_MAX_BYTES
    deadline = time.monotonic() + (timeout or settings.XSENDER_FETCH_TIMEOUT)
    for _ in range(MAX_REDIRECTS + 1):
        response = _open(url, deadline)
        if response.status in REDIRECTS and response.headers.get("Location"):
            response.release_conn()
            url = urljoin(url, response.headers["Location"])
            continue
        if response.status >= 400:
            response.release_conn()
            raise FetchError(f"The server answered HTTP {response.status}.")
        content = _read(response, max_bytes, deadline)
        content_type = response.headers.get("Content-Type", "application/octet-stream").split(";")[0].strip()
        return FetchedFile(content=content, content_type=content_type, filename=_filename(url, response))
    raise FetchError(f"More than {MAX_REDIRECTS} redirects.")
