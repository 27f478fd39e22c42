"""The panel's reads of the audience that contacts.selectors does not offer (yet): the tenant's lists, tags and
custom fields, segments, imports, and lists, tags and segments with their number of contacts. Each one query
(segments with counts: two), scoped to the tenant.

(They belong in contacts.selectors; kept here while that app is being extended by others.)"""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Count, Model
from django.http import Http404

from accounts.models import User
from contacts import selectors
from contacts.models import Contact, ContactList, CustomField, ImportJob, Segment, Tag
from contacts.segments import segment_q
from contacts.selectors import segments_of
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


def segments_with_counts(owner: User) -> list[Segment]:
    """The tenant's segments, each with `contact_count` (what segment_count says): two queries whatever their
    number, the counts being one aggregate of the tenant's contacts with a filter per segment."""
    segments = segments_of(owner)
    if segments:
        counts = Contact.objects.for_tenant(owner).aggregate(
            **{
                f"s{s.pk}": Count("pk", filter=segment_q(owner.pk, s.rules, s.match)) if s.rules else Count("pk")
                for s in segments
            }
        )
        for segment in segments:
            segment.contact_count = counts[f"s{segment.pk}"]  # type: ignore[attr-defined]
    return segments


def imports_of(owner: User, limit: int = 50) -> list[ImportJob]:
    """The tenant's latest imports, newest first, without their files (one query)."""
    return list(ImportJob.objects.for_tenant(owner).defer("data", "report").order_by("-id")[:limit])


def get_import(*, owner: User, public_id: str) -> ImportJob:
    """The tenant's import `public_id` without its file, else NotFound."""
    found = ImportJob.objects.for_tenant(owner).defer("data").filter(public_id=public_id).first()
    if found is None:
        raise NotFound("Import not found.")
    return found


GETTERS = {
    "contact": selectors.get_contact,
    "list": selectors.get_list,
    "tag": selectors.get_tag,
    "custom_field": selectors.get_custom_field,
    "segment": selectors.get_segment,
    "import": get_import,
}


def own(kind: str, owner: User, public_id: str) -> Model:
    """The tenant's object of `kind` named `public_id`; another tenant's (or none) is a 404."""
    try:
        return GETTERS[kind](owner=owner, public_id=public_id)
    except NotFound as exc:
        raise Http404(exc.message) from None
