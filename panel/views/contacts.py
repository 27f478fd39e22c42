"""Contacts: the tenant's audience (search, filters by list, tag and status, keyset pages), a contact's form (its
fields, a status per channel, the tenant's custom fields, lists and tags), removal after a confirmation, and bulk
actions on the ticked contacts (add to or remove from a list, tag or untag). Every change goes through
contacts.services; their errors are shown at the fields they name and nothing is saved."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from contacts import services
from contacts.models import Contact
from contacts.selectors import contacts_page
from panel.access import tenant_required
from panel.audience import custom_fields_of, lists_of, own, tags_of
from panel.contact_forms import BulkForm, ContactFilterForm, ContactForm, add_domain_errors
from panel.pages import delete_page
from xsender.errors import DomainError

PAGE_SIZE = 50


def _cursor(params: QueryDict) -> int | None:
    after = params.get("after", "")
    return int(after) if after.isdigit() else None


def _query(params: QueryDict, **extra: str) -> str:
    kept = {k: v for k, v in params.items() if k != "after" and v}
    return urlencode({**kept, **extra})


def _page_context(request: HttpRequest, params: QueryDict, bulk: BulkForm | None = None) -> dict[str, Any]:
    """The list page for the filters in `params`: lists and tags (one query each), then one page of contacts
    (three queries whatever its size)."""
    lists, tags = lists_of(request.user), tags_of(request.user)
    form = ContactFilterForm(params, lists=lists, tags=tags)
    page = None
    if form.is_valid():
        page = contacts_page(owner=request.user, wanted=form.wanted(), after=_cursor(params), size=PAGE_SIZE)
    return {
        "form": form,
        "page": page,
        "bulk": bulk or BulkForm(lists=lists, initial_query=_query(params)),
        "selected": set(bulk.data.getlist("contacts")) if bulk is not None else set(),
        "filtered": any(v for k, v in params.items() if k not in ("after", "channel")),
        "first_page": bool(params.get("after")),
        "next_query": _query(params, after=str(page.next)) if page and page.next else "",
        "query": _query(params),
    }


@tenant_required
def contact_list(request: HttpRequest) -> HttpResponse:
    context = _page_context(request, request.GET)
    template = "panel/_contacts_results.html" if request.headers.get("HX-Request") else "panel/contacts.html"
    return render(request, template, context)


def _apply(request: HttpRequest, data: dict[str, Any]) -> str:
    """Runs the bulk action through contacts.services and says what it did (raises their domain errors)."""
    owner, ids, action, tag = request.user, data["contacts"], data["action"], data["tag"].strip()
    if action == "add-to-list":
        count = services.add_to_lists(owner=owner, contact_ids=ids, list_ids=[data["target_list"]])
        return f"{count} contact(s) added to the list."
    if action == "remove-from-list":
        count = services.remove_from_lists(owner=owner, contact_ids=ids, list_ids=[data["target_list"]])
        return f"{count} contact(s) removed from the list."
    if action == "add-tag":
        return f"{services.add_tags(owner=owner, contact_ids=ids, tags=[tag])} contact(s) tagged “{tag}”."
    return f"Tag “{tag}” removed from {services.remove_tags(owner=owner, contact_ids=ids, tags=[tag])} contact(s)."


@tenant_required
@require_POST
def bulk_contacts(request: HttpRequest) -> HttpResponse:
    """Applies one action to the ticked contacts (ids the tenant does not have are skipped by the services), then
    back to the list with its filters; a bad choice re-renders the list with the error and the ticks kept."""
    form = BulkForm(request.POST, lists=lists_of(request.user))
    if form.is_valid():
        try:
            done = _apply(request, form.cleaned_data)
        except DomainError as exc:
            add_domain_errors(form, exc, {"lists": "target_list", "tags": "tag", "name": "tag"})
        else:
            messages.success(request, done)
            query = QueryDict(form.cleaned_data["query"]).urlencode()
            return redirect(reverse("panel:contacts") + (f"?{query}" if query else ""))
    params = QueryDict(request.POST.get("query", ""))
    return render(request, "panel/contacts.html", _page_context(request, params, bulk=form), status=400)


def _contact_form(request: HttpRequest, contact: Contact | None) -> ContactForm:
    fields, lists = custom_fields_of(request.user), lists_of(request.user)
    return ContactForm(request.POST or None, contact=contact, fields=fields, lists=lists)


def _save(request: HttpRequest, form: ContactForm, contact: Contact | None) -> Contact | None:
    """Creates or changes the contact and its memberships in one transaction; on a domain error, the error is put
    on the form and nothing is saved (None)."""
    join, leave, tag, untag = form.memberships()
    try:
        with transaction.atomic():
            if contact is None:
                return services.create_contact(owner=request.user, lists=join, tags=tag, **form.changes())
            services.update_contact(contact=contact, lists=join, tags=tag, **form.changes())
            if leave:
                services.remove_from_lists(owner=request.user, contact_ids=[contact.public_id], list_ids=leave)
            if untag:
                services.remove_tags(owner=request.user, contact_ids=[contact.public_id], tags=untag)
            return contact
    except DomainError as exc:
        add_domain_errors(form, exc, form.aliases)
        return None


@tenant_required
def add_contact(request: HttpRequest) -> HttpResponse:
    form = _contact_form(request, None)
    if request.method == "POST" and form.is_valid() and (contact := _save(request, form, None)):
        messages.success(request, f"Contact {contact} added.")
        return redirect("panel:contacts")
    status = 400 if form.errors else 200
    return render(request, "panel/contact_form.html", {"form": form, "contact": None}, status=status)


@tenant_required
def edit_contact(request: HttpRequest, public_id: str) -> HttpResponse:
    contact = own("contact", request.user, public_id)
    context = {"contact": contact, "name": str(contact)}  # the name as stored, even after a refused change
    context["form"] = form = _contact_form(request, contact)
    if request.method == "POST" and form.is_valid() and _save(request, form, contact):
        messages.success(request, f"Contact {contact} saved.")
        return redirect("panel:edit-contact", public_id=contact.public_id)
    return render(request, "panel/contact_form.html", context, status=400 if form.errors else 200)


@tenant_required
def delete_contact(request: HttpRequest, public_id: str) -> HttpResponse:
    """GET asks for the confirmation; POST removes the contact (its suppressions stay)."""
    contact = own("contact", request.user, public_id)

    def delete() -> str:
        services.delete_contact(contact=contact)
        return f"Contact {contact} deleted."

    return delete_page(
        request, delete=delete, title=f"Delete {contact}", button="Delete contact",
        text="The contact leaves every list and tag. If the address opted out, it stays on the suppression "
        "list: deleting a contact never makes an address reachable again.",
        back=reverse("panel:edit-contact", kwargs={"public_id": contact.public_id}), done=reverse("panel:contacts"),
    )  # fmt: skip
