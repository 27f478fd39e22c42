"""Forms of the panel's Templates pages: a template's fields for its channel, the data a preview is rendered with
(one of the tenant's contacts, or sample data), and a test send. The rules are campaigns.services': every field is
optional here, and the services' errors (ValidationFailed) are shown at the fields they name."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from accounts.models import User
from campaigns.models import Template
from contacts.models import Contact
from gateways.selectors import default_gateway, usable_gateways
from panel.send_forms import gateway_label
from xsender.errors import DomainError, ValidationFailed

CHANNELS = {"email": "Email", "sms": "SMS", "whatsapp": "WhatsApp"}
CHANNEL_HINTS = {
    "email": "A subject with an HTML and/or a text part; optional sender name and reply-to.",
    "sms": "A text message.",
    "whatsapp": "A text message, or a WhatsApp Cloud approved template by name, language and components.",
}
PLACEHOLDERS = "Placeholders: {{ first_name }}, {{ custom.field }}, {{ unsubscribe_url }}; fallbacks with |default."
CONTACT_CHOICES = 100  # the newest contacts offered in the preview's select
SAMPLE = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "phone": "+15555550100",
    "company": "Analytical Engines",
}


def _text(label: str, rows: int = 0, help_text: str = "") -> forms.CharField:
    widget = forms.Textarea(attrs={"rows": rows}) if rows else forms.TextInput()
    return forms.CharField(required=False, strip=False, label=label, widget=widget, help_text=help_text)


class TemplateForm(forms.Form):
    """The channel's fields; `content()` is what campaigns.services takes. Nothing is required here: the service
    says what is missing, at its field."""

    FIELDS: dict[str, tuple[str, ...]] = {
        "email": ("name", "subject", "html", "text", "from_name", "reply_to"),
        "sms": ("name", "body"),
        "whatsapp": ("name", "body", "wa_name", "wa_language", "wa_components"),
    }

    name = _text("Name", help_text="Yours to find it again; unique among your templates.")
    subject = _text("Subject")
    html = _text("HTML part", rows=12, help_text=PLACEHOLDERS)
    text = _text("Text part", rows=6, help_text="Shown by mail apps that do not show HTML.")
    from_name = _text("Sender name")
    reply_to = _text("Reply-to", help_text="An email address replies go to.")
    body = _text("Message", rows=6, help_text=PLACEHOLDERS)
    wa_name = _text("Approved template name", help_text="Instead of a message: the name Meta approved (a-z, 0-9, _).")
    wa_language = _text("Template language", help_text="e.g. en or en_US.")
    wa_components = _text("Template components (JSON)", rows=6, help_text="A JSON list, as the Cloud API takes it.")

    def __init__(self, data: Any = None, *, channel: str, template: Template | None = None) -> None:
        super().__init__(data, initial=_initial(template) if template else None)
        self.channel = channel
        for name in [n for n in self.fields if n not in self.FIELDS[channel]]:
            del self.fields[name]
        self.fields["name"].strip = True

    def clean_wa_components(self) -> Any:
        text = self.cleaned_data.get("wa_components", "").strip()
        try:
            return json.loads(text) if text else []
        except ValueError:
            raise forms.ValidationError("Not valid JSON.") from None

    def content(self) -> dict[str, Any]:
        """The channel's content fields, as campaigns.services takes them (without the name)."""
        data = self.cleaned_data
        if self.channel != "whatsapp":
            return {f: data.get(f, "") for f in self.FIELDS[self.channel] if f != "name"}
        approved = data.get("wa_name") or data.get("wa_language") or data.get("wa_components")
        whatsapp_template = (
            {"name": data["wa_name"], "language": data["wa_language"], "components": data["wa_components"]}
            if approved
            else None
        )
        return {"body": data.get("body", ""), "whatsapp_template": whatsapp_template}

    def show_errors(self, exc: DomainError) -> None:
        """The service's errors at their fields (`whatsapp_template.components.0.text` at the components)."""
        errors = (
            exc.errors if isinstance(exc, ValidationFailed) else [{"field": exc.field or "", "message": exc.message}]
        )
        for error in errors or [{"field": "", "message": exc.message}]:
            field = _form_field(str(error.get("field") or ""))
            self.add_error(field if field in self.fields else None, str(error.get("message") or exc.message))


def _form_field(service_field: str) -> str:
    parts = service_field.split(".")
    if parts[0] != "whatsapp_template":
        return parts[0]
    if len(parts) > 1 and parts[1] in ("language", "components"):
        return f"wa_{parts[1]}"
    return "wa_name"


def _initial(template: Template) -> dict[str, Any]:
    initial = {f: getattr(template, f) for f in ("name", "subject", "html", "text", "from_name", "reply_to", "body")}
    approved = template.whatsapp_template or {}
    initial["wa_name"] = approved.get("name", "")
    initial["wa_language"] = approved.get("language", "")
    initial["wa_components"] = json.dumps(approved["components"], indent=2) if approved.get("components") else ""
    return initial


def contact_choices(owner: User) -> list[tuple[str, str]]:
    """The tenant's newest contacts (one query over the owner's page index), then sample data."""
    contacts = Contact.objects.for_tenant(owner).order_by("-id")[:CONTACT_CHOICES]
    rows = contacts.values_list("public_id", "first_name", "last_name", "email", "phone")
    choices = [
        (pid, " ".join(filter(None, (first, last, f"<{email or phone}>")))) for pid, first, last, email, phone in rows
    ]
    return [*choices, ("", "Sample data (Ada Lovelace)")]


class PreviewWithForm(forms.Form):
    """Whose data a preview is rendered with: one of the tenant's contacts (the newest first) or sample data."""

    contact = forms.ChoiceField(required=False, label="Preview with", help_text="Your newest contacts, or sample data.")

    def __init__(self, data: Any = None, *, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.fields["contact"].choices = choices
        self.fields["contact"].initial = choices[0][0]

    def chosen(self) -> str:
        """The chosen contact's public id ("" = sample data); an unbound form: the first choice."""
        if not self.is_bound or self.add_prefix("contact") not in self.data:
            return self.fields["contact"].initial
        return self.cleaned_data.get("contact", "") if self.is_valid() else ""


class TestSendForm(PreviewWithForm):
    """One message of the saved template to an address or number the tenant types, through a gateway of theirs."""

    recipient = forms.CharField(max_length=320, label="Send a test to", help_text="An email address or a phone number.")
    gateway = forms.ChoiceField(required=False, help_text="Your own gateways and those shared with you.")
    field_order = ["recipient", "contact", "gateway"]

    def __init__(self, data: Any = None, *, owner: User, channel: str, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        gateways = usable_gateways(owner, channel)
        self.fields["gateway"].choices = [(g.identifier, gateway_label(g, owner)) for g in gateways] or [
            ("", f"No {CHANNELS[channel]} gateway yet")
        ]
        chosen = default_gateway(gateways)
        self.fields["gateway"].initial = chosen.identifier if chosen else ""
        self.fields["contact"].label = "Fill placeholders with"

    def show_error(self, exc: DomainError) -> None:
        """The send path's refusal: a recipient's or a gateway's at its field, anything else above the form."""
        errors = exc.errors if isinstance(exc, ValidationFailed) else [{"field": exc.field or ""}]
        for error in errors:
            field = {"recipient": "recipient", "items": "recipient", "gateway": "gateway"}.get(
                str(error.get("field") or "").split(".")[0]
            )
            self.add_error(field, str(error.get("message") or exc.message))
