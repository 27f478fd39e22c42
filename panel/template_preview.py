"""What the Templates pages render and send: a template (saved, or as typed in the editor) filled with a contact's
data or sample data, and the one test message built from it. Rendering, checks and sending are campaigns.services'
and messaging.services'; this module only chooses the data and shapes the item."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from accounts.models import User
from campaigns import services as templates
from campaigns.content import rendered_item
from campaigns.models import Template
from campaigns.services import Rendered
from contacts.selectors import contact_data, custom_field_names, get_contact
from messaging.items import Item
from panel.template_forms import SAMPLE
from xsender.errors import FieldError, NotFound, ValidationFailed


@dataclass
class Preview:
    rendered: Rendered | None = None
    errors: list[FieldError] = field(default_factory=list)
    contact: str = ""  # whose data: a contact's label, or "sample data"

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


def saved_preview(template: Template, data: dict[str, Any], whose: str) -> Preview:
    return Preview(rendered=templates.preview_template(template=template, data=data), contact=whose)


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
