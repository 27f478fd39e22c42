"""The audience in Django admin: contacts, lists, tags and custom fields of every tenant, each shown with its owner.

Every save and delete goes through contacts.services, so the admin keeps the rules the API and the panel keep:
addresses normalised, duplicates refused (on the form), custom values typed, statuses mirrored on the suppression
list. The owner is chosen when an object is created and fixed after. Memberships change through the contact
list's actions (add to a list, tag), which only ever join a tenant's contacts to that tenant's list or tag.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse

from accounts.admin import intermediate
from accounts.models import User
from contacts import services, values
from contacts.models import Contact, ContactList, CustomField, ImportJob, Segment, Tag
from xsender.admin_views import ViewOnlyAdmin
from xsender.errors import Conflict, DomainError, ValidationFailed

CONTACT_FORM_FIELDS = ["email", "phone", "first_name", "last_name", "company", "time_zone", "email_status",
                       "sms_status", "whatsapp_status"]  # fmt: skip


def add_domain_errors(form: forms.Form, exc: DomainError) -> None:
    """The service's error on the form field it names (custom.<key> on `custom`), else on the form."""
    errors = exc.errors if isinstance(exc, ValidationFailed) else [{"field": exc.field or "", "message": exc.message}]
    for error in errors or [{"field": "", "message": exc.message}]:
        name, _, key = str(error.get("field", "")).partition(".")
        name = {"custom": "custom_json"}.get(name, name)
        message = f"{key}: {error['message']}" if key else str(error["message"])
        form.add_error(name if name in form.fields else None, message)


