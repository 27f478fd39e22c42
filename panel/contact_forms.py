"""Forms of the panel's Contacts pages: the filters (GET), a contact with the tenant's custom fields, the bulk
actions, lists, tags and custom fields. The rules are contacts.services': these forms only shape the input and
show the services' errors (ValidationFailed, Conflict) at the fields they name."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from contacts.models import STATUS_FIELDS, Contact, ContactList, ContactStatus, CustomField, Tag
from contacts.selectors import ContactFilter
from contacts.values import time_zone_names
from xsender.errors import DomainError, ValidationFailed

ANY = [("", "Any")]
CHANNELS = [("email", "Email"), ("sms", "SMS"), ("whatsapp", "WhatsApp")]
BOOLEAN_CHOICES = [("", "—"), ("true", "Yes"), ("false", "No")]


def add_domain_errors(form: forms.Form, exc: DomainError, aliases: dict[str, str] | None = None) -> None:
    """The service's errors at the fields they name (`aliases`: the service's field name → the form's); an error
    about a field the form does not have goes above the form."""
    aliases = aliases or {}
    errors = exc.errors if isinstance(exc, ValidationFailed) else [{"field": exc.field or "", "message": exc.message}]
    for error in errors or [{"field": "", "message": exc.message}]:
        field = aliases.get(str(error.get("field", "")), str(error.get("field", "")))
        form.add_error(field if field in form.fields else None, str(error.get("message", exc.message)))


def _list_choices(lists: list[ContactList]) -> list[tuple[str, str]]:
    return [(cl.public_id, cl.name) for cl in lists]


class ContactFilterForm(forms.Form):
    search = forms.CharField(
        required=False,
        max_length=320,
        label="Search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Email, phone or name"}),
    )
    list = forms.ChoiceField(choices=ANY, required=False)
    tag = forms.ChoiceField(choices=ANY, required=False)
    channel = forms.ChoiceField(choices=CHANNELS, required=False, label="Status on")
    status = forms.ChoiceField(choices=ANY + ContactStatus.choices, required=False)

    def __init__(self, data: Any, *, lists: list[ContactList], tags: list[Tag]) -> None:
        super().__init__(data)
        self.fields["list"].choices = ANY + _list_choices(lists)
        self.fields["tag"].choices = ANY + [(tag.public_id, tag.name) for tag in tags]

    def wanted(self) -> ContactFilter:
        data = self.cleaned_data
        return ContactFilter(
            search=data.get("search") or "",
            list_id=data.get("list") or "",
            tag=data.get("tag") or "",
            status=data.get("status") or "",
            channel=data.get("channel") or "email",
        )


def _tag_names(text: str) -> list[str]:
    return list(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))


class BulkForm(forms.Form):
    """What to do with the contacts ticked on the list page."""

    ACTIONS = [
        ("add-to-list", "Add to list"),
        ("remove-from-list", "Remove from list"),
        ("add-tag", "Tag"),
        ("remove-tag", "Remove tag"),
    ]
    action = forms.ChoiceField(choices=ACTIONS)
    target_list = forms.ChoiceField(choices=[("", "—")], required=False, label="List")
    tag = forms.CharField(required=False, max_length=255, label="Tag", help_text="A name; a new one is created.")
    query = forms.CharField(required=False, widget=forms.HiddenInput)  # the list page's filters, to go back to

    def __init__(self, data: Any = None, *, lists: list[ContactList], initial_query: str = "") -> None:
        # Its own ids: the filter form above the table on the same page has a `tag` too.
        super().__init__(data, initial={"query": initial_query}, auto_id="id_bulk_%s")
        self.fields["target_list"].choices = [("", "—")] + _list_choices(lists)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        # The ticked contacts (checkboxes named `contacts` on the list page). Any id is taken here: the services
        # skip the ones the tenant does not have.
        data["contacts"] = list(dict.fromkeys(self.data.getlist("contacts")))[:1000]
        action = data.get("action", "")
        if not data.get("contacts"):
            self.add_error(None, "Tick at least one contact.")
        if action.endswith("list") and not data.get("target_list"):
            self.add_error("target_list", "Choose a list.")
        if action.endswith("tag") and not (data.get("tag") or "").strip():
            self.add_error("tag", "Enter a tag.")
        return data


class ContactForm(forms.Form):
    """A contact: its own fields, a status per channel, one field per custom field of the tenant (typed as the
    field is; the service checks the value), its lists and tags."""

    email = forms.CharField(required=False, max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    phone = forms.CharField(
        required=False, max_length=32, help_text="International format, e.g. +15555550123.",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )  # fmt: skip
    first_name = forms.CharField(required=False, max_length=255)
    last_name = forms.CharField(required=False, max_length=255)
    company = forms.CharField(required=False, max_length=255)
    time_zone = forms.CharField(
        required=False, max_length=64, label="Time zone",
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off", "placeholder": "Europe/Paris"}),
    )  # fmt: skip
    email_status = forms.ChoiceField(choices=ContactStatus.choices, label="Email status")
    sms_status = forms.ChoiceField(choices=ContactStatus.choices, label="SMS status")
    whatsapp_status = forms.ChoiceField(choices=ContactStatus.choices, label="WhatsApp status")
    lists = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    tags = forms.CharField(
        required=False, max_length=2000, help_text="Names separated by commas; new ones are created."
    )

    OWN = ("email", "phone", "first_name", "last_name", "company", "time_zone", *STATUS_FIELDS.values())

    def __init__(
        self, data: Any = None, *, contact: Contact | None, fields: list[CustomField], lists: list[ContactList]
    ) -> None:
        super().__init__(data, initial=self._initial(contact, fields))
        self.custom_fields = {f"cf_{field.public_id}": field for field in fields}
        for name, field in self.custom_fields.items():
            self.fields[name] = _custom_form_field(field)
        self.fields["time_zone"].help_text = (
            "Its IANA name, for campaigns sent at a time in each contact's time zone. "
            f"Empty: the server's, {settings.TIME_ZONE}."
        )
        self.fields["lists"].choices = _list_choices(lists)
        if not lists:
            self.fields["lists"].help_text = "No list yet: add lists on the Lists page."
        self.aliases = {f"custom.{field.public_id}": name for name, field in self.custom_fields.items()}

    @staticmethod
    def _initial(contact: Contact | None, fields: list[CustomField]) -> dict[str, Any]:
        if contact is None:
            return {}
        initial: dict[str, Any] = {name: getattr(contact, name) for name in ContactForm.OWN}
        for field in fields:
            value = contact.custom.get(field.public_id)
            if isinstance(value, bool):
                value = "true" if value else "false"
            initial[f"cf_{field.public_id}"] = "" if value is None else str(value)
        initial["lists"] = [cl.public_id for cl in contact.lists.all()]
        initial["tags"] = ", ".join(tag.name for tag in contact.tags.all())
        return initial

    def contact_inputs(self) -> list[forms.BoundField]:
        return [self[name] for name in ("email", "phone", "first_name", "last_name", "company", "time_zone")]

    def time_zones(self) -> list[str]:
        """The names the time zone input suggests (its <datalist>)."""
        return time_zone_names()

    def custom_inputs(self) -> list[forms.BoundField]:
        return [self[name] for name in self.custom_fields]

    def changes(self) -> dict[str, Any]:
        """The contact's fields that changed (all of them for a new contact), custom values keyed by field id."""
        data, new = self.cleaned_data, not self.initial
        changed = {name: data[name] for name in self.OWN if new or data[name] != self.initial.get(name)}
        custom = {
            field.public_id: data[name]
            for name, field in self.custom_fields.items()
            if data[name] != self.initial.get(name, "")
        }
        if custom:
            changed["custom"] = custom
        return changed

    def memberships(self) -> tuple[list[str], list[str], list[str], list[str]]:
        """(lists to join, lists to leave, tags to add, tags to remove) against the contact's current ones."""
        lists_now, lists_wanted = set(self.initial.get("lists", [])), self.cleaned_data["lists"]
        tags_now, tags_wanted = _tag_names(self.initial.get("tags", "")), _tag_names(self.cleaned_data["tags"])
        return (
            [cl for cl in lists_wanted if cl not in lists_now],
            sorted(lists_now - set(lists_wanted)),
            [tag for tag in tags_wanted if tag not in tags_now],
            [tag for tag in tags_now if tag not in tags_wanted],
        )


