"""Segments in the panel: the list with live counts (its query count does not grow with the segments), the rule
builder (a bad rule's error at its row and nothing saved; the Count button and the htmx count give what
count_rules gives), edit, delete after a confirmation; another tenant's segment is a 404."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts import selectors, services
from contacts.models import Segment
from tests.panel.conftest import signed_in

pytestmark = pytest.mark.django_db
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|<style|\sstyle\s*=", re.I)


def builder(name: str = "VIPs", match: str = "all", *rows: dict[str, str]) -> dict[str, str]:
    data = {"name": name, "description": "", "match": match}
    for n in range(5):
        row = rows[n] if n < len(rows) else {}
        data |= {f"rule_{n}_{key}": row.get(key, "") for key in ("field", "op", "value", "days")}
    return data


def field_errors(html: str, field: str) -> str:
    match = re.search(rf'<ul class="errorlist" id="id_{re.escape(field)}_error">(.*?)</ul>', html, re.S)
    return match.group(1) if match else ""


@pytest.fixture
def people(alice):
    services.create_contact(owner=alice.user, email="ann@example.com", first_name="Ann", tags=["vip"])
    services.create_contact(owner=alice.user, email="bob@example.com", first_name="Bob", tags=["vip"])
    services.create_contact(owner=alice.user, email="cat@example.org", first_name="Cat")


def test_the_empty_list_invites_to_build_the_first_segment(panel):
    html = panel.get("/contacts/segments/", secure=True).content.decode()
    assert "No segments yet" in html and 'href="/contacts/segments/new/"' in html


def test_the_segment_pages_have_no_inline_script_or_style(alice, panel, people):
    segment = services.create_segment(
        owner=alice.user, name="VIPs", rules=[{"field": "tag", "op": "has", "value": "vip"}]
    )
    urls = ["/contacts/segments/", "/contacts/segments/new/", f"/contacts/segments/{segment.public_id}/",
            f"/contacts/segments/{segment.public_id}/delete/"]  # fmt: skip
    answers = [panel.get(url, secure=True) for url in urls]
    assert [a.status_code for a in answers] == [200] * len(urls)
    assert [url for url, a in zip(urls, answers, strict=True) if INLINE.search(a.content.decode())] == []


def test_a_segment_is_created_from_the_rule_rows(alice, panel, people):
    data = builder("VIPs", "all", {}, {"field": "tag", "op": "has", "value": "vip"})  # the empty first row is left out
    answer = panel.post("/contacts/segments/new/", data, secure=True)
    segment = Segment.objects.get(owner=alice.user)
    assert answer.status_code == 302
    assert selectors.segment_count(segment) == 2


def test_a_bad_rule_is_shown_at_its_row_and_nothing_is_saved(alice, panel, people):
    rows = ({"field": "tag", "op": "has", "value": "vip"}, {}, {"field": "first_name", "op": "has", "value": "A"})
    answer = panel.post("/contacts/segments/new/", builder("Bad", "all", *rows), secure=True)
    html = answer.content.decode()
    assert answer.status_code == 400
    assert field_errors(html, "rule_2_op") != "" and field_errors(html, "rule_0_op") == ""
    assert not Segment.objects.filter(owner=alice.user).exists()


def test_a_segment_without_a_name_is_refused_at_the_name(alice, panel):
    html = panel.post("/contacts/segments/new/", builder(""), secure=True).content.decode()
    assert field_errors(html, "name") != ""
    assert not Segment.objects.filter(owner=alice.user).exists()


def test_an_unknown_tag_is_shown_at_its_value(alice, panel, people):
    rows = ({"field": "tag", "op": "has", "value": "nobody-has-this"},)
    html = panel.post("/contacts/segments/new/", builder("Bad", "all", *rows), secure=True).content.decode()
    assert field_errors(html, "rule_0_value") != ""
    assert not Segment.objects.filter(owner=alice.user).exists()


def test_the_count_button_shows_the_live_count_of_unsaved_rules(alice, panel, people):
    rules = [
        {"field": "email", "op": "contains", "value": "example.com"},
        {"field": "tag", "op": "has", "value": "vip"},
    ]
    data = builder("", "any", *rules) | {"action": "count"}  # no name yet: a count needs none
    html = panel.post("/contacts/segments/new/", data, secure=True).content.decode()
    expected = selectors.count_rules(owner=alice.user, rules=rules, match="any")
    assert f"<strong>{expected}</strong> contacts match" in html
    assert not Segment.objects.filter(owner=alice.user).exists()


def test_the_htmx_count_matches_the_saved_segments_count(alice, panel, people):
    rows = ({"field": "tag", "op": "has", "value": "vip"}, {"field": "first_name", "op": "starts_with", "value": "an"})
    html = panel.post("/contacts/segments/count/", builder("X", "all", *rows), secure=True).content.decode()
    segment = services.create_segment(owner=alice.user, name="X", rules=[{"field": "tag", "op": "has", "value": "vip"},
                                      {"field": "first_name", "op": "starts_with", "value": "an"}])  # fmt: skip
    assert f"<strong>{selectors.segment_count(segment)}</strong>" in html and 'id="segment-count"' in html


def test_the_list_shows_each_segments_count(alice, panel, people):
    services.create_segment(owner=alice.user, name="VIPs", rules=[{"field": "tag", "op": "has", "value": "vip"}])
    services.create_segment(owner=alice.user, name="Org", rules=[{"field": "email", "op": "contains", "value": ".org"}])
    html = panel.get("/contacts/segments/", secure=True).content.decode()
    counts = re.findall(r'<td class="num">(\d+)</td>', html)
    assert counts == ["1", "2"]  # by name: Org, VIPs


def test_the_list_runs_as_many_queries_for_two_segments_as_for_eight(alice, panel, people):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert panel.get("/contacts/segments/", secure=True).status_code == 200
        return len(captured)

    for n in range(2):
        services.create_segment(owner=alice.user, name=f"S{n}", rules=[{"field": "tag", "op": "has", "value": "vip"}])
    few = queries()
    for n in range(2, 8):
        services.create_segment(owner=alice.user, name=f"S{n}", rules=[{"field": "list", "op": "not_in",
                                "value": services.create_list(owner=alice.user, name=f"L{n}").public_id}])  # fmt: skip
    assert queries() == few


def test_editing_shows_the_saved_rules_and_saves_changes(alice, panel, people):
    segment = services.create_segment(
        owner=alice.user, name="VIPs", rules=[{"field": "tag", "op": "has", "value": "vip"}]
    )
    html = panel.get(f"/contacts/segments/{segment.public_id}/", secure=True).content.decode()
    assert 'value="vip"' in html
    rows = ({"field": "status.email", "op": "equals", "value": "subscribed"},)
    panel.post(f"/contacts/segments/{segment.public_id}/", builder("Subscribed", "all", *rows), secure=True)
    segment.refresh_from_db()
    assert segment.name == "Subscribed" and segment.rules == [
        {"field": "status", "channel": "email", "op": "equals", "value": "subscribed"}
    ]


def test_a_segment_is_deleted_after_the_confirmation(alice, panel):
    segment = services.create_segment(owner=alice.user, name="Everyone", rules=[])
    assert panel.get(f"/contacts/segments/{segment.public_id}/delete/", secure=True).status_code == 200
    assert Segment.objects.filter(pk=segment.pk).exists()
    panel.post(f"/contacts/segments/{segment.public_id}/delete/", secure=True)
    assert not Segment.objects.filter(pk=segment.pk).exists()


def test_another_tenants_segment_is_a_404(alice, bob):
    segment = services.create_segment(owner=alice.user, name="VIPs", rules=[])
    client = signed_in(bob.user)
    urls = [f"/contacts/segments/{segment.public_id}/", f"/contacts/segments/{segment.public_id}/delete/"]
    assert [client.post(url, secure=True).status_code for url in urls] == [404, 404]
    assert Segment.objects.filter(pk=segment.pk, name="VIPs").exists()
