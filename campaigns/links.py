"""Our own links in campaign messages: unsubscribe, the open pixel and click redirects (docs/campaigns.md).

Each link carries a token signed with Django's signing (HMAC-SHA256 keyed by SECRET_KEY, one salt per kind of
link, so a pixel's token is no unsubscribe token). A token names the campaign recipient (CampaignRecipient's
key: one contact of one campaign, and through it the message) — never the tenant, the address or the contact;
a click token also carries the link's target. Nothing in the URL is trusted unless the signature checks, and a
click's target comes only from its signed token, never from a query parameter: the redirect cannot be aimed
anywhere the tenant's own HTML did not point, and only at http(s) URLs (docs/security.md).

`track_html` rewrites a rendered HTML part with the standard library's HTML parser: each `<a href="http(s)://…">`
tag is rebuilt with a click URL, the rest of the source is kept byte for byte, and the pixel goes before
`</body>` (or at the end).
"""

from __future__ import annotations

import re
from functools import lru_cache
from html import escape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.urls import reverse

UNSUBSCRIBE = "xsender.campaigns.unsubscribe"
OPEN = "xsender.campaigns.open"
CLICK = "xsender.campaigns.click"
MAX_LINK = 2048  # a longer href is left as it is (not tracked)
MAX_TOKEN = 4096  # a longer token is refused before any work
_UNSAFE = ("\r", "\n", "\t", "\x00", " ", "<", ">", '"', "\\")
_NEWLINE = re.compile("\n")


def _signer(salt: str) -> signing.Signer:
    return signing.Signer(salt=salt, algorithm="sha256")


def _base() -> str:
    return settings.XSENDER_BASE_URL.rstrip("/")


def recipient_token(recipient_id: int, salt: str) -> str:
    return _signer(salt).sign(str(recipient_id))


def read_recipient_token(token: str, salt: str) -> int | None:
    """The recipient id `token` was signed for with `salt`, or None (bad, tampered or another kind's token)."""
    if len(token) > 100:
        return None
    try:
        value = _signer(salt).unsign(token)
    except signing.BadSignature:
        return None
    return int(value) if value.isdigit() else None


def safe_target(url: str) -> bool:
    """Whether `url` may be a redirect's target: an absolute http(s) URL with a host, no whitespace or quotes."""
    if not url or len(url) > MAX_LINK or any(c in url for c in _UNSAFE):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def click_token(recipient_id: int, url: str) -> str:
    return _signer(CLICK).sign_object([recipient_id, url], compress=True)


def read_click_token(token: str) -> tuple[int, str] | None:
    """(recipient id, target URL) of a click token, or None when it is bad, tampered, or its target is not a
    safe http(s) URL."""
    if len(token) > MAX_TOKEN:
        return None
    try:
        value: Any = _signer(CLICK).unsign_object(token)
    except (signing.BadSignature, ValueError, TypeError, UnicodeDecodeError):
        return None
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], int) and isinstance(value[1], str)):
        return None
    return (value[0], value[1]) if safe_target(value[1]) else None


@lru_cache(maxsize=8)
def _path(name: str) -> str:
    """The path of a `campaigns:<name>` URL before its token ("/u/"). Reversed once: a campaign makes one URL per
    link per recipient, and tokens hold only URL-safe characters (base64url, ":" and ".") that need no quoting."""
    return reverse(name, kwargs={"token": "-"})[:-2]


def _url(name: str, token: str) -> str:
    return f"{_base()}{_path(name)}{token}/"


def unsubscribe_url(recipient_id: int) -> str:
    return _url("campaigns:unsubscribe", recipient_token(recipient_id, UNSUBSCRIBE))


def open_url(recipient_id: int) -> str:
    return _url("campaigns:open", recipient_token(recipient_id, OPEN))


def click_url(recipient_id: int, url: str) -> str:
    return _url("campaigns:click", click_token(recipient_id, url))


class _Links(HTMLParser):
    """Finds the `<a>` tags to rewrite (their offsets in the source) and where `</body>` starts."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self.lines = [0, *(m.end() for m in _NEWLINE.finditer(source))]  # where each line starts (getpos counts \n)
        self.anchors: list[tuple[int, int, list[tuple[str, str | None]], bool]] = []
        self.body_end: int | None = None

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.lines[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._anchor(tag, attrs, closed=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._anchor(tag, attrs, closed=True)

    def _anchor(self, tag: str, attrs: list[tuple[str, str | None]], closed: bool) -> None:
        raw = self.get_starttag_text()
        if tag == "a" and raw is not None and any(name == "href" for name, _ in attrs):
            self.anchors.append((self._offset(), len(raw), attrs, closed))

    def handle_endtag(self, tag: str) -> None:
        if tag == "body":
            self.body_end = self._offset()


def _tracked(href: str) -> bool:
    return safe_target(href) and not href.startswith(_base() + "/")  # our own links (unsubscribe) stay as they are


def _tag(attrs: list[tuple[str, str | None]], closed: bool, recipient_id: int) -> str | None:
    parts, changed = ["<a"], False
    for name, value in attrs:
        if name == "href" and value is not None and _tracked(value.strip()):
            value, changed = click_url(recipient_id, value.strip()), True
        parts.append(f" {name}" if value is None else f' {name}="{escape(value, quote=True)}"')
    return "".join(parts) + ("/>" if closed else ">") if changed else None


def track_html(html: str, recipient_id: int) -> str:
    """`html` with each http(s) link through its click redirect and the open pixel added."""
    parser = _Links(html)
    parser.feed(html)
    parser.close()
    pieces, last = [], 0
    for start, length, attrs, closed in parser.anchors:
        tag = _tag(attrs, closed, recipient_id)
        if tag is not None:
            pieces += [html[last:start], tag]
            last = start + length
    pixel = f'<img src="{escape(open_url(recipient_id))}" width="1" height="1" alt="" style="border:0">'
    end = parser.body_end if parser.body_end is not None and parser.body_end >= last else len(html)
    return "".join([*pieces, html[last:end], pixel, html[end:]])
