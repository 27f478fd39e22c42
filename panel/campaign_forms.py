"""Forms of the panel's Campaigns pages: a new campaign (name and content of the chosen channel), then the wizard's
steps for a Draft — audience (the tenant's lists, tags and segments to include and exclude), content (a saved template
or the content written here, verified sender for email, gateway), schedule (now or a time in the server's time zone, or
that time in each contact's zone; a throttle). Nothing is checked here beyond types: campaigns.services decides, and
its errors are shown at the fields they name.

The content written here is the template editor's own form (panel.template_forms.TemplateForm, without the name),
so it has the same fields, the same live preview and the services' `content.<field>` errors at those fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from accounts.models import User
from campaigns.models import Campaign, Template
from campaigns.selectors import senders_of, templates_of
from contacts.models import ContactList, Segment, Tag
from gateways.selectors import usable_gateways
from panel.send_forms import gateway_label
from panel.template_forms import CHANNELS, TemplateForm
from xsender.errors import DomainError, ValidationFailed

AUDIENCE_FIELDS = (
    "include_lists", "include_tags", "include_segments", "exclude_lists", "exclude_tags", "exclude_segments",
)  # fmt: skip


def _picks(label: str, choices: list[tuple[str, str]], help_text: str = "") -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        required=False, label=label, choices=choices, widget=forms.CheckboxSelectMultiple, help_text=help_text
    )


def template_choices(owner: User, channel: str) -> list[tuple[str, str]]:
    return [("", "Choose a template")] + [
        (pid, name) for pid, name in templates_of(owner, channel=channel).values_list("public_id", "name")
    ]


SAVED, INLINE = "template", "inline"
SOURCES = [(SAVED, "Use a saved template"), (INLINE, "Write the content here")]


class ContentSourceForm(forms.Form):
    """A campaign's content: one of the tenant's saved templates of the channel, or the channel's template fields
    written here (`self.inline`, the template editor's form without its name). values() is what the services take:
    `template` or `content`, never both; a form posted without `source` (no choice shown) uses the template."""

    source = forms.ChoiceField(
        required=False, choices=SOURCES, widget=forms.RadioSelect, label="Content",
        help_text="A saved template stays reusable; content written here belongs to this campaign only.",
    )  # fmt: skip
    template = forms.ChoiceField(required=False, help_text="What each contact receives, filled with their data.")

    def _set_up_content(self, data: Any, owner: User, channel: str, inline: Template | None) -> None:
        self.fields["template"].choices = template_choices(owner, channel)
        self.inline = TemplateForm(data, channel=channel, template=inline)
        del self.inline.fields["name"]

    def is_valid(self) -> bool:
        own, written = super().is_valid(), self.chosen_source() != INLINE or self.inline.is_valid()
        return own and written

    def chosen_source(self) -> str:
        """The posted choice (a bound form's; one not among SOURCES fails the form's own validation)."""
        return self.data.get("source") or SAVED

    def values(self) -> dict[str, Any]:
        """The campaign's fields for campaigns.services: the template's public id, or the content written here."""
        values = {k: v for k, v in self.cleaned_data.items() if k != "source"}
        if self.chosen_source() == INLINE:
            values.pop("template")
            values["content"] = self.inline.content()
        return values

    def show_errors(self, exc: DomainError) -> None:
        """The services' errors at their fields: `content.<field>` at the written content's field, the others here
        (an unknown one above the form)."""
        errors = (
            exc.errors if isinstance(exc, ValidationFailed) else [{"field": exc.field or "", "message": exc.message}]
        )
        for error in errors or [{"field": "", "message": exc.message}]:
            field, message = str(error.get("field") or ""), str(error.get("message") or exc.message)
            if field.startswith("content."):
                self.inline.show_errors(ValidationFailed([{**error, "field": field.removeprefix("content.")}]))
            else:
                self.add_error(field if field in self.fields else None, message)


class NewCampaignForm(ContentSourceForm):
    """What a Draft needs to exist: a name and its content — a template of its channel, or the content written
    here (campaigns.services.create_campaign)."""

    name = forms.CharField(max_length=200, help_text="Yours to find it again; recipients do not see it.")
    field_order = ["name", "source", "template"]

    def __init__(self, data: Any = None, *, owner: User, channel: str) -> None:
        super().__init__(data)
        self._set_up_content(data, owner, channel, None)
        self.initial["source"] = SAVED if len(self.fields["template"].choices) > 1 else INLINE


class AudienceForm(forms.Form):
    """Contacts in any included list, with any included tag or matching any included segment, minus those in an
    excluded list, with an excluded tag or matching an excluded segment; unsubscribed and suppressed contacts are
    skipped by the services."""

    def __init__(
        self,
        data: Any = None,
        *,
        lists: list[ContactList],
        tags: list[Tag],
        segments: list[Segment],
        campaign: Campaign,
    ) -> None:
        initial = {f: [o.public_id for o in getattr(campaign, f).all()] for f in AUDIENCE_FIELDS}
        super().__init__(data, initial=initial)
        list_choices = [(cl.public_id, cl.name) for cl in lists]
        tag_choices = [(t.public_id, t.name) for t in tags]
        segment_choices = [(s.public_id, s.name) for s in segments]
        rules = "Matched by its rules when the campaign starts."
        self.fields["include_lists"] = _picks("Send to these lists", list_choices)
        self.fields["include_tags"] = _picks("and to contacts with these tags", tag_choices)
        self.fields["include_segments"] = _picks("and to contacts in these segments", segment_choices, rules)
        self.fields["exclude_lists"] = _picks("but not to contacts in these lists", list_choices)
        self.fields["exclude_tags"] = _picks("nor to contacts with these tags", tag_choices)
        self.fields["exclude_segments"] = _picks("nor to contacts in these segments", segment_choices, rules)


class ContentForm(ContentSourceForm):
    sender = forms.ChoiceField(required=False, help_text="One of your verified senders; empty: the gateway's own.")
    gateway_identifier = forms.ChoiceField(required=False, label="Gateway")

    def __init__(self, data: Any = None, *, campaign: Campaign) -> None:
        owner, channel = campaign.owner, campaign.channel
        inline = campaign.template if campaign.template.campaign_only else None
        initial = {
            "source": INLINE if inline else SAVED,
            "template": "" if inline else campaign.template.public_id,
            "sender": campaign.sender.public_id if campaign.sender else "",
            "gateway_identifier": campaign.gateway_identifier,
        }
        super().__init__(data, initial=initial)
        self._set_up_content(data, owner, channel, inline)
        if channel == "email":
            senders = senders_of(owner, verified=True).values_list("public_id", "email", "name")
            self.fields["sender"].choices = [("", "The gateway's from-address")] + [
                (pid, f"{name} <{email}>" if name else email) for pid, email, name in senders
            ]
        else:
            del self.fields["sender"]
        gateways = usable_gateways(owner, channel)
        self.fields["gateway_identifier"].choices = [("", f"Your default {CHANNELS[channel]} gateway")] + [
            (g.identifier, gateway_label(g, owner)) for g in gateways
        ]


class ScheduleForm(forms.Form):
    schedule_at = forms.DateTimeField(
        required=False,
        label="Send at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    contact_time_zone = forms.BooleanField(
        required=False,
        label="Send at this time in each contact's time zone",
        help_text="Each contact gets it when their own clock shows this time; contacts without a time zone, on the "
        "server's clock. Messages are created up to a day ahead, and the campaign stays Sending until the last "
        "zone reaches the time.",
    )
    throttle = forms.IntegerField(
        required=False, min_value=1, label="Messages per minute", help_text="Empty: as fast as the gateway goes."
    )

    def __init__(self, data: Any = None, *, campaign: Campaign) -> None:
        initial = {"schedule_at": campaign.schedule_at, "contact_time_zone": campaign.contact_time_zone,
                   "throttle": campaign.throttle}  # fmt: skip
        super().__init__(data, initial=initial)
        self.fields[
            "schedule_at"
        ].help_text = f"Empty: as soon as you start it. In the server's time zone, {settings.TIME_ZONE}."
