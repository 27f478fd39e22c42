"""Lists, tags and custom fields of the tenant's contacts: each page lists them (lists and tags with their number of
contacts), creates (lists, custom fields: a tag is created by using it), edits and deletes them after a
confirmation. Every change goes through contacts.services; a duplicate name is shown at the name field."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from contacts import services
from panel.access import tenant_required
from panel.audience import custom_fields_of, lists_with_counts, own, tags_with_counts
from panel.contact_forms import CustomFieldForm, ListForm, TagForm, add_domain_errors
from panel.pages import delete_page, edit_page
from xsender.errors import DomainError

# ---------------------------------------------------------------- lists


@tenant_required
def list_page(request: HttpRequest) -> HttpResponse:
    """The tenant's lists with their counts; POST creates one."""
    form = ListForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.create_list(owner=request.user, **form.cleaned_data)
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, f"List “{created.name}” created.")
            return redirect("panel:contact-lists")
    context = {"lists": lists_with_counts(request.user), "form": form}
    return render(request, "panel/contact_lists.html", context, status=400 if form.errors else 200)


@tenant_required
def edit_list(request: HttpRequest, public_id: str) -> HttpResponse:
    contact_list = own("list", request.user, public_id)
    initial = {"name": contact_list.name, "description": contact_list.description}
    form = ListForm(request.POST or None, initial=initial)

    def save() -> str:
        services.update_list(contact_list=contact_list, **form.cleaned_data)
        return f"List “{contact_list.name}” saved."

    back = reverse("panel:contact-lists")
    return edit_page(request, form, save=save, title=f"Edit list “{initial['name']}”", back=back)


@tenant_required
def delete_list(request: HttpRequest, public_id: str) -> HttpResponse:
    contact_list = own("list", request.user, public_id)

    def delete() -> str:
        services.delete_list(contact_list=contact_list)
        return f"List “{contact_list.name}” deleted; its contacts stay."

    back = reverse("panel:contact-lists")
    return delete_page(
        request, delete=delete, title=f"Delete list “{contact_list.name}”", button="Delete list", back=back,
        done=back, text="The list goes; its contacts stay (they leave this list only).",
    )  # fmt: skip


# ---------------------------------------------------------------- tags


@tenant_required
def tag_page(request: HttpRequest) -> HttpResponse:
    return render(request, "panel/contact_tags.html", {"tags": tags_with_counts(request.user)})


@tenant_required
def rename_tag(request: HttpRequest, public_id: str) -> HttpResponse:
    tag = own("tag", request.user, public_id)
    old = tag.name
    form = TagForm(request.POST or None, initial={"name": old})

    def save() -> str:
        services.rename_tag(tag=tag, name=form.cleaned_data["name"])
        return f"Tag “{old}” renamed to “{tag.name}”."

    return edit_page(request, form, save=save, title=f"Rename tag “{old}”", back=reverse("panel:contact-tags"))


@tenant_required
def delete_tag(request: HttpRequest, public_id: str) -> HttpResponse:
    tag = own("tag", request.user, public_id)

    def delete() -> str:
        services.delete_tag(tag=tag)
        return f"Tag “{tag.name}” deleted."

    back = reverse("panel:contact-tags")
    return delete_page(
        request, delete=delete, title=f"Delete tag “{tag.name}”", button="Delete tag", back=back, done=back,
        text="The tag is taken off every contact that has it; the contacts stay.",
    )  # fmt: skip


# ---------------------------------------------------------------- custom fields


def _field_changes(form: CustomFieldForm) -> dict[str, Any]:
    changes = {"name": form.cleaned_data["name"], "description": form.cleaned_data["description"]}
    if "choices" in form.fields:
        changes["choices"] = form.choice_list()
    return changes


@tenant_required
def custom_field_page(request: HttpRequest) -> HttpResponse:
    """The tenant's custom fields; POST creates one."""
    form = CustomFieldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            field = services.create_custom_field(owner=request.user, type=form.cleaned_data["type"],
                                                 **_field_changes(form))  # fmt: skip
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, f"Custom field “{field.name}” created.")
            return redirect("panel:custom-fields")
    context = {"fields": custom_fields_of(request.user), "form": form}
    return render(request, "panel/custom_fields.html", context, status=400 if form.errors else 200)


@tenant_required
def edit_custom_field(request: HttpRequest, public_id: str) -> HttpResponse:
    field = own("custom_field", request.user, public_id)
    old = field.name
    form = CustomFieldForm(request.POST or None, field=field)

    def save() -> str:
        services.update_custom_field(field=field, **_field_changes(form))
        return f"Custom field “{field.name}” saved."

    title = f"Edit custom field “{old}” ({field.get_type_display().lower()})"
    return edit_page(request, form, save=save, title=title, back=reverse("panel:custom-fields"))


@tenant_required
def delete_custom_field(request: HttpRequest, public_id: str) -> HttpResponse:
    field = own("custom_field", request.user, public_id)

    def delete() -> str:
        services.delete_custom_field(field=field)
        return f"Custom field “{field.name}” deleted, with every contact's value of it."

    back = reverse("panel:custom-fields")
    return delete_page(
        request, delete=delete, title=f"Delete custom field “{field.name}”", button="Delete field", back=back,
        done=back, text="Every contact's value of this field is removed too. This cannot be undone.",
    )  # fmt: skip
