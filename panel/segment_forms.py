"""Forms of the panel's Segments, Import and Export pages. They shape the input only: the rules are
contacts.services' (check_rules, start_import), whose ValidationFailed errors are shown at the row or column they
name (`rules.N.<key>` at rule row N's input, `mapping.<column>` at that column's select)."""

from __future__ import annotations

from typing import Any

from django import forms

from contacts.models import ContactList, ContactStatus, CustomField, Segment, Tag
from contacts.selectors import ContactFilter

RULE_ROWS = 5
MAX_IMPORT_BYTES = 50 * 1024 * 1024  # about 1,000,000 rows of five columns
CHANNELS = [("email", "Email"), ("sms", "SMS"), ("whatsapp", "WhatsApp")]
BASE_FIELDS = [
    ("email", "Email"),
    ("phone", "Phone"),
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("company", "Company"),
]
OPS = [
    ("equals", "equals"),
    ("not_equals", "does not equal"),
    ("contains", "contains"),
    ("starts_with", "starts with"),
    ("is_empty", "is empty"),
    ("is_not_empty", "is not empty"),
    ("less_than", "less than"),
    ("greater_than", "greater than"),
    ("has", "has tag"),
    ("has_not", "has not tag"),
    ("in", "is in list"),
    ("not_in", "is not in list"),
    ("opened", "opened (or clicked)"),
    ("clicked", "clicked"),
    ("bounced", "bounced"),
]
NO_VALUE_OPS = {"is_empty", "is_not_empty", "opened", "clicked", "bounced"}


def field_choices(fields: list[CustomField]) -> list[tuple[str, str]]:
    """What a rule can look at: the contact's fields, each custom field, tag, list, a status per channel, activity."""
    return [
        ("", "—"),
        *BASE_FIELDS,
        *((f"custom.{f.public_id}", f"{f.name} (custom)") for f in fields),
        ("tag", "Tag"),
        ("list", "List"),
        *((f"status.{channel}", f"Status on {label}") for channel, label in CHANNELS),
        ("activity", "Activity"),
    ]


class SegmentForm(forms.Form):
    name = forms.CharField(max_length=255, required=False)  # required by the services (a Count needs none)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    match = forms.ChoiceField(
        choices=[("all", "all of the rules (AND)"), ("any", "any of the rules (OR)")], label="Contacts matching"
    )

    def __init__(
        self,
        data: Any = None,
        *,
        fields: list[CustomField],
        lists: list[ContactList],
        tags: list[Tag],
        segment: Segment | None = None,
    ) -> None:
        # Lists and tags are typed by name; a list is stored by its public id (a tag by either).
        self.list_ids = {cl.name.lower(): cl.public_id for cl in lists}
        names = {cl.public_id: cl.name for cl in lists} | {t.public_id: t.name for t in tags}
        initial: dict[str, Any] = {"match": "all"}
        if segment is not None:
            initial |= {"name": segment.name, "description": segment.description, "match": segment.match}
            for n, rule in enumerate(segment.rules[:RULE_ROWS]):
                initial |= self.rule_initial(n, rule, names)
        super().__init__(data, initial=initial)
        choices = field_choices(fields)
        for n in range(RULE_ROWS):
            self.fields[f"rule_{n}_field"] = forms.ChoiceField(choices=choices, required=False, label="Field")
            self.fields[f"rule_{n}_op"] = forms.ChoiceField(choices=OPS, required=False, label="Operator")
            self.fields[f"rule_{n}_value"] = forms.CharField(required=False, max_length=320, label="Value")
            self.fields[f"rule_{n}_days"] = forms.IntegerField(
                required=False, min_value=1, max_value=3650, label="In the last … days"
            )

    @staticmethod
    def rule_initial(n: int, rule: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
        field = rule.get("field", "")
        if field == "status":
            field = f"status.{rule.get('channel', 'email')}"
        value = rule.get("value", "")
        if field in ("list", "tag"):
            value = names.get(str(value), value)
        return {
            f"rule_{n}_field": field,
            f"rule_{n}_op": rule.get("op", ""),
            f"rule_{n}_value": "" if value is None else str(value).lower() if isinstance(value, bool) else str(value),
            f"rule_{n}_days": rule.get("days"),
        }

    def rows(self) -> list[dict[str, Any]]:
        """Each rule row's bound fields, for the template."""
        return [
            {"number": n + 1, **{key: self[f"rule_{n}_{key}"] for key in ("field", "op", "value", "days")}}
            for n in range(RULE_ROWS)
        ]

    def rules(self) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """The rules of the filled rows, and the services' error keys (`rules.N.<key>`) → this form's field."""
        rules, aliases = [], {}
        data = self.cleaned_data
        for n in range(RULE_ROWS):
            field = data.get(f"rule_{n}_field") or ""
            if not field:
                continue
            op = data.get(f"rule_{n}_op") or ""
            rule: dict[str, Any] = {"field": field, "op": op}
            if field.startswith("status."):
                rule = {"field": "status", "channel": field.removeprefix("status."), "op": op}
            if field == "activity":
                rule["days"] = data.get(f"rule_{n}_days")
            elif op not in NO_VALUE_OPS:
                rule["value"] = data.get(f"rule_{n}_value") or ""
                if field == "list":
                    rule["value"] = self.list_ids.get(rule["value"].strip().lower(), rule["value"])
            index = len(rules)
            rules.append(rule)
            for key in ("field", "op", "value", "days"):
                aliases[f"rules.{index}.{key}"] = f"rule_{n}_{key}"
            aliases[f"rules.{index}.channel"] = aliases[f"rules.{index}"] = f"rule_{n}_field"
        return rules, aliases

    def changes(self) -> dict[str, Any]:
        rules, _ = self.rules()
        data = self.cleaned_data
        return {"name": data["name"], "description": data["description"], "match": data["match"], "rules": rules}


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV or XLSX file",
        help_text="Its first row names the columns (UTF-8 CSV with , ; or tab, or an .xlsx); up to 1,000,000 rows.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx"}),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(f"At most {MAX_IMPORT_BYTES // (1024 * 1024)} MB; split the file.")
        return upload


