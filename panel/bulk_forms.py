"""The bulk send's two forms: the upload (channel and file), then the review (columns mapped to fields, texts
with `{{ column }}` placeholders, gateway and schedule)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from accounts.models import Channel, User
from gateways.selectors import default_gateway, usable_gateways
from messaging.validation import SMS_TYPES, WHATSAPP_MEDIA
from panel.bulk import FIELDS, MAX_ROWS, REQUIRED, Mapping, Upload, default_mapping, placeholders
from panel.send_forms import gateway_label

# Fields the tenant must fill one way or the other (a column, or a text), per channel.
NEEDED = {"email": {"subject", "body"}, "sms": {"body"}, "whatsapp": set()}


class UploadForm(forms.Form):
    channel = forms.ChoiceField(choices=Channel.choices, initial="email")
    file = forms.FileField(
        label="CSV or XLSX file",
        help_text=f"Its first row names the columns; up to {MAX_ROWS:,} recipients.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )


class ReviewForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput)
    gateway = forms.ChoiceField(required=False, help_text="Your own gateways and those shared with you.")
    schedule_at = forms.DateTimeField(
        required=False,
        label="Schedule",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, data: Any = None, *, user: User, upload: Upload) -> None:
        super().__init__(data, initial={"token": upload.token})
        self.upload = upload
        channel, columns = upload.channel, [("", "— none: use the text below —")] + [(h, h) for h in upload.headers]
        guessed = default_mapping(channel, upload.headers)
        for name, label, _ in FIELDS[channel]:
            self.fields[f"col_{name}"] = forms.ChoiceField(
                choices=columns, required=False, label=f"{label}: column", initial=guessed.get(name, "")
            )
            if name not in REQUIRED:
                widget = forms.Textarea(attrs={"rows": 4}) if name == "body" else forms.TextInput()
                self.fields[f"text_{name}"] = forms.CharField(
                    required=False, label=f"{label}: text", widget=widget,
                    help_text="Used when no column is chosen; {{ column }} puts a column's value in.",
                )  # fmt: skip
        self._channel_fields(channel)
        self._gateways(user, channel)
        self.fields["schedule_at"].help_text = f"Empty: send now. In the server's time zone, {settings.TIME_ZONE}."
        self.order_fields(["token"] + [n for n in self.fields if n.startswith(("col_", "text_"))])

    @classmethod
    def first(cls, *, user: User, upload: Upload) -> ReviewForm:
        """The review as first shown: bound to the guessed mapping, so it is checked at once."""
        guess = cls(user=user, upload=upload)
        data = {name: guess.get_initial_for_field(field, name) or "" for name, field in guess.fields.items()}
        return cls(data, user=user, upload=upload)

    def _channel_fields(self, channel: str) -> None:
        if channel == "sms":
            self.fields["sms_type"] = forms.ChoiceField(choices=[(t, t) for t in SMS_TYPES], initial="plain")
        if channel == "whatsapp":
            choices = [("", "none (text)")] + [(m, m) for m in WHATSAPP_MEDIA]
            self.fields["media"] = forms.ChoiceField(choices=choices, required=False)

    def _gateways(self, user: User, channel: str) -> None:
        gateways = usable_gateways(user, channel)
        self.fields["gateway"].choices = [(g.identifier, gateway_label(g, user)) for g in gateways] or [
            ("", f"No {channel} gateway yet")
        ]
        chosen = default_gateway(gateways)
        self.fields["gateway"].initial = chosen.identifier if chosen else ""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        channel, headers = self.upload.channel, set(self.upload.headers)
        if not data.get("col_recipient"):
            self.add_error("col_recipient", "Choose the column that holds the recipients.")
        for name in NEEDED[channel]:
            if not data.get(f"col_{name}") and not (data.get(f"text_{name}") or "").strip():
                self.add_error(f"text_{name}", "Choose a column or type a text.")
        for name, _, _ in FIELDS[channel]:
            unknown = [p for p in placeholders(data.get(f"text_{name}", "")) if p not in headers]
            if unknown:
                self.add_error(f"text_{name}", f"No column named {unknown[0]!r} in the file.")
        return data

    def mapping(self) -> Mapping:
        data, channel = self.cleaned_data, self.upload.channel
        names = [name for name, _, _ in FIELDS[channel]]
        common: dict[str, Any] = {"gateway": data.get("gateway") or "", "schedule_at": data.get("schedule_at")}
        if channel == "sms":
            common["sms_type"] = data.get("sms_type") or "plain"
        if channel == "whatsapp":
            common["media"] = data.get("media") or ""
        return Mapping(
            columns={n: data.get(f"col_{n}") or "" for n in names},
            texts={n: data.get(f"text_{n}") or "" for n in names},
            common=common,
        )
