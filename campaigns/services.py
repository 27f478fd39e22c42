"""Every state change of templates (create, update, delete) and their rendering for a contact or a preview.

Each field's placeholders are checked on save (campaigns.rendering), so rendering a saved template never
fails. Errors are ValidationFailed naming the field (`subject`, `whatsapp_template.components.0.text` …).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import idna
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template import Context
from django.utils import timezone

from accounts.models import CHANNELS, User
from campaigns.models import Template
from campaigns.rendering import PlaceholderError, check_source, contact_context, render_source
from messaging.validation import HEADER_BREAKS, LIMITS, normalise_email
from xsender.errors import FieldError, ValidationFailed

# Which content fields each channel uses; any other content field must stay empty.
CHANNEL_FIELDS: dict[str, tuple[str, ...]] = {
    "email": ("subject", "html", "text", "from_name", "reply_to"),
    "sms": ("body",),
    "whatsapp": ("body", "whatsapp_template"),
}
CONTENT_FIELDS = ("subject", "html", "text", "from_name", "reply_to", "body", "whatsapp_template")
EDITABLE = ("name", *CONTENT_FIELDS)
HEADER_FIELDS = ("name", "subject", "from_name", "reply_to")
TEMPLATED = ("subject", "html", "text", "body")  # the string fields that hold placeholders
MAX_LENGTH = {
    "name": 200,
    "subject": LIMITS["subject"],
    "html": LIMITS["email_body"],
    "text": LIMITS["email_body"],
    "from_name": LIMITS["sender_name"],
    "reply_to": 254,
    "body": LIMITS["wa_body"],  # SMS bodies too: a long SMS is split, and the send path checks its own limit
}
MAX_WHATSAPP_TEMPLATE = 64_000  # characters of its JSON form
# Meta's rules: template names are lower case, digits and underscores; languages are codes such as en or en_US.
WHATSAPP_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
WHATSAPP_LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$")


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


def _text_errors(name: str, value: Any) -> list[FieldError]:
    if not isinstance(value, str):
        return [{"field": name, "message": "Must be text."}]
    if len(value) > MAX_LENGTH[name]:
        return [{"field": name, "message": f"At most {MAX_LENGTH[name]} characters."}]
    if name in HEADER_FIELDS and any(c in value for c in HEADER_BREAKS):  # NUL included
        return [{"field": name, "message": "Line breaks are not allowed here."}]
    return _source_errors(name, value) if name in TEMPLATED else []


def _source_errors(name: str, source: str) -> list[FieldError]:
    if "\x00" in source:
        return [{"field": name, "message": "NUL characters are not allowed."}]
    try:
        check_source(source)
    except PlaceholderError as exc:
        return [{"field": name, "message": exc.message}]
    return []


def _strings(value: Any, path: str) -> list[tuple[str, str]]:
    """Every string inside a JSON value, with its dotted path."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, Mapping):
        return [s for k, v in value.items() for s in _strings(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in _strings(v, f"{path}.{i}")]
    return []


def _whatsapp_template_errors(value: Any) -> list[FieldError]:
    field = "whatsapp_template"
    if not isinstance(value, Mapping) or set(value) - {"name", "language", "components"}:
        return [{"field": field, "message": 'An object with "name", "language" and "components" only.'}]
    errors: list[FieldError] = []
    if not WHATSAPP_NAME.match(str(value.get("name") or "")):
        errors.append({"field": f"{field}.name", "message": "The approved template's name: a-z, 0-9 and _."})
    if not WHATSAPP_LANGUAGE.match(str(value.get("language") or "")):
        errors.append({"field": f"{field}.language", "message": "A language code such as en or en_US."})
    components = value.get("components", [])
    if not isinstance(components, list) or not all(isinstance(c, Mapping) for c in components):
        errors.append({"field": f"{field}.components", "message": "A list of component objects."})
    elif len(str(components)) > MAX_WHATSAPP_TEMPLATE:
        errors.append({"field": f"{field}.components", "message": "Too large."})
    else:
        for path, text in _strings(components, f"{field}.components"):
            errors += _source_errors(path, text)
    return errors


def _content_errors(channel: str, fields: Mapping[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    for name, value in fields.items():
        if name not in CHANNEL_FIELDS[channel] and value:
            errors.append({"field": name, "message": f"Not used by {channel} templates: leave it empty."})
        elif name == "whatsapp_template":
            errors += _whatsapp_template_errors(value) if value is not None else []
        else:
            errors += _text_errors(name, value)
    return errors


def _required_errors(channel: str, fields: Mapping[str, Any]) -> list[FieldError]:
    if channel == "email":
        missing: list[FieldError] = []
        if not fields.get("subject"):
            missing.append({"field": "subject", "message": "This field is required."})
        if not fields.get("html") and not fields.get("text"):
            missing.append({"field": "html", "message": "Give the HTML part, the text part or both."})
        return missing
    if channel == "whatsapp" and fields.get("body") and fields.get("whatsapp_template"):
        return [{"field": "whatsapp_template", "message": "Give either a body or an approved template, not both."}]
    if not fields.get("body") and not fields.get("whatsapp_template"):
        return [{"field": "body", "message": "This field is required."}]
    return []


def _reply_to_errors(value: str) -> list[FieldError]:
    try:
        validate_email(normalise_email(value))
    except (DjangoValidationError, ValueError, idna.IDNAError):
        return [{"field": "reply_to", "message": f"{value!r} is not a valid email address."}]
    return []


def _name_errors(owner: User, name: Any, template: Template | None) -> list[FieldError]:
    if not name:
        return [{"field": "name", "message": "This field is required."}]
    errors = _text_errors("name", name)
    taken = Template.objects.for_tenant(owner).filter(name=name)
    if not errors and taken.exclude(pk=template.pk if template else None).exists():
        errors.append({"field": "name", "message": f"You already have a template named {name!r}."})
    return errors


def check_template(
    *, owner: User, channel: str, name: Any, content: Mapping[str, Any], template: Template | None = None
) -> dict[str, Any]:
    """The template's fields as they will be stored (content fields not given are empty; reply_to normalised).
    Raises ValidationFailed listing every bad field: unknown channel, a field of another channel, a missing
    part, a line break in a header-bound field, a refused placeholder, a name already used by `owner`."""
    if channel not in CHANNELS:
        raise ValidationFailed.single("channel", f"Must be one of: {', '.join(CHANNELS)}.")
    unknown = sorted(set(content) - set(CONTENT_FIELDS))
    if unknown:
        raise ValidationFailed.single(unknown[0], "Not a template field.")
    fields: dict[str, Any] = {f: content.get(f, None if f == "whatsapp_template" else "") for f in CONTENT_FIELDS}
    errors = _name_errors(owner, name, template) + _content_errors(channel, fields)
    if not errors:
        errors += _required_errors(channel, fields)
    if not errors and fields["reply_to"]:
        errors += _reply_to_errors(fields["reply_to"])
    if errors:
        raise ValidationFailed(errors, message=f"{errors[0]['field']}: {errors[0]['message']}")
    if fields["reply_to"]:
        fields["reply_to"] = normalise_email(fields["reply_to"])
    return {"name": name, **fields}


def create_template(*, owner: User, channel: str, name: str, **content: Any) -> Template:
    """A new template of `owner`; `content` holds the channel's fields (CHANNEL_FIELDS). Raises ValidationFailed."""
    fields = check_template(owner=owner, channel=channel, name=name, content=content)
    try:
        with transaction.atomic():
            return Template.objects.create(owner=owner, channel=channel, **fields)
    except IntegrityError:  # the same name saved at the same moment: the unique constraint decides
        raise ValidationFailed.single("name", f"You already have a template named {name!r}.") from None


@transaction.atomic
def update_template(*, template: Template, **changes: Any) -> Template:
    """Changes the name and content fields (the channel and owner are fixed); the result is checked whole."""
    fixed = sorted(set(changes) - set(EDITABLE))
    if fixed:
        raise ValidationFailed.single(fixed[0], "This field cannot be changed.")
    current = {f: getattr(template, f) for f in EDITABLE}
    merged = {**current, **changes}
    name = merged.pop("name")
    fields = check_template(
        owner=template.owner, channel=template.channel, name=name, content=merged, template=template
    )
    for key, value in fields.items():
        setattr(template, key, value)
    template.updated_at = timezone.now()
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError:  # renamed to a name saved at the same moment
        template.refresh_from_db()
        raise ValidationFailed.single("name", f"You already have a template named {name!r}.") from None
    return template


def delete_template(*, template: Template) -> None:
    template.delete()


def _render(template: Template, context: Context) -> Rendered:
    if template.channel == "email":
        return Rendered(
            channel="email",
            subject=render_source(template.subject, context, header=True),
            html=render_source(template.html, context, html=True),
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


def render_template(*, template: Template, contact: Mapping[str, Any], unsubscribe_url: str = "") -> Rendered:
    """`template` filled with `contact`'s data (a plain dict: first_name, last_name, email, phone, company and
    custom: {field: value}); values that are not plain data render as nothing. HTML escapes the contact's data;
    text, SMS and WhatsApp keep it; the subject has its line breaks flattened. Never raises for a saved
    template (its placeholders were checked on save)."""
    return _render(template, contact_context(contact, unsubscribe_url=unsubscribe_url))


PREVIEW_UNSUBSCRIBE_URL = "https://example.com/unsubscribe/preview"


def preview_template(
    *, template: Template, data: Mapping[str, Any], unsubscribe_url: str = PREVIEW_UNSUBSCRIBE_URL
) -> Rendered:
    """What `template` looks like for `data` (a chosen contact's data, or sample data typed in the editor)."""
    return render_template(template=template, contact=data, unsubscribe_url=unsubscribe_url)