IMPORT_FIELDS = [*BASE_FIELDS, ("time_zone", "Time zone")]  # what an import's column may fill (contacts.imports)


def target_choices(fields: list[CustomField]) -> list[tuple[str, str]]:
    return [("", "— skip —"), *IMPORT_FIELDS, *((f"custom.{f.public_id}", f"{f.name} (custom)") for f in fields)]


def auto_target(header: str, fields: list[CustomField]) -> str:
    """The field a column is named after (case and spaces ignored, `timezone` too; custom fields by name), else ""."""
    plain = header.strip().lower().replace(" ", "_")
    plain = {"timezone": "time_zone"}.get(plain, plain)
    if plain in dict(IMPORT_FIELDS):
        return plain
    by_name = {f.name.lower(): f.public_id for f in fields}
    return f"custom.{by_name[header.strip().lower()]}" if header.strip().lower() in by_name else ""


class ImportMappingForm(forms.Form):
    """Column → field, then the list and the tags every row gets."""

    token = forms.CharField(widget=forms.HiddenInput)
    contact_list = forms.ChoiceField(required=False, label="Add to list")
    tags = forms.CharField(required=False, max_length=1000, help_text="Comma-separated; new tags are created.")

    def __init__(
        self,
        data: Any = None,
        *,
        headers: list[str],
        fields: list[CustomField],
        lists: list[ContactList],
        token: str,
    ) -> None:
        initial: dict[str, Any] = {"token": token}
        initial |= {f"column_{i}": auto_target(h, fields) for i, h in enumerate(headers)}
        super().__init__(data, initial=initial)
        self.headers = headers
        choices = target_choices(fields)
        for i, header in enumerate(headers):
            self.fields[f"column_{i}"] = forms.ChoiceField(choices=choices, required=False, label=f"Column “{header}”")
        self.fields["contact_list"].choices = [("", "— none —"), *((cl.public_id, cl.name) for cl in lists)]
        self.order_fields([*(f"column_{i}" for i in range(len(headers))), "contact_list", "tags"])

    def mapping(self) -> tuple[dict[str, str], dict[str, str]]:
        """Column → field (skipped columns left out), and the services' error keys → this form's field."""
        mapping, aliases = {}, {"lists": "contact_list", "mapping": None}
        for i, header in enumerate(self.headers):
            aliases[f"mapping.{header}"] = f"column_{i}"
            target = self.cleaned_data.get(f"column_{i}") or ""
            if target:
                mapping[header] = target
        return mapping, {k: v for k, v in aliases.items() if v}

    def tag_names(self) -> list[str]:
        return [t.strip() for t in (self.cleaned_data.get("tags") or "").split(",") if t.strip()]


class ExportForm(forms.Form):
    list = forms.ChoiceField(required=False)
    tag = forms.ChoiceField(required=False)
    segment = forms.ChoiceField(required=False)
    status = forms.ChoiceField(required=False, choices=[("", "Any"), *ContactStatus.choices])
    channel = forms.ChoiceField(required=False, choices=CHANNELS, label="Status on")

    def __init__(self, data: Any, *, lists: list[ContactList], tags: list[Tag], segments: list[Segment]) -> None:
        super().__init__(data)
        self.fields["list"].choices = [("", "Any"), *((cl.public_id, cl.name) for cl in lists)]
        self.fields["tag"].choices = [("", "Any"), *((t.public_id, t.name) for t in tags)]
        self.fields["segment"].choices = [("", "Any"), *((s.public_id, s.name) for s in segments)]

    def wanted(self) -> ContactFilter:
        data = self.cleaned_data
        return ContactFilter(
            list_id=data.get("list") or "",
            tag=data.get("tag") or "",
            status=data.get("status") or "",
            channel=data.get("channel") or "email",
        )
