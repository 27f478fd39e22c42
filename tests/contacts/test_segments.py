"""Segments: each kind of rule counts the contacts it should, bad rules are refused naming the rule's key, and
one tenant's segment never sees another's contacts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts import selectors, services
from contacts.models import Segment
from messaging.models import Message, Suppression
from xsender.errors import Conflict, ValidationFailed
from xsender.public_ids import is_public_id, new_public_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(alice):
    owner = alice.user
    age = services.create_custom_field(owner=owner, name="Age", type="number")
    born = services.create_custom_field(owner=owner, name="Born", type="date")
    vip = services.create_custom_field(owner=owner, name="VIP", type="boolean")
    plan = services.create_custom_field(owner=owner, name="Plan", type="choice", choices=["free", "pro"])
    vips = services.create_list(owner=owner, name="VIPs")
    ann = services.create_contact(
        owner=owner, email="ann@example.com", first_name="Ann", company="Acme",
        custom={"Age": 30, "Born": "1990-05-01", "VIP": True, "Plan": "pro"}, lists=[vips.public_id], tags=["hot"],
    )  # fmt: skip
    bo = services.create_contact(
        owner=owner, email="bo@example.org", phone="+14155550123", first_name="Bo",
        custom={"Age": 45, "Born": "1979-01-01", "Plan": "free"}, tags=["cold"],
    )  # fmt: skip
    cy = services.create_contact(owner=owner, phone="+14155550999", last_name="Cyan", custom={"VIP": False})
    return {"ann": ann, "bo": bo, "cy": cy, "list": vips, "age": age, "born": born, "vip": vip, "plan": plan}


def names(owner, rules, match="all") -> set[str]:
    segment = services.create_segment(owner=owner, name=new_public_id("name"), rules=rules, match=match)
    found = {c.first_name or c.last_name for c in selectors.segment_contacts(segment)}
    assert selectors.segment_count(segment) == len(found)
    return found


def fields_of(exc: ValidationFailed) -> list[str]:
    return [error["field"] for error in exc.errors]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"field": "email", "op": "equals", "value": "ANN@example.com"}, {"Ann"}),
        ({"field": "email", "op": "contains", "value": "example.org"}, {"Bo"}),
        ({"field": "email", "op": "starts_with", "value": "an"}, {"Ann"}),
        ({"field": "email", "op": "is_empty"}, {"Cyan"}),
        ({"field": "phone", "op": "equals", "value": "+1 415 555 0123"}, {"Bo"}),
        ({"field": "phone", "op": "is_not_empty"}, {"Bo", "Cyan"}),
        ({"field": "first_name", "op": "equals", "value": "ann"}, {"Ann"}),
        ({"field": "company", "op": "contains", "value": "cm"}, {"Ann"}),
        ({"field": "last_name", "op": "starts_with", "value": "cy"}, {"Cyan"}),
    ],
)
def test_a_field_rule_counts_the_contacts_it_names(alice, people, rule, expected):
    assert names(alice.user, [rule]) == expected


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"field": "custom.Age", "op": "greater_than", "value": "40"}, {"Bo"}),
        ({"field": "custom.Age", "op": "less_than", "value": 40}, {"Ann"}),
        ({"field": "custom.Age", "op": "equals", "value": "30.0"}, {"Ann"}),
        ({"field": "custom.Born", "op": "less_than", "value": "1985-01-01"}, {"Bo"}),
        ({"field": "custom.Born", "op": "greater_than", "value": "1985-01-01"}, {"Ann"}),
        ({"field": "custom.VIP", "op": "equals", "value": "yes"}, {"Ann"}),
        ({"field": "custom.VIP", "op": "equals", "value": False}, {"Cyan"}),
        ({"field": "custom.Plan", "op": "equals", "value": "free"}, {"Bo"}),
        ({"field": "custom.Plan", "op": "is_empty"}, {"Cyan"}),
        ({"field": "custom.VIP", "op": "is_not_empty"}, {"Ann", "Cyan"}),
    ],
)
def test_a_custom_field_rule_compares_typed_values(alice, people, rule, expected):
    assert names(alice.user, [rule]) == expected


def test_tag_and_list_rules_count_members_and_non_members(alice, people):
    owner = alice.user
    assert names(owner, [{"field": "tag", "op": "has", "value": "hot"}]) == {"Ann"}
    assert names(owner, [{"field": "tag", "op": "has_not", "value": "hot"}]) == {"Bo", "Cyan"}
    assert names(owner, [{"field": "list", "op": "in", "value": people["list"].public_id}]) == {"Ann"}
    assert names(owner, [{"field": "list", "op": "not_in", "value": people["list"].public_id}]) == {"Bo", "Cyan"}


def test_a_status_rule_reads_the_suppression_list_too(alice, people):
    owner = alice.user
    services.update_contact(contact=people["ann"], email_status="unsubscribed")
    Suppression.objects.create(user=owner, channel="email", address="bo@example.org", reason="bounce")
    assert names(owner, [{"field": "status", "channel": "email", "op": "equals", "value": "bounced"}]) == {"Bo"}
    assert names(owner, [{"field": "status", "channel": "email", "op": "equals", "value": "subscribed"}]) == {"Cyan"}
    assert names(owner, [{"field": "status", "channel": "email", "op": "not_equals", "value": "subscribed"}]) == {
        "Ann",
        "Bo",
    }


def test_activity_rules_read_the_tenants_messages_of_the_last_days(alice, bob, people):
    now = timezone.now()
    Message.objects.create(
        user=alice.user, channel="email", recipient="ann@example.com", status="Opened", opened_at=now
    )
    Message.objects.create(
        user=alice.user, channel="sms", recipient="+14155550999", status="Clicked", clicked_at=now - timedelta(days=3)
    )
    Message.objects.create(
        user=alice.user,
        channel="email",
        recipient="bo@example.org",
        status="Bounced",
        failed_at=now - timedelta(days=40),
    )
    Message.objects.create(user=bob.user, channel="email", recipient="bo@example.org", status="Opened", opened_at=now)
    owner = alice.user
    assert names(owner, [{"field": "activity", "op": "opened", "days": 7}]) == {"Ann", "Cyan"}
    assert names(owner, [{"field": "activity", "op": "clicked", "days": 2}]) == set()
    assert names(owner, [{"field": "activity", "op": "bounced", "days": 30}]) == set()
    assert names(owner, [{"field": "activity", "op": "bounced", "days": 60}]) == {"Bo"}


def test_match_any_joins_rules_with_or_and_all_with_and(alice, people):
    rules = [{"field": "tag", "op": "has", "value": "hot"}, {"field": "custom.Age", "op": "greater_than", "value": 40}]
    assert names(alice.user, rules, match="any") == {"Ann", "Bo"}
    assert names(alice.user, rules, match="all") == set()


def test_a_saved_segment_names_tags_and_fields_by_public_id(alice, people):
    segment = services.create_segment(
        owner=alice.user,
        name="Hot",
        rules=[{"field": "tag", "op": "has", "value": "hot"}, {"field": "custom.Age", "op": "is_empty"}],
    )
    assert is_public_id(segment.public_id, "segment")
    assert is_public_id(segment.rules[0]["value"], "tag")
    assert segment.rules[1]["field"] == f"custom.{people['age'].public_id}"


def test_bad_rules_are_refused_naming_each_rule_and_key(alice, people):
    rules = [
        {"field": "email", "op": "equals", "value": "a@example.com"},
        {"field": "custom.Age", "op": "greater_than", "value": "many"},
        {"field": "shoe_size", "op": "equals", "value": "9"},
        {"field": "tag", "op": "has", "value": "never-made"},
        {"field": "custom.Plan", "op": "less_than", "value": "pro"},
        {"field": "activity", "op": "opened", "days": 0},
        {"field": "status", "channel": "fax", "op": "equals", "value": "subscribed"},
    ]
    with pytest.raises(ValidationFailed) as caught:
        services.create_segment(owner=alice.user, name="Bad", rules=rules)
    assert fields_of(caught.value) == [
        "rules.1.value", "rules.2.field", "rules.3.value", "rules.4.op", "rules.5.days", "rules.6.channel",
    ]  # fmt: skip
    assert not alice.user.segments.exists()


def test_an_update_checks_the_rules_again(alice, people):
    segment = services.create_segment(owner=alice.user, name="All", rules=[])
    with pytest.raises(ValidationFailed) as caught:
        services.update_segment(segment=segment, rules=[{"field": "list", "op": "in", "value": "list_nope"}])
    assert fields_of(caught.value) == ["rules.0.value"]


def test_a_second_segment_of_the_same_name_is_a_conflict(alice):
    services.create_segment(owner=alice.user, name="Hot", rules=[])
    with pytest.raises(Conflict) as caught:
        services.create_segment(owner=alice.user, name="Hot", rules=[])
    assert caught.value.field == "name"


def test_the_live_count_checks_rules_not_saved(alice, people):
    assert selectors.count_rules(owner=alice.user, rules=[{"field": "phone", "op": "is_not_empty"}]) == 2
    with pytest.raises(ValidationFailed):
        selectors.count_rules(owner=alice.user, rules=[{"field": "phone", "op": "has"}])


def test_a_segment_never_counts_another_tenants_contacts(alice, bob, people):
    services.create_contact(owner=bob.user, email="zed@example.com", tags=["hot"])
    segment = services.create_segment(owner=alice.user, name="Everyone", rules=[])
    assert selectors.segment_count(segment) == 3
    assert names(alice.user, [{"field": "tag", "op": "has", "value": "hot"}]) == {"Ann"}


def test_another_tenants_tag_or_list_is_unknown_to_a_rule(alice, bob, people):
    with pytest.raises(ValidationFailed) as caught:
        services.create_segment(
            owner=bob.user, name="Theirs", rules=[{"field": "list", "op": "in", "value": people["list"].public_id}]
        )
    assert fields_of(caught.value) == ["rules.0.value"]
    with pytest.raises(Exception, match="not found"):
        selectors.get_segment(
            owner=bob.user, public_id=services.create_segment(owner=alice.user, name="A", rules=[]).public_id
        )


def test_a_segment_count_is_one_query(alice, people):
    segment = services.create_segment(
        owner=alice.user, name="Mixed", rules=[
            {"field": "tag", "op": "has", "value": "hot"}, {"field": "custom.Age", "op": "less_than", "value": 50},
            {"field": "status", "channel": "email", "op": "equals", "value": "subscribed"},
            {"field": "activity", "op": "opened", "days": 30},
        ], match="any",
    )  # fmt: skip
    segment = Segment.objects.get(pk=segment.pk)  # as a page or a campaign reads it: the owner not loaded
    with CaptureQueriesContext(connection) as captured:
        assert selectors.segment_count(segment) == 3
    # The planner settings of its transaction (contacts.selectors._count), then the COUNT.
    statements = [q["sql"] for q in captured.captured_queries]
    assert len(statements) == 2 and "set_config" in statements[0] and statements[1].startswith("SELECT COUNT(*)")
