"""The panel's navigation, written once: base.html renders it with `{% panel_navigation %}`.

An entry whose URL name does not resolve (yet) is left out, so a page appears in the navigation the moment its
URL exists. To add a page, add its entry here (and its URL in panel/urls.py); nothing in the templates changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class Entry:
    label: str
    url_name: str
    query: str = ""  # e.g. "?channel=email" for one page serving several entries
    children: tuple[Entry, ...] = field(default_factory=tuple)


NAVIGATION: tuple[Entry, ...] = (
    Entry("Dashboard", "panel:home"),
    Entry("Send", "panel:send"),
    Entry("History", "panel:history"),
    Entry("Contacts", "panel:contacts"),
    Entry("Templates", "panel:templates"),
    Entry("Senders", "panel:senders"),
    Entry("Campaigns", "panel:campaigns"),
    Entry("Reports", "panel:reports"),
    Entry(
        "Gateways",
        "panel:gateways",
        children=(
            Entry("Email", "panel:gateways", "?channel=email"),
            Entry("SMS", "panel:gateways", "?channel=sms"),
            Entry("WhatsApp", "panel:gateways", "?channel=whatsapp"),
            Entry("Android", "panel:devices"),
        ),
    ),
    Entry("Webhooks", "panel:webhooks"),
    Entry("API keys", "panel:api-keys"),
    Entry("Credits", "panel:credits"),
    Entry("Account", "panel:account"),
)


@dataclass
class Link:
    label: str
    url: str
    current: bool
    children: list[Link]


def _url(entry: Entry) -> str | None:
    try:
        return reverse(entry.url_name) + entry.query
    except NoReverseMatch:
        return None


def _is_current(request: HttpRequest, url: str) -> bool:
    path, _, query = url.partition("?")
    if path == "/":
        return request.path == "/"
    if not request.path.startswith(path):
        return False
    return not query or request.GET.urlencode() == query


def links(request: HttpRequest) -> list[Link]:
    """The navigation as the signed-in tenant sees it: the entries whose page exists, the current one marked."""
    found = []
    for entry in NAVIGATION:
        children = [
            Link(child.label, url, _is_current(request, url), []) for child in entry.children if (url := _url(child))
        ]
        url = _url(entry) or (children[0].url if children else None)
        if url is None:
            continue
        current = _is_current(request, url) or any(child.current for child in children)
        found.append(Link(entry.label, url, current, children))
    return found
