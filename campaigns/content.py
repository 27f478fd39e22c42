"""A template rendered for one contact (campaigns.rendering fills the placeholders of each part)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.template import Context

from campaigns import links
from campaigns.models import Template
from campaigns.rendering import contact_context, render_source
from messaging.items import EmailItem, Item, SmsItem, WhatsAppItem


@dataclass
class Rendered:
    """A template rendered for one contact: the email parts, or the body / the WhatsApp Cloud template."""

    channel: str
    subject: str = ""
    html: str = ""
    text: str = ""
    from_name: str = ""
    reply_to: str = ""
    body: str = ""
    whatsapp_template: dict[str, Any] | None = None


def _render(template: Template, context: Context, tracked_for: int | None = None) -> Rendered:
    if template.channel == "email":
        html = (
            render_source(template.html, context, html=True)
            if tracked_for is None
            else links.tracked_render(template.html, context, tracked_for)
        )
        return Rendered(
            channel="email",
            subject=render_source(template.subject, context, header=True),
            html=html,
            text=render_source(template.text, context),
            from_name=template.from_name,
            reply_to=template.reply_to,
        )
    if template.whatsapp_template:
        return Rendered(channel=template.channel, whatsapp_template=_render_json(template.whatsapp_template, context))
    return Rendered(channel=template.channel, body=render_source(template.body, context))


def _render_json(value: Any, context: Context) -> Any:
    if isinstance(value, str):  # Meta refuses line breaks in template parameters: a contact's become spaces
        return render_source(value, context, header=True)
    if isinstance(value, Mapping):
        return {k: _render_json(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_json(v, context) for v in value]
    return value


def render_template(
    *, template: Template, contact: Mapping[str, Any], unsubscribe_url: str = "", tracked_for: int | None = None
) -> Rendered:
    """`template` filled with `contact`'s data (a plain dict: first_name, last_name, email, phone, company and
    custom: {field: value}); values that are not plain data render as nothing. HTML escapes the contact's data;
    text, SMS and WhatsApp keep it; the subject has its line breaks flattened. Never raises for a saved
    template (its placeholders were checked on save). `tracked_for`: a campaign recipient's id, whose open pixel
    and click redirects the HTML part gets (campaigns.links.tracked_render)."""
    return _render(template, contact_context(contact, unsubscribe_url=unsubscribe_url), tracked_for)


def rendered_item(rendered: Rendered, *, recipient: str, html: str | None = None, **fields: Any) -> Item:
    """The send path's item of a template rendered for one recipient: the one place content becomes a message, for
    campaigns, the send API's templates and the panel's test send. Email: the subject; the HTML part (`html`, when
    the caller changed it, e.g. with tracked links) as the body with the text part beside it, else the text part;
    the template's from name and reply-to unless `fields` give their own. SMS: the text. WhatsApp: the approved
    template, or the text. `fields`: the rest of the item (gateway, schedule_at, from_email, sms_type …)."""
    if rendered.channel == "email":
        html = rendered.html if html is None else html
        fields["sender_name"] = fields.get("sender_name") or rendered.from_name
        fields["reply_to"] = fields.get("reply_to") or rendered.reply_to
        return EmailItem(
            recipient=recipient, subject=rendered.subject, body=html or rendered.text,
            text=rendered.text if html else "", **fields,
        )  # fmt: skip
    if rendered.channel == "sms":
        return SmsItem(recipient=recipient, body=rendered.body, **fields)
    return WhatsAppItem(recipient=recipient, body=rendered.body, template=rendered.whatsapp_template, **fields)
