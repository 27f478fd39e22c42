"""The address rules for every URL the server reaches or hands to another system.

One home for them: the fetcher (attachments), media URLs handed to a provider that downloads them itself
(WhatsApp bridges), and outbound webhooks all call `check_url` first.

- http and https only;
- the host is resolved here (getaddrinfo, so numeric spellings such as `127.1`, `2130706433`, `0x7f000001`
  or `0177.0.0.1` are read the way the C library reads them) and every address it resolves to must be public:
  private, loopback, link-local (169.254.169.254, the cloud metadata service), shared (100.64/10), multicast,
  reserved and unspecified addresses are refused, and so are the IPv6 forms that carry an IPv4 address —
  IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, SIIT `::ffff:0:a.b.c.d`, NAT64 `64:ff9b::/96`
  and `64:ff9b:1::/48`, 6to4 `2002::/16` and Teredo `2001::/32`: whole ranges, whatever the IPv4 inside,
  because a translator on the path would carry the request to that IPv4 address;
- a host named in XSENDER_FETCH_ALLOWED_HOSTS is let through (it is still resolved, to connect to it);
- a refusal never names the address a host resolved to (that would map the internal network for a tenant).

The caller that opens a connection must connect to `ResolvedTarget.address`, the address that was checked,
never resolve the name again (a second answer could differ: DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

SCHEMES = {"http": 80, "https": 443}

# Ranges Python's `is_global` lets through (depending on its version) that are not a public host.
_REFUSED_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # "this network"
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "192.0.0.0/24",  # IETF protocol assignments
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
    )
)
_REFUSED_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/96",  # unspecified, loopback and IPv4-compatible ::a.b.c.d
        "::ffff:0:0/96",  # IPv4-mapped
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
        "64:ff9b::/96",  # NAT64, well-known prefix
        "64:ff9b:1::/48",  # NAT64, local-use prefix
        "100::/64",  # discard-only
        "2001::/32",  # Teredo
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4: the IPv4 address is inside; refused as a whole
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)


class AddressRefused(Exception):
    """A URL or host the address rules refuse. `message` is safe to show to a tenant: it names the host the
    tenant gave, never the address it resolved to."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ResolvedTarget:
    """A URL that passed the rules, and the checked address to connect to."""

    url: str
    scheme: str
    host: str
    port: int
    address: str


def is_public_address(ip: str | IPAddress) -> bool:
    """Whether `ip` is a public unicast address a request may go to (see the module's rules)."""
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0] if isinstance(ip, str) else ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        refused: tuple[ipaddress.IPv4Network, ...] | tuple[ipaddress.IPv6Network, ...] = _REFUSED_V4
    else:
        refused = _REFUSED_V6
    if any(address in network for network in refused):
        return False
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
    )


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def check_host(host: str, port: int, *, allowed_hosts: Collection[str] | None = None) -> str:
    """The address to connect to for `host`. Raises AddressRefused if it cannot be resolved or any of its
    addresses is not public (unless the host is allow-listed)."""
    allowed = settings.XSENDER_FETCH_ALLOWED_HOSTS if allowed_hosts is None else allowed_hosts
    shown = host[:253]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        raise AddressRefused(f"Cannot resolve {shown}.") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise AddressRefused(f"Cannot resolve {shown}.")
    if host.lower() not in {name.lower() for name in allowed} and not all(map(is_public_address, addresses)):
        if _is_literal(host):
            raise AddressRefused(f"{shown} is a non-public address: refused.")
        raise AddressRefused(f"{shown} resolves to a non-public address: refused.")
    return addresses[0]


def check_url(url: str, *, allowed_hosts: Collection[str] | None = None) -> ResolvedTarget:
    """Checks `url` against the rules (resolution and classification only: no connection is opened).

    Returns the target with the checked address to connect to; raises AddressRefused.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise AddressRefused("Not a valid URL.") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise AddressRefused("Only http and https URLs are allowed.")
    if not parts.hostname:
        raise AddressRefused("The URL has no host.")
    port = SCHEMES[scheme] if port is None else port
    if port == 0:
        raise AddressRefused("Not a valid URL.")
    address = check_host(parts.hostname, port, allowed_hosts=allowed_hosts)
    return ResolvedTarget(url=url, scheme=scheme, host=parts.hostname, port=port, address=address)
