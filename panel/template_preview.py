"""What the Templates pages render and send: a template (saved, or as typed in the editor) filled with a contact's
data or sample data, and the one test message built from it. Rendering, checks and sending are campaigns.services'
and messaging.services'; this module only chooses the data and shapes the item."""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from redis.exceptions import RedisError

from accounts.models import User
from campaigns import services as templates
from campaigns.content import rendered_item
from campaigns.models import Template
from campaigns.services import Rendered
from contacts.selectors import contact_data, custom_field_names, get_contact
from messaging.items import Item
from panel.template_forms import SAMPLE
from xsender.errors import FieldError, NotFound, ValidationFailed
from xsender.redis import get_redis

logger = logging.getLogger(__name__)
# A preview's HTML part is shown from its own URL (template_preview_html) with a policy that lets an email's inline
# styles and images render; it waits in Redis for the page to load it, for its owner only.
PREVIEW_TTL = 3600


@dataclass
class Preview:
    rendered: Rendered | None = None
    errors: list[FieldError] = field(default_factory=list)
    contact: str = ""  # whose data: a contact's label, or "sample data"
    html_token: str = ""  # where the HTML part waits (stash_html); "" = shown inline (srcdoc) instead

    @property
    def whatsapp_json(self) -> str:
        approved = self.rendered.whatsapp_template if self.rendered else None
        return json.dumps(approved, indent=2, ensure_ascii=False) if approved else ""


def preview_data(owner: User, contact_id: str) -> tuple[dict[str, Any], str]:
    """The chosen contact's data for a template (two queries), or sample data — with every custom field shown as
    `[its name]` so the tenant sees where it goes — when none is chosen or it is gone."""
    names = custom_field_names(owner=owner)
    if contact_id:
        try:
            contact = get_contact(owner=owner, public_id=contact_id)
        except NotFound:
            pass
        else:
            return contact_data(contact, names), str(contact)
    return {**SAMPLE, "custom": {name: f"[{name}]" for name in names.values()}}, "sample data"


# One hash of previews per tenant, newest tokens first in a list beside it: the oldest beyond PREVIEW_KEEP are
# dropped, so a tenant previewing in a loop holds at most PREVIEW_KEEP × PREVIEW_MAX_BYTES of Redis.
_STASH = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('LPUSH', KEYS[2], ARGV[1])
local dropped = redis.call('LRANGE', KEYS[2], tonumber(ARGV[3]), -1)
if #dropped > 0 then
  redis.call('HDEL', KEYS[1], unpack(dropped))
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
"""
PREVIEW_KEEP = 4  # a tenant's previews kept at once (several tabs)
PREVIEW_MAX_BYTES = 2 * 1024 * 1024  # a larger HTML part is shown inline


@lru_cache(maxsize=4)
def _stash_script(client: Any) -> Any:
    return client.register_script(_STASH)


def _keys(owner_id: int) -> list[str]:
    return [f"xsender:panel:previews:{owner_id}", f"xsender:panel:previews:{owner_id}:order"]


def stash_html(owner_id: int, html: str) -> str:
    """Keeps a preview's HTML part for its owner for PREVIEW_TTL seconds (with at most PREVIEW_KEEP - 1 others of
    theirs); returns the token that names it, or "" when the part is larger than PREVIEW_MAX_BYTES or Redis is
    unreachable (the page then shows the part inline, under the panel's own policy)."""
    if len(html) > PREVIEW_MAX_BYTES // 4 and len(html.encode()) > PREVIEW_MAX_BYTES:
        return ""
    token = secrets.token_urlsafe(24)
    try:
        _stash_script(get_redis())(keys=_keys(owner_id), args=[token, html, PREVIEW_KEEP, PREVIEW_TTL])
    except RedisError as exc:
        logger.warning("Could not keep a template preview (%s); shown inline.", type(exc).__name__)
        return ""
    return token


def stashed_html(owner_id: int, token: str) -> str | None:
    """The HTML part `stash_html` kept under `token` for `owner_id`; None when gone, unknown or another's."""
    if not 0 < len(token) <= 64:
        return None
    kept = get_redis().hget(_keys(owner_id)[0], token)
    return kept.decode() if isinstance(kept, bytes) else kept


def saved_preview(template: Template, data: dict[str, Any], whose: str) -> Preview:
    rendered = templates.preview_template(template=template, data=data)
    token = stash_html(template.owner_id, rendered.html) if rendered.html else ""
    return Preview(rendered=rendered, contact=whose, html_token=token)


def typed_preview(
    owner: User, channel: str, content: dict[str, Any], data: dict[str, Any], whose: str, template: Template | None
) -> Preview:
    """The editor's content as it would render, unsaved: checked by the same rules as a save (a refused placeholder
    is listed, nothing is rendered), then rendered from an unsaved Template. The name is not the preview's concern:
    a name nobody has is checked instead of the typed one."""
    try:
        fields = templates.check_template(
            owner=owner, channel=channel, name=f"preview {uuid.uuid4().hex}", content=content, template=template
        )
    except ValidationFailed as exc:
        return Preview(errors=exc.errors, contact=whose)
    fields.pop("name")
    draft = Template(owner=owner, channel=channel, name="preview", **fields)
    return saved_preview(draft, data, whose)


def test_item(rendered: Rendered, recipient: str, gateway: str) -> Item:
    """The one test message, built as every message of a template is (campaigns.content.rendered_item)."""
    return rendered_item(rendered, recipient=recipient, gateway=gateway)