class OwnerFixedAdmin(admin.ModelAdmin):
    """The owner is picked on creation (autocomplete) and read-only afterwards; list pages show it."""

    autocomplete_fields = ("owner",)
    list_select_related = ("owner",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fixed = ("owner",) if obj is not None else ()
        return (*self.readonly_fields, *fixed)

    @admin.display(description="Owner", ordering="owner__email")
    def owner_email(self, obj: Any) -> str:
        return obj.owner.email

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # deletion goes through the services: remove_selected below
        return actions


# ---------------------------------------------------------------- contacts


class ContactForm(forms.ModelForm):
    custom_json = forms.CharField(
        label="Custom fields", required=False, widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text="JSON object: custom field name or public id → value (checked against the field's type).",
    )  # fmt: skip

    class Meta:
        model = Contact
        fields = ["owner", *CONTACT_FORM_FIELDS]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["custom_json"].initial = json.dumps(self.instance.custom or {}, indent=2)
        self.changes: dict[str, Any] = {}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        owner = data.get("owner") if "owner" in self.fields else self.instance.owner
        try:
            custom = json.loads(data.get("custom_json") or "{}")
        except json.JSONDecodeError as exc:
            raise forms.ValidationError({"custom_json": f"Not valid JSON: {exc.msg}."}) from None
        if not isinstance(custom, dict):
            raise forms.ValidationError({"custom_json": "Enter a JSON object."})
        if owner is None or self.errors:
            return data
        stored = Contact.objects.filter(pk=self.instance.pk).first() if self.instance.pk else None
        removed = {key: None for key in (stored.custom if stored else {}) if key not in custom}
        changes = {name: data.get(name, "") for name in CONTACT_FORM_FIELDS} | {"custom": {**removed, **custom}}
        try:
            self.changes = services.check_contact_changes(owner=owner, contact=stored, changes=changes)
            services.check_unique_contact(
                owner=owner, contact=stored, email=self.changes["email"], phone=self.changes["phone"]
            )
        except (ValidationFailed, Conflict) as exc:
            add_domain_errors(self, exc)
            return data
        data.update({k: v for k, v in self.changes.items() if k != "custom"})  # duplicates are checked normalised
        return data


class AddToListForm(forms.Form):
    contact_list = forms.ModelChoiceField(
        label="List", queryset=ContactList.objects.select_related("owner"),
        help_text="Only the selected contacts of the list's owner join it.",
    )  # fmt: skip


class AddTagForm(forms.Form):
    tag = forms.CharField(max_length=255, help_text="A tag name; created for each owner who does not have it yet.")


@admin.register(Contact)
class ContactAdmin(OwnerFixedAdmin):
    form = ContactForm
    list_display = ("__str__", "public_id", "name", "owner_email", "email_status", "sms_status", "whatsapp_status",
                    "created_at")  # fmt: skip
    list_filter = ("email_status", "sms_status", "whatsapp_status", "created_at")
    search_fields = ("email", "phone", "first_name", "last_name", "company", "public_id", "owner__email")
    readonly_fields = ("public_id", "memberships", "created_at", "updated_at", "last_activity_at")
    actions = ["add_to_list", "add_tag", "remove_selected"]

    @admin.display(description="Lists and tags")
    def memberships(self, obj: Contact) -> str:
        if not obj.pk:
            return "—"
        lists = ", ".join(cl.name for cl in obj.lists.all()) or "none"
        return f"Lists: {lists}. Tags: {', '.join(t.name for t in obj.tags.all()) or 'none'}."

    def save_model(self, request: HttpRequest, obj: Contact, form: ContactForm, change: bool) -> None:
        if change:
            services.update_contact(contact=Contact.objects.get(pk=obj.pk), **form.changes)
            return
        created = services.create_contact(owner=form.cleaned_data["owner"], **form.changes)
        obj.pk, obj.public_id = created.pk, created.public_id

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        pass  # lists and tags change through the actions

    def delete_model(self, request: HttpRequest, obj: Contact) -> None:
        services.delete_contact(contact=obj)

    @admin.action(description="Delete selected contacts", permissions=["delete"])
    def remove_selected(self, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        contacts = list(queryset)
        for contact in contacts:
            services.delete_contact(contact=contact)
        self.log_deletions(request, contacts)
        self.message_user(request, f"Deleted {len(contacts)} contacts.")

    @admin.action(description="Add to a list", permissions=["change"])
    def add_to_list(self, request: HttpRequest, queryset: QuerySet[Contact]) -> HttpResponse | None:
        form, page = intermediate(self, request, queryset, AddToListForm, "Add contacts to a list")
        if form is None:
            return page
        chosen = form.cleaned_data["contact_list"]
        ids = list(queryset.values_list("public_id", flat=True))
        added = services.add_to_lists(owner=chosen.owner, contact_ids=ids, list_ids=[chosen.public_id])
        self.message_user(request, f"{added} contacts of {chosen.owner.email} added to {chosen.name}.")
        return None

    @admin.action(description="Tag", permissions=["change"])
    def add_tag(self, request: HttpRequest, queryset: QuerySet[Contact]) -> HttpResponse | None:
        form, page = intermediate(self, request, queryset, AddTagForm, "Tag contacts")
        if form is None:
            return page
        by_owner: dict[int, list[str]] = defaultdict(list)
        for owner_id, public_id in queryset.values_list("owner_id", "public_id"):
            by_owner[owner_id].append(public_id)
        added = 0
        for owner in User.objects.filter(pk__in=by_owner):
            try:
                added += services.add_tags(owner=owner, contact_ids=by_owner[owner.pk], tags=[form.cleaned_data["tag"]])
            except ValidationFailed as exc:
                self.message_user(request, exc.message, messages.ERROR)
                return None
        self.message_user(request, f"Tagged {added} contacts.")
        return None


# ---------------------------------------------------------------- lists, tags, custom fields


class NamedForm(forms.ModelForm):
    """Names are checked (and trimmed) as the services check them, before the unique check of the form."""

    def clean_name(self) -> str:
        try:
            return values.check_name(self.cleaned_data.get("name", ""))
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.message) from None


class ContactListForm(NamedForm):
    class Meta:
        model = ContactList
        fields = ["owner", "name", "description"]


@admin.register(ContactList)
class ContactListAdmin(OwnerFixedAdmin):
    form = ContactListForm
    list_display = ("name", "public_id", "owner_email", "contact_count", "created_at")
    search_fields = ("name", "public_id", "owner__email")
    list_filter = ("created_at",)
    readonly_fields = ("public_id", "created_at", "updated_at")
    actions = ["remove_selected"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ContactList]:
        return super().get_queryset(request).annotate(contact_total=Count("contacts"))

    @admin.display(description="Contacts", ordering="contact_total")
    def contact_count(self, obj: ContactList) -> int:
        return obj.contact_total  # type: ignore[attr-defined]

    def save_model(self, request: HttpRequest, obj: ContactList, form: forms.ModelForm, change: bool) -> None:
        data = form.cleaned_data
        if change:
            services.update_list(contact_list=obj, name=data["name"], description=data["description"])
            return
        created = services.create_list(owner=data["owner"], name=data["name"], description=data["description"])
        obj.pk, obj.public_id = created.pk, created.public_id

    def delete_model(self, request: HttpRequest, obj: ContactList) -> None:
        services.delete_list(contact_list=obj)

    @admin.action(description="Delete selected lists (their contacts stay)", permissions=["delete"])
    def remove_selected(self, request: HttpRequest, queryset: QuerySet[ContactList]) -> None:
        removed = list(queryset)
        for contact_list in removed:
            services.delete_list(contact_list=contact_list)
        self.log_deletions(request, removed)
        self.message_user(request, f"Deleted {len(removed)} lists.")


class TagForm(NamedForm):
    class Meta:
        model = Tag
        fields = ["owner", "name"]


@admin.register(Tag)
class TagAdmin(OwnerFixedAdmin):
    form = TagForm
    list_display = ("name", "public_id", "owner_email", "contact_count", "created_at")
    search_fields = ("name", "public_id", "owner__email")
    readonly_fields = ("public_id", "created_at")
    actions = ["remove_selected"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tag]:
        return super().get_queryset(request).annotate(contact_total=Count("contacts"))

    @admin.display(description="Contacts", ordering="contact_total")
    def contact_count(self, obj: Tag) -> int:
        return obj.contact_total  # type: ignore[attr-defined]

    def save_model(self, request: HttpRequest, obj: Tag, form: forms.ModelForm, change: bool) -> None:
        if change:
            services.rename_tag(tag=obj, name=form.cleaned_data["name"])
            return
        created = services.get_or_create_tag(owner=form.cleaned_data["owner"], name=form.cleaned_data["name"])
        obj.pk, obj.public_id = created.pk, created.public_id

    def delete_model(self, request: HttpRequest, obj: Tag) -> None:
        services.delete_tag(tag=obj)

    @admin.action(description="Delete selected tags (their contacts stay)", permissions=["delete"])
    def remove_selected(self, request: HttpRequest, queryset: QuerySet[Tag]) -> None:
        removed = list(queryset)
        for tag in removed:
            services.delete_tag(tag=tag)
        self.log_deletions(request, removed)
        self.message_user(request, f"Deleted {len(removed)} tags.")


class CustomFieldForm(NamedForm):
    class Meta:
        model = CustomField
        fields = ["owner", "name", "type", "choices", "description"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        try:
            if self.instance.pk:
                services.check_choices(field=CustomField.objects.get(pk=self.instance.pk), choices=data["choices"])
            else:
                services.check_custom_field(type=data["type"], choices=data["choices"])
        except (ValidationFailed, Conflict) as exc:
            add_domain_errors(self, exc)
        return data


@admin.register(CustomField)
class CustomFieldAdmin(OwnerFixedAdmin):
    form = CustomFieldForm
    list_display = ("name", "type", "public_id", "owner_email", "created_at")
    list_filter = ("type",)
    search_fields = ("name", "public_id", "owner__email")
    readonly_fields = ("public_id", "created_at")
    actions = ["remove_selected"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fixed = super().get_readonly_fields(request, obj)
        return (*fixed, "type") if obj is not None else fixed  # stored values were checked against it

    def save_model(self, request: HttpRequest, obj: CustomField, form: forms.ModelForm, change: bool) -> None:
        data = form.cleaned_data
        if change:
            stored = CustomField.objects.get(pk=obj.pk)
            services.update_custom_field(
                field=stored, name=data["name"], choices=data["choices"], description=data["description"]
            )
            return
        created = services.create_custom_field(
            owner=data["owner"], name=data["name"], type=data["type"], choices=data["choices"],
            description=data["description"],
        )  # fmt: skip
        obj.pk, obj.public_id = created.pk, created.public_id

    def delete_model(self, request: HttpRequest, obj: CustomField) -> None:
        services.delete_custom_field(field=obj)

    @admin.action(description="Delete selected fields and their values", permissions=["delete"])
    def remove_selected(self, request: HttpRequest, queryset: QuerySet[CustomField]) -> None:
        removed = list(queryset)
        for field in removed:
            services.delete_custom_field(field=field)
        self.log_deletions(request, removed)
        self.message_user(request, f"Deleted {len(removed)} custom fields.")


# ---------------------------------------------------------------- segments and imports: to read


class ReadOnlyAdmin(ViewOnlyAdmin):
    """Shown, not changed here: segments are saved through contacts.services (their rules checked), imports are
    started from a file (the panel, `xsender:contacts:import`)."""

    list_select_related = ("owner",)

    @admin.display(description="Owner", ordering="owner__email")
    def owner_email(self, obj: Any) -> str:
        return obj.owner.email


@admin.register(Segment)
class SegmentAdmin(ReadOnlyAdmin):
    list_display = ("name", "owner_email", "match", "updated_at")
    search_fields = ("name", "public_id", "owner__email")
    fields = ("public_id", "owner", "name", "description", "match", "rules", "created_at", "updated_at")


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = ("filename", "owner_email", "status", "rows_total", "rows_processed", "rows_skipped", "created_at")
    list_filter = ("status",)
    search_fields = ("filename", "public_id", "owner__email")
    exclude = ("data",)
