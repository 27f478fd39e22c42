"""Exporting the tenant's contacts as CSV, streamed: keyset chunks over the (owner, id) index, so memory stays
flat whatever the number of contacts and no query holds a cursor open between chunks (a slow client never keeps
a transaction or a server-side cursor alive)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib.postgres.aggregates import StringAgg
from django.db.models import OuterRef, QuerySet, Subquery

from accounts.models import User
from contacts.models import STATUS_FIELDS, Contact
from contacts.segments import segment_q
from contacts.selectors import ContactFilter, custom_field_names, get_segment, matching_contacts
from xsender.spreadsheet import spreadsheet_safe

CHUNK = 2_000
EVERYONE = ContactFilter()
COLUMNS = ["id", "email", "phone", "first_name", "last_name", "company", "time_zone"]


class _Line:
    """A file-like that hands back what csv.writer wrote (one line)."""

    def write(self, text: str) -> str:
        return text


def _names(through: Any, column: str, target: str) -> Subquery:
    rows = through.objects.filter(contact_id=OuterRef("pk")).values("contact_id")
    return Subquery(
        rows.annotate(names=StringAgg(f"{column}__{target}", "; ", order_by=f"{column}__{target}")).values("names")
    )


def exported_contacts(*, owner: User, wanted: ContactFilter = EVERYONE, segment_id: str = "") -> QuerySet[Contact]:
    """The tenant's contacts matching `wanted` and, given, the segment `segment_id` (NotFound for another's)."""
    contacts = matching_contacts(owner=owner, wanted=wanted)
    if segment_id:
        segment = get_segment(owner=owner, public_id=segment_id)
        contacts = contacts.filter(segment_q(owner.pk, segment.rules, segment.match))
    return contacts.annotate(
        list_names=_names(Contact.lists.through, "contactlist", "name"),
        tag_names=_names(Contact.tags.through, "tag", "name"),
    )


def export_csv(*, owner: User, wanted: ContactFilter = EVERYONE, segment_id: str = "") -> Iterator[str]:
    """CSV lines (header first) of exported_contacts: id, addresses, names, company, time zone, each channel's
    effective status, lists, tags, created_at, then one column per custom field (by name). One query per CHUNK
    contacts, plus two to start; raises NotFound for an unknown segment before the first line."""
    contacts = exported_contacts(owner=owner, wanted=wanted, segment_id=segment_id)
    names = custom_field_names(owner=owner)
    writer = csv.writer(_Line())
    statuses = [f"{channel}_status" for channel in STATUS_FIELDS]
    yield writer.writerow([*COLUMNS, *statuses, "lists", "tags", "created_at", *names.values()])
    after: int | None = None
    while True:
        page = contacts.order_by("-id")
        if after is not None:
            page = page.filter(id__lt=after)
        chunk = list(page[:CHUNK])
        for c in chunk:
            yield writer.writerow(
                [
                    c.public_id,
                    *(_cell(v) for v in (c.email, c.phone, c.first_name, c.last_name, c.company)),
                    c.time_zone,
                ]
                + [c.status_for(channel) for channel in STATUS_FIELDS]
                + [_cell(c.list_names), _cell(c.tag_names), c.created_at.isoformat()]
                + [_cell(c.custom.get(key)) for key in names]
            )
        if len(chunk) < CHUNK:
            return
        after = chunk[-1].pk


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return spreadsheet_safe(str(value))
