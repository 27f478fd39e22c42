"""The panel's reads of the audience that contacts.selectors does not offer (yet): the tenant's lists, tags and
custom fields, and lists and tags with their number of contacts. Each one query, scoped to the tenant.

(They belong in contacts.selectors; kept here while that app is being extended by others.)"""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Count, Model
from django.http import Http404

from accounts.models import User
from contacts import selectors
from contacts.models import ContactList, CustomField, Tag
from xsender.errors import NotFound

M = TypeVar("M", bound=Model)


def lists_of(owner: User) -> list[ContactList]:
    return list(ContactList.objects.for_tenant(owner).order_by("name"))


def tags_of(owner: User) -> list[Tag]:
    return list(Tag.objects.for_tenant(owner).order_by("name"))


def custom_fields_of(owner: User) -> list[CustomField]:
    return list(CustomField.objects.for_tenant(owner).order_by("name"))


def lists_with_counts(owner: User) -> list[ContactList]:
    """The tenant's lists, each with `contact_count`."""
    return list(ContactList.objects.for_tenant(owner).annotate(contact_count=Count("contacts")).order_by("name"))


def tags_with_counts(owner: User) -> list[Tag]:
    """The tenant's tags, each with `contact_count`."""
    return list(Tag.objects.for_tenant(owner).annotate(contact_count=Count("contacts")).order_by("name"))


GETTERS = {
    "contact": selectors.get_contact,
    "list": selectors.get_list,
    "tag": selectors.get_tag,
    "custom_field": selectors.get_custom_field,
}


def own(kind: str, owner: User, public_id: str) -> Model:
    """The tenant's object of `kind` named `public_id`; another tenant's (or none) is a 404."""
    try:
        return GETTERS[kind](owner=owner, public_id=public_id)
    except NotFound as exc:
        raise Http404(exc.message) from None
