"""Segment counts take shortcuts for speed (contacts.selectors._count): one tag or list rule counts its memberships,
and tag and list rules name their tag (list) by a scalar subquery. Each shortcut must count exactly the contacts the
segment lists, and the contacts the former shape (`EXISTS` of a membership joined to the tag by public id) counted,
for every kind of rule, alone, beside a tag rule and joined by `any`."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from contacts import selectors, services
from contacts.models import Contact, Segment
from contacts.segments import check_rules, segment_q
from messaging.models import Message, Suppression
from xsender.errors import ValidationFailed
from xsender.public_ids import new_public_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def crowd(alice, bob):
    """Twelve contacts of Alice's with every kind of value, and Bob's contacts tagged and listed by the same names."""
    owner = alice.user
    services.create_custom_field(owner=owner, name="Age", type="number")
    services.create_custom_field(owner=owner, name="Plan", type="choice", choices=["free", "pro"])
    vips = services.create_list(owner=owner, name="VIPs")
    services.create_list(owner=owner, name="Empty")
    theirs = services.create_list(owner=bob.user, name="VIPs")
    for n in range(12):
        services.create_contact(
            owner=owner,
            email=f"p{n}@example.com" if n % 4 else "",
            phone=f"+1415555{n:04d}" if n % 3 == 0 or n % 4 == 0 else "",
            first_name=f"P{n}",
            custom={"Age": n * 7, "Plan": "pro" if n % 2 else "free"} if n % 5 else {},
            lists=[vips.public_id] if n % 3 else [],
            tags=["hot"] if n % 2 == 0 else ["cold"] if n % 3 == 0 else [],
        )
        services.create_contact(
            owner=bob.user, email=f"b{n}@example.com", lists=[theirs.public_id], tags=["hot", "cold"]
        )
    Suppression.objects.create(user=owner, channel="email", address="p1@example.com", reason="bounce")
    Suppression.objects.create(user=None, channel="email", address="p2@example.com", reason="opt_out")
    services.update_contact(contact=Contact.objects.get(email="p3@example.com"), email_status="unsubscribed")
    Message.objects.create(
        user=owner, channel="email", recipient="p5@example.com", status="Opened", opened_at=timezone.now()
    )
    return {"list": vips}


def every_rule(owner: Any, vips: Any) -> list[dict[str, Any]]:
    empty = services.create_list(owner=owner, name=new_public_id("list"))
    gone = services.get_or_create_tag(owner=owner, name="gone")
    rules = [
        {"field": "tag", "op": "has", "value": "hot"},
        {"field": "tag", "op": "has_not", "value": "hot"},
        {"field": "tag", "op": "has", "value": "gone"},
        {"field": "tag", "op": "has_not", "value": "gone"},
        {"field": "list", "op": "in", "value": vips.public_id},
        {"field": "list", "op": "not_in", "value": vips.public_id},
        {"field": "list", "op": "in", "value": empty.public_id},
        {"field": "list", "op": "not_in", "value": empty.public_id},
        {"field": "email", "op": "contains", "value": "1"},
        {"field": "phone", "op": "is_empty"},
        {"field": "first_name", "op": "starts_with", "value": "p1"},
        {"field": "custom.Age", "op": "greater_than", "value": 30},
        {"field": "custom.Plan", "op": "equals", "value": "pro"},
        {"field": "custom.Plan", "op": "is_empty"},
        {"field": "status", "channel": "email", "op": "equals", "value": "subscribed"},
        {"field": "status", "channel": "email", "op": "not_equals", "value": "subscribed"},
        {"field": "activity", "op": "opened", "days": 7},
    ]
    checked = check_rules(owner=owner, rules=rules)
    services.delete_tag(tag=gone)  # a rule naming a tag deleted since: `has` nobody, `has_not` everybody
    services.delete_list(contact_list=empty)
    return checked


def former_q(owner_id: int, rule: dict[str, Any]) -> Q:
    """The shape tag and list rules had before: EXISTS of a membership joined to the tag (list) by public id."""
    if rule["field"] not in ("tag", "list"):
        return segment_q(owner_id, [rule])
    if rule["field"] == "tag":
        through, target = Contact.tags.through.objects, {"tag__public_id": rule["value"], "tag__owner_id": owner_id}
    else:
        through = Contact.lists.through.objects
        target = {"contactlist__public_id": rule["value"], "contactlist__owner_id": owner_id}
    held = Exists(through.filter(contact_id=OuterRef("pk"), **target))
    return Q(held) if rule["op"] in ("has", "in") else ~Q(held)


def former(owner_id: int, rules: list[dict[str, Any]], match: str) -> set[int]:
    combined = Q()
    for rule in rules:
        combined = combined & former_q(owner_id, rule) if match == "all" else combined | former_q(owner_id, rule)
    return set(Contact.objects.filter(combined, owner_id=owner_id).values_list("pk", flat=True))


def counted(owner: Any, rules: list[dict[str, Any]], match: str = "all") -> int:
    """The count of a segment of checked `rules`; asserts it is the number of contacts the segment lists, the former
    shape's and the live count's (unless a rule names a tag or list deleted since: the live count refuses it)."""
    segment = Segment(owner=owner, name="Counted", rules=rules, match=match)
    listed = set(selectors.segment_contacts(segment).values_list("pk", flat=True))
    count = selectors.segment_count(segment)
    assert count == len(listed)
    assert listed == former(owner.pk, rules, match), rules
    try:
        assert selectors.count_rules(owner=owner, rules=rules, match=match) == count
    except ValidationFailed as refused:
        assert refused.errors[0]["message"].startswith(("Unknown tag", "Unknown list"))
    return count


def test_every_rule_counts_what_it_lists_and_what_it_counted_before(alice, crowd):
    owner = alice.user
    rules = every_rule(owner, crowd["list"])
    counts = [counted(owner, [rule]) for rule in rules]
    assert counts[:8] == [6, 6, 0, 12, 8, 4, 0, 12]  # hot: the even ones; VIPs: not a multiple of 3
    hot = rules[0]
    for rule in rules:  # beside a tag rule, and either of them
        counted(owner, [hot, rule])
        counted(owner, [rule, hot], match="any")


def test_a_tag_or_list_rule_never_counts_another_tenants_members(alice, bob, crowd):
    owner = alice.user
    cold = check_rules(owner=owner, rules=[{"field": "tag", "op": "has", "value": "cold"}])
    assert counted(owner, cold) == 2  # 3 and 9; Bob's 12 not counted
    assert (
        counted(
            owner, check_rules(owner=owner, rules=[{"field": "list", "op": "in", "value": crowd["list"].public_id}])
        )
        == 8
    )
    theirs = services.create_segment(owner=bob.user, name="Hot", rules=[{"field": "tag", "op": "has", "value": "hot"}])
    assert selectors.segment_count(theirs) == 12


def test_a_tag_rule_follows_memberships_removed_and_tags_deleted(alice, crowd):
    owner = alice.user
    segment = services.create_segment(owner=owner, name="Hot", rules=[{"field": "tag", "op": "has", "value": "hot"}])
    hot = list(Contact.objects.filter(owner=owner, tags__name="hot").values_list("public_id", flat=True))
    services.remove_tags(owner=owner, contact_ids=hot[:2], tags=["hot"])
    assert selectors.segment_count(segment) == 4
    services.delete_tag(tag=selectors.get_tag(owner=owner, public_id=segment.rules[0]["value"]))
    assert selectors.segment_count(segment) == 0


def test_memberships_are_indexed_by_their_tag_or_list_then_contact():
    """A tag's (list's) members are read from an index in contact order (migration contacts 0005), which replaces
    the index of the tag (list) column alone: a membership updates as many indexes as before."""
    with connection.cursor() as cursor:
        for table, column in (("contacts_contact_tags", "tag_id"), ("contacts_contact_lists", "contactlist_id")):
            indexes = sorted(
                info["columns"]
                for info in connection.introspection.get_constraints(cursor, table).values()
                if (info["index"] or info["unique"]) and not info["primary_key"]
            )
            assert indexes == [["contact_id"], ["contact_id", column], [column, "contact_id"]]


def test_a_count_of_several_rules_is_planned_for_its_own_values_every_time(crowd, alice):
    """psycopg prepares a statement a connection repeats, and PostgreSQL would then settle on a generic plan made
    without the rules' values (twice as slow on the bench's million contacts): the count forbids it for its
    transaction, and counts the same each time."""
    rules = [
        {"field": "custom.Plan", "op": "equals", "value": "pro"},
        {"field": "list", "op": "in", "value": crowd["list"].public_id},
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        counts = {selectors.count_rules(owner=alice.user, rules=rules) for _ in range(8)}
        cursor.execute("SELECT current_setting('plan_cache_mode'), current_setting('random_page_cost')")
        assert cursor.fetchone() == ("force_custom_plan", "1.1")
    assert len(counts) == 1 and counts.pop() > 0
