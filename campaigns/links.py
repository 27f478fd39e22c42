"""Our own links in campaign messages: unsubscribe, the open pixel and click redirects (docs/campaigns.md).

Each link carries a token signed with Django's signing (HMAC-SHA256 keyed by SECRET_KEY, one salt per kind of
link, so a pixel's token is no unsubscribe token). A token names the campaign recipient (CampaignRecipient's
key: one contact of one campaign, and through it the message) — never the tenant or the address; a click token
also carries the link's target. The send API's templated messages to a contact carry an unsubscribe token of
their own that names the contact (its key) and the channel. Nothing in the URL is trusted unless the signature checks, and a
click's target comes only from its signed token, never from a query parameter: the redirect cannot be aimed
anywhere the tenant's own HTML did not point, and only at http(s) URLs (docs/security.md).

`track_html` rewrites a rendered HTML part with the standard library's HTML parser: each `<a href="http(s)://…">`
tag is rebuilt with a click URL, the rest of the source is kept byte for byte, and the pixel goes before
`</body>` (or at the end).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from functools import lru_cache
from html import escape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from django.core import signing
from django.template import Context
from django.urls import reverse
from django.utils.encoding import force_bytes

from campaigns.rendering import render_source
from xsender.hot_settings import setting

UNSUBSCRIBE = "xsender.campaigns.unsubscribe"
CONTACT_UNSUBSCRIBE = "xsender.contacts.unsubscribe"  # a contact's link in a message outside any campaign
OPEN = "xsender.campaigns.open"
CLICK = "xsender.campaigns.click"
MAX_LINK = 2048  # a longer href is left as it is (not tracked)
MAX_TOKEN = 4096  # a longer token is refused before any work
_UNSAFE = ("\r", "\n", "\t", "\x00", " ", "<", ">", '"', "\\")
_NEWLINE = re.compile("\n")


def _signer(salt: str) -> signing.Signer:
    return signing.Signer(salt=salt, algorithm="sha256")


def _base() -> str:
    return setting("XSENDER_BASE_URL").rstrip("/")


@lru_cache(maxsize=16)
def _mac(salt: str, key: str | bytes) -> hmac.HMAC:
    """The HMAC that `_signer(salt)` computes with `key`, its key already derived (Django's salted_hmac derives
    it from the salt and SECRET_KEY on every call): copied for each token."""
    derived = hashlib.sha256(force_bytes(salt + "signer") + force_bytes(key)).digest()
    return hmac.new(derived, digestmod=hashlib.sha256)


def _sign(value: str, salt: str) -> str:
    """`_signer(salt).sign(value)`, the same token, without building a Signer and deriving its key each time: a
    campaign signs several links a message (tests/campaigns/test_fast_paths.py compares both)."""
    mac = _mac(salt, setting("SECRET_KEY")).copy()
    mac.update(value.encode())
    return f"{value}:{signing.b64_encode(mac.digest()).decode()}"


def recipient_token(recipient_id: int, salt: str) -> str:
    return _sign(str(recipient_id), salt)


def contact_token(contact_id: int, channel: str) -> str:
    return _sign(f"{contact_id}.{channel}", CONTACT_UNSUBSCRIBE)


def _unsign(token: str, salt: str) -> str:
    """The value `token` signs with `salt`, or "" (too long, bad, tampered or another kind's token)."""
    if len(token) > 100:
        return ""
    try:
        return _signer(salt).unsign(token)
    except signing.BadSignature:
        return ""


def read_contact_token(token: str) -> tuple[int, str] | None:
    """(contact id, channel) of a contact's unsubscribe token, or None (bad, tampered or another kind's token)."""
    contact_id, _, channel = _unsign(token, CONTACT_UNSUBSCRIBE).partition(".")
    return (int(contact_id), channel) if contact_id.isdigit() and channel in ("email", "sms", "whatsapp") else None


def read_recipient_token(token: str, salt: str) -> int | None:
    """The recipient id `token` was signed for with `salt`, or None (bad, tampered or another kind's token)."""
    value = _unsign(token, salt)
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


@lru_cache(maxsize=1024)
def _json_string(value: str) -> str:
    return json.dumps(value)


def click_token(recipient_id: int, url: str) -> str:
    """`_signer(CLICK).sign_object([recipient_id, url])`: Django's compact JSON, base64url, signed (the same
    token). Not compressed: a link's JSON is too short for zlib to save much, and compressing cost half of the
    token's time (read_click_token reads compressed tokens as well, as Django does)."""
    if type(recipient_id) is int:  # a template's links repeat for every recipient: their JSON is kept
        data = f"[{recipient_id},{_json_string(url)}]".encode("latin-1")
    else:
        data = json.dumps([recipient_id, url], separators=(",", ":")).encode("latin-1")
    return _sign(signing.b64_encode(data).decode(), CLICK)


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


def contact_unsubscribe_url(contact_id: int, channel: str) -> str:
    """The unsubscribe link of a message the send API renders from a template for one of the tenant's contacts
    (no campaign recipient behind it): the same page, naming the contact and the channel."""
    return _url("campaigns:unsubscribe", contact_token(contact_id, channel))


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


def _tracked(href: str, base: str | None = None) -> bool:
    # Our own links (unsubscribe) stay as they are; they differ by recipient, so they stay out of the cache.
    return not href.startswith((_base() if base is None else base) + "/") and _safe_link(href)


@lru_cache(maxsize=1024)
def _safe_link(href: str) -> bool:
    """`safe_target`, cached: a template's links are the same for every recipient."""
    return safe_target(href)


def _tag(attrs: list[tuple[str, str | None]], closed: bool, recipient_id: int) -> str | None:
    """The `<a>` tag rebuilt with the recipient's click URL in place of each tracked href, or None when it has
    none to track."""
    pieces = _tag_pieces(tuple(attrs), closed, _base())
    return None if pieces is None else _clicks(pieces, recipient_id)


@lru_cache(maxsize=8)
def _escaped_click_prefix(base: str) -> str:
    return escape(f"{base}{_path('campaigns:click')}", quote=True)


def _clicks(pieces: tuple[tuple[str, ...], tuple[str, ...]], recipient_id: int) -> str:
    """The tag's texts around the recipient's click URLs, each as `escape(click_url(…), quote=True)` gives it: the
    URL's start escaped once per base, its token (base64url and ":") needing none."""
    texts, targets = pieces
    prefix = _escaped_click_prefix(_base())
    out = [texts[0]]
    for target, text in zip(targets, texts[1:], strict=True):
        out += [prefix, click_token(recipient_id, target), "/", text]
    return "".join(out)


# ---------------------------------------------------------------- one parse per template
#
# A campaign tracks the same template rendered for each contact, and the parser's work (~0.4 ms a message) is
# the same for all of them: what differs is the contact's data, which the HTML part escapes (no `<`, `>`, `"`
# or `'` in it; `&` only as a complete reference). The parse is kept per *shape* of the HTML: the source with
# every run of text between a `>` and the next `<` that holds none of those four characters and no `&#` but a
# complete `&#…;` replaced by a mark, and the quoted attribute values (without `&`) of plain `<a …>` tags
# emptied. Two sources of one shape differ only in such runs and values, and HTMLParser ends every construct
# (a tag, a quoted value, a comment, a declaration, raw text) on one of those four characters, and stops reading
# markup only at an incomplete `&#`, so both parse alike: the same tags in the same order, only at other
# offsets. The shape's parse records the anchors and `</body>` as indexes into the source's `<…>` spans, and is
# used only when each of them is exactly one such span (otherwise every source of that shape is parsed whole, as
# before); each anchor's attributes are then read from its own text.

_SPAN = re.compile(r"<[^>]*>")
# Possessive (`*+`, `++`): a pattern never backtracks, so a tenant's HTML cannot make it slow.
_RUN = re.compile(r">[^<>\"'&]*+(?:&(?!#)[^<>\"'&]*+|&#(?:[0-9]++|[xX][0-9a-fA-F]++);[^<>\"'&]*+)*+(?=<|\Z)")
_PLAIN_ANCHOR = re.compile(
    r"""<a(?:\s++[^\s"'<>=/&]++(?:\s*+=\s*+(?:"[^"'<>&]*+"|'[^"'<>&]*+'))?+)*+\s*+/?>""", re.IGNORECASE
)
_DOUBLE, _SINGLE = re.compile(r'"[^"]*"'), re.compile(r"'[^']*'")
_MARK = "\x00"
_SHAPES: dict[str, tuple[tuple[int, ...], int | None] | None] = {}
_MAX_SHAPES = 256
_UNKNOWN: Any = object()


def _emptied(match: re.Match[str]) -> str:
    return _SINGLE.sub("''", _DOUBLE.sub('""', match.group()))


def _shape(html: str) -> str:
    return _PLAIN_ANCHOR.sub(_emptied, _RUN.sub(">" + _MARK, html))


def _parsed(html: str) -> tuple[list[tuple[int, int, list[tuple[str, str | None]], bool]], int | None]:
    parser = _Links(html)
    parser.feed(html)
    parser.close()
    return parser.anchors, parser.body_end


def _indexed(html: str, anchors: list[Any], body_end: int | None) -> tuple[tuple[int, ...], int | None] | None:
    """The parse of `html` as indexes into its `<…>` spans, or None when an anchor or `</body>` is not one."""
    spans = {m.start(): (index, m.end()) for index, m in enumerate(_SPAN.finditer(html))}
    found = []
    for start, length, _, _ in anchors:
        index, end = spans.get(start, (None, None))
        if index is None or end != start + length:
            return None
        found.append(index)
    if body_end is None:
        return tuple(found), None
    return (tuple(found), spans[body_end][0]) if body_end in spans else None


_PLAIN_ATTRIBUTE = re.compile(r"""\s++([^\s"'<>=/&]++)(?:\s*+=\s*+(?:"([^"'<>&]*+)"|'([^"'<>&]*+)'))?+""")


@lru_cache(maxsize=1024)
def _anchor_of(text: str) -> tuple[list[tuple[str, str | None]], bool] | None:
    """The attributes of the one `<a …>` tag `text` is (parsed alone), or None when it is not exactly that. A
    plain anchor's are read by a pattern (what the parser reads there: names in lower case, values unquoted,
    nothing to unescape); any other text goes through the parser."""
    if _PLAIN_ANCHOR.fullmatch(text):
        attrs = [(m[1].lower(), m[2] if m[2] is not None else m[3]) for m in _PLAIN_ATTRIBUTE.finditer(text, 2)]
        if any(name == "href" for name, _ in attrs):
            return attrs, text.endswith("/>")
        return None
    anchors, _ = _parsed(text)
    if len(anchors) != 1 or anchors[0][0] != 0 or anchors[0][1] != len(text):
        return None
    return anchors[0][2], anchors[0][3]


def _anchors(html: str) -> tuple[list[tuple[int, int, list[tuple[str, str | None]], bool]], int | None]:
    """What `_parsed(html)` finds, from the parse of the shape when one is known."""
    if _MARK in html:
        return _parsed(html)
    shape = _shape(html)
    known = _SHAPES.get(shape, _UNKNOWN)  # one lookup: another thread may empty the cache meanwhile
    if known is _UNKNOWN:
        anchors, body_end = _parsed(html)
        if len(_SHAPES) >= _MAX_SHAPES:
            _SHAPES.clear()
        _SHAPES[shape] = _indexed(html, anchors, body_end)
        return anchors, body_end
    if known is None:
        return _parsed(html)
    indexes, body = known
    spans = [m.span() for m in _SPAN.finditer(html)]
    anchors = []
    for index in indexes:
        start, end = spans[index]
        anchor = _anchor_of(html[start:end])
        if anchor is None:
            return _parsed(html)
        anchors.append((start, end - start, *anchor))
    return anchors, None if body is None else spans[body][0]


def track_html(html: str, recipient_id: int) -> str:
    """`html` with each http(s) link through its click redirect and the open pixel added."""
    found, body_end = _anchors(html)
    pieces, last = [], 0
    for start, length, attrs, closed in found:
        tag = _tag(attrs, closed, recipient_id)
        if tag is not None:
            pieces += [html[last:start], tag]
            last = start + length
    pixel = f'<img src="{escape(open_url(recipient_id))}" width="1" height="1" alt="" style="border:0">'
    end = body_end if body_end is not None and body_end >= last else len(html)
    return "".join([*pieces, html[last:end], pixel, html[end:]])


# ---------------------------------------------------------------- one plan per template
#
# A campaign's HTML part can be tracked before it is rendered: its anchors found once in the template's source,
# each replaced per recipient by its click URLs, the rest rendered piece by piece. The result is what
# track_html gives for the rendered part (tests/campaigns/test_fast_paths.py compares them) because rendering
# can change no tag: a contact's data is escaped (no `<`, `>`, `"`, `'`; `&` only as a complete reference), and
# a template is planned only when every placeholder (and comment) of its source holds none of `<`, `>`, `&`,
# follows no `&`, and is either in text (every `<` before it closed by a `>`) or in a start tag other than `<a>`,
# after its name and holding no quote (or is the whole href of an `<a>`, when it is `{{ unsubscribe_url }}`),
# and when the source has no `&#` (the one text after which the parser stops reading markup depends on what
# follows it). Any other template is rendered, then tracked as before.

_CONSTRUCT = re.compile(r"({%.*?%}|{{.*?}}|{#.*?#})")  # django.template.base.tag_re: what the lexer splits on
_PIXEL: Any = object()
_NAME_END = re.compile(r"\s")


class _Tags(_Links):
    """_Links that also records every tag's extent and kind ("a", "tag" or "end") and an `<a>` tag's attributes."""

    def __init__(self, source: str) -> None:
        super().__init__(source)
        self.source = source
        self.tags: list[tuple[int, int, str, list[tuple[str, str | None]]]] = []

    def _anchor(self, tag: str, attrs: list[tuple[str, str | None]], closed: bool) -> None:
        raw = self.get_starttag_text()
        if raw is not None:
            start = self._offset()
            self.tags.append((start, start + len(raw), "a" if tag == "a" else "tag", attrs))
        super()._anchor(tag, attrs, closed)

    def handle_endtag(self, tag: str) -> None:
        start = self._offset()
        end = self.source.find(">", start)
        self.tags.append((start, len(self.source) if end < 0 else end + 1, "end", []))
        super().handle_endtag(tag)


_UNSUBSCRIBE_HREF = re.compile(r"{{\s*unsubscribe_url\s*}}")


def _in_tag_ok(source: str, start: int, raw: str, tag: tuple[int, int, str, list[tuple[str, str | None]]]) -> bool:
    """Whether the placeholder `raw` at `start` may stand in this tag: after the name of a tag other than `<a>`,
    holding no quote; or as the whole href of an `<a>` whose only href it is, when it is `{{ unsubscribe_url }}`
    (our own link: never tracked, so that anchor is kept as rendered)."""
    tag_start, _, kind, attrs = tag
    if kind == "end" or _NAME_END.search(source, tag_start, start) is None:
        return False
    if kind == "tag":
        return not any(c in raw for c in "\"'")
    hrefs = [value for name, value in attrs if name == "href"]
    return bool(_UNSUBSCRIBE_HREF.fullmatch(raw)) and len(hrefs) == 1 and (hrefs[0] or "").strip() == raw


def _plannable(source: str, tags: list[tuple[int, int, str, list[tuple[str, str | None]]]]) -> bool:
    for match in _CONSTRUCT.finditer(source):
        start, end, raw = match.start(), match.end(), match.group()
        if any(c in raw for c in "<>&") or source[start - 1 : start] == "&":
            return False
        around = [tag for tag in tags if tag[0] < end and start < tag[1]]
        if around:
            if not all(_in_tag_ok(source, start, raw, tag) for tag in around):
                return False
        elif source.rfind("<", 0, start) > source.rfind(">", 0, start):
            return False  # after a `<` no tag closed: a comment, a declaration, a `<` of text: not worth proving
    return True


@lru_cache(maxsize=64)
def _plan(source: str, base: str) -> tuple[Any, ...] | None:
    """The source's pieces: texts to render, anchors as (texts, targets) around their click URLs, and _PIXEL
    where the pixel goes; None when the source cannot be planned (see above)."""
    if "&#" in source or _MARK in source:
        return None
    parser = _Tags(source)
    parser.feed(source)
    parser.close()
    if not _plannable(source, parser.tags):
        return None
    pieces: list[Any] = []
    last = 0
    for start, length, attrs, closed in parser.anchors:
        tag = _tag_pieces(tuple(attrs), closed, base)
        if tag is not None:
            pieces += [source[last:start], tag]
            last = start + length
    body_end = parser.body_end
    end = body_end if body_end is not None and body_end >= last else len(source)
    return (*pieces, source[last:end], _PIXEL, source[end:])


@lru_cache(maxsize=1024)
def _tag_pieces(
    attrs: tuple[tuple[str, str | None], ...], closed: bool, base: str
) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """An `<a>` tag rebuilt around its tracked hrefs: the texts between them (every other attribute as it was,
    escaped) and their targets (one more text than targets); None when it has no href to track. Kept per tag: a
    template's anchors are the same for every recipient."""
    texts, targets, current = [], [], ["<a"]
    for name, value in attrs:
        if name == "href" and value is not None and _tracked(value.strip(), base):
            texts.append("".join([*current, f' {name}="']))
            targets.append(value.strip())
            current = ['"']
        else:
            current.append(f" {name}" if value is None else f' {name}="{escape(value, quote=True)}"')
    if not targets:
        return None
    texts.append("".join([*current, "/>" if closed else ">"]))
    return tuple(texts), tuple(targets)


def tracked_render(source: str, context: Context, recipient_id: int) -> str:
    """The HTML part `source` rendered with `context` and tracked for the recipient: `track_html` of the rendered
    part, from the source's plan when it has one; "" when the part renders empty (nothing to track)."""
    plan = _plan(source, _base())
    if plan is None:
        html = render_source(source, context, html=True)
        return track_html(html, recipient_id) if html else ""
    out: list[str] = []
    anchors, pixel = False, 0
    for piece in plan:
        if piece.__class__ is str:
            out.append(render_source(piece, context, html=True))
        elif piece is _PIXEL:
            pixel = len(out)
            out.append("")
        else:
            anchors = True
            out.append(_clicks(piece, recipient_id))
    if not anchors and not any(out):
        return ""  # the part rendered empty: no message part to track
    out[pixel] = f'<img src="{escape(open_url(recipient_id))}" width="1" height="1" alt="" style="border:0">'
    return "".join(out)