def _custom_form_field(field: CustomField) -> forms.Field:
    """The input for one custom field: its type chooses the widget; the value is checked by the service."""
    label, help_text = field.name, field.description
    kind = CustomField.Type
    if field.type == kind.CHOICE:
        return forms.ChoiceField(choices=[("", "—")] + [(c, c) for c in field.choices], required=False, label=label,
                                 help_text=help_text)  # fmt: skip
    if field.type == kind.BOOLEAN:
        return forms.ChoiceField(choices=BOOLEAN_CHOICES, required=False, label=label, help_text=help_text)
    widgets = {
        kind.NUMBER: forms.TextInput(attrs={"inputmode": "decimal"}),
        kind.DATE: forms.DateInput(attrs={"type": "date"}),
        kind.PHONE: forms.TextInput(attrs={"type": "tel"}),
    }
    return forms.CharField(
        required=False, max_length=255, label=label, help_text=help_text, widget=widgets.get(field.type)
    )


class ListForm(forms.Form):
    name = forms.CharField(max_length=255)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class TagForm(forms.Form):
    name = forms.CharField(max_length=255)


class CustomFieldForm(forms.Form):
    """A new custom field (name, type, choices) or, with `field`, an existing one (its type never changes)."""

    name = forms.CharField(max_length=255)
    type = forms.ChoiceField(choices=CustomField.Type.choices, initial=CustomField.Type.TEXT)
    choices = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For a choice field: one choice a line.",
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, data: Any = None, *, field: CustomField | None = None) -> None:
        initial = {}
        if field is not None:
            initial = {"name": field.name, "type": field.type, "choices": "\n".join(field.choices),
                       "description": field.description}  # fmt: skip
        super().__init__(data, initial=initial)
        if field is not None:
            del self.fields["type"]
            if field.type != CustomField.Type.CHOICE:
                del self.fields["choices"]

    def choice_list(self) -> list[str]:
        text = self.cleaned_data.get("choices") or ""
        return [line.strip() for line in text.splitlines() if line.strip()]
