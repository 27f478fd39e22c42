"""Recipients and content a send request names by reference: a contact, a list or a tag instead of an address,
a template instead of subject and message (docs/api.md, "Templates and contacts").

The send path knows messages, not audiences: the app that owns contacts and templates (campaigns) registers the
resolver when Django starts (CampaignsConfig.ready), and a dialect hands it the request's references. The resolver
returns the typed items to accept, each with the index of the request entry it came from (a list becomes one
item per member), or raises ValidationFailed whose errors carry the entry's index and a neutral field
(`template`, `template_data`, `contact_id`, `list_id`, `tag`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from accounts.models import User
from messaging.items import Item

# Fields an entry may name its recipient by instead of an address; at most one of them, or the address.
RECIPIENT_REFERENCES = ("contact_id", "list_id", "tag")


@dataclass
class Reference:
    """One request entry that names a template or its recipients by reference. `item` holds the entry's literal
    fields (gateway, schedule, sender name, reply-to, SMS type, attachments …); its recipient is empty when a
    contact, list or tag names it, its subject and body empty when a template gives them."""

    index: int
    item: Item
    template: str = ""
    template_data: dict[str, Any] = field(default_factory=dict)
    contact_id: str = ""
    list_id: str = ""
    tag: str = ""

    @property
    def names_recipients(self) -> bool:
        return bool(self.contact_id or self.list_id or self.tag)


Resolver = Callable[..., list[tuple[int, Item]]]
_resolver: list[Resolver] = []


def register(resolver: Resolver) -> None:
    """Makes `resolver(principal=, channel=, references=, max_items=)` the one that expands references."""
    _resolver[:] = [resolver]


def expand(
    *, principal: User, channel: str, entries: Sequence[Item | Reference], max_items: int
) -> tuple[list[Item], list[int]]:
    """The items a request's entries stand for, in order, and for each the index of its entry (a list's members
    all come from one entry). Errors of references name their entry's index. Entries without a reference pass
    as they are (no query when none has one)."""
    references = [e for e in entries if isinstance(e, Reference)]
    if not references:
        return list(entries), list(range(len(entries)))  # type: ignore[arg-type]
    room = max_items - (len(entries) - len(references))
    expanded = iter(_resolver[0](principal=principal, channel=channel, references=references, max_items=room))
    items: list[Item] = []
    origins: list[int] = []
    pending = next(expanded, None)
    for index, entry in enumerate(entries):
        if not isinstance(entry, Reference):
            items.append(entry)
            origins.append(index)
            continue
        while pending is not None and pending[0] == entry.index:
            items.append(pending[1])
            origins.append(index)
            pending = next(expanded, None)
    return items, origins
