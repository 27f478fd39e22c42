"""The send forms: Email, SMS and WhatsApp, with the API's fields. A form only shapes input into typed items
(messaging.items); the send path (accept_messages) checks, charges and stores them, and its errors are shown
on the field they name (`show_error`)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings

from accounts.models import User
from gateways.selectors import default_gateway, usable_gateways
from messaging.items import Attachment, EmailItem, Item, SmsItem, WhatsAppItem
from messaging.validation import SMS_TYPES, WHATSAPP_MEDIA
from xsender.errors import DomainError, ValidationFailed

SEPARATORS = re.compile(r"[\s,;]+")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".webp")
MAX_ERRORS_PER_FIELD = 5


def split_recipients(text: str) -> list[str]:
    return [value for value in SEPARATORS.split(text or "") if value]


class SendForm(forms.Form):
    """What every channel's form has: recipients, gateway, schedule. Subclasses add their fields and `item()`."""

    channel = ""
    # The send path's neutral field → this form's field.
    FIELDS: dict[str, str] = {"recipient": "recipients", "items": "recipients", "gateway": "gateway"}

    recipients = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One or more, separated by new lines or commas.",
    )
    gateway = forms.ChoiceField(required=False, help_text="Your own gateways and those shared with you.")
    schedule_at = forms.DateTimeField(
        required=False,
        label="Schedule",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        gateways = usable_gateways(user, self.channel)
        self.fields["gateway"].choices = [(g.identifier, gateway_label(g, user)) for g in gateways] or [
            ("", f"No {self.channel} gateway yet")
        ]
        chosen = default_gateway(gateways)
        self.fields["gateway"].initial = chosen.identifier if chosen else ""
        self.fields["schedule_at"].help_text = f"Empty: send now. In the server's time zone, {settings.TIME_ZONE}."

    def items(self) -> list[Item]:
        data = self.cleaned_data
        common = {"gateway": data.get("gateway") or "", "schedule_at": data.get("schedule_at")}
        return [self.item(recipient, common) for recipient in split_recipients(data["recipients"])]

    def item(self, recipient: str, common: dict[str, Any]) -> Item:
        raise NotImplementedError

    def show_error(self, exc: DomainError) -> None:
        """The send path's refusal, on the field it names (a recipient's error says which one)."""
        errors = exc.errors if isinstance(exc, ValidationFailed) else [{"field": exc.field, "index": exc.index}]
        recipients = split_recipients(self.cleaned_data.get("recipients", ""))
        shown: dict[str | None, int] = {}
        for error in errors:
            name = self.FIELDS.get((error.get("field") or "").split(".")[0])
            if shown.get(name, 0) >= MAX_ERRORS_PER_FIELD:
                continue
            shown[name] = shown.get(name, 0) + 1
            message = error.get("message") or exc.message
            index = error.get("index")
            if name == "recipients" and index is not None and index < len(recipients):
                message = f"{recipients[index]}: {message}"
            self.add_error(name if name in self.fields else None, message)


def gateway_label(gateway: Any, user: User) -> str:
    whose = "" if gateway.owner_id == user.pk else ", shared"
    default = ", default" if gateway.is_default else ""
    return f"{gateway.identifier} ({gateway.provider}{whose}{default})"


class EmailForm(SendForm):
    channel = "email"
    FIELDS = {
        **SendForm.FIELDS, "subject": "subject", "body": "message", "sender_name": "sender_name", "reply_to": "reply_to",
    }  # fmt: skip
    FIELDS["attachments"] = "attachments"

    subject = forms.CharField(max_length=998)
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10}), label="Message (HTML or text)", help_text="The API's message."
    )
    sender_name = forms.CharField(required=False, max_length=150)
    reply_to = forms.CharField(required=False, max_length=254, label="Reply-to", help_text="Where replies go.")
    attachments = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Attachments by URL",
        help_text="One http(s) URL per line; .png, .jpg, .gif and .webp are sent as images, anything else as a file.",
    )
    field_order = [
        "recipients", "subject", "message", "sender_name", "reply_to", "attachments", "gateway", "schedule_at",
    ]  # fmt: skip

    def item(self, recipient: str, common: dict[str, Any]) -> Item:
        data = self.cleaned_data
        return EmailItem(
            recipient=recipient, subject=data["subject"], body=data["message"], sender_name=data.get("sender_name", ""),
            reply_to=data.get("reply_to", ""), attachments=attachments_of(data.get("attachments", "")), **common,
        )  # fmt: skip


def attachments_of(text: str) -> list[Attachment]:
    found = []
    for url in (line.strip() for line in (text or "").splitlines()):
        if url:
            path = urlsplit(url).path.lower() if "://" in url else ""
            found.append(Attachment(kind="image" if path.endswith(IMAGE_EXTENSIONS) else "file", url=url))
    return found


class SmsForm(SendForm):
    channel = "sms"
    FIELDS = {**SendForm.FIELDS, "body": "body", "sms_type": "sms_type"}

    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), label="Message")
    sms_type = forms.ChoiceField(
        choices=[(t, t) for t in SMS_TYPES], initial="plain", label="SMS type",
        help_text="otp goes first; marketing waits behind other traffic.",
    )  # fmt: skip
    field_order = ["recipients", "body", "sms_type", "gateway", "schedule_at"]

    def item(self, recipient: str, common: dict[str, Any]) -> Item:
        return SmsItem(
            recipient=recipient, body=self.cleaned_data["body"], sms_type=self.cleaned_data["sms_type"], **common
        )


class WhatsAppForm(SendForm):
    channel = "whatsapp"
    FIELDS = {**SendForm.FIELDS, "body": "message", "media": "media", "media_url": "media_url"}

    message = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 5}), label="Message or caption",
        help_text="The text, or the caption of the media.",
    )  # fmt: skip
    media = forms.ChoiceField(choices=[("", "none (text)")] + [(m, m) for m in WHATSAPP_MEDIA], required=False)
    media_url = forms.CharField(required=False, max_length=2048, label="Media URL")
    field_order = ["recipients", "message", "media", "media_url", "gateway", "schedule_at"]

    def item(self, recipient: str, common: dict[str, Any]) -> Item:
        data = self.cleaned_data
        return WhatsAppItem(
            recipient=recipient, body=data.get("message", ""), media=data.get("media", ""),
            media_url=data.get("media_url", ""), **common,
        )  # fmt: skip


FORMS: dict[str, type[SendForm]] = {"email": EmailForm, "sms": SmsForm, "whatsapp": WhatsAppForm}
