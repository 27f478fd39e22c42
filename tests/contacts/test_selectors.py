"""Reading the audience: keyset pages, search and filters, statuses as the suppression list says, tenants apart."""

from __future__ import annotations

import pytest

from contacts import selectors, services
from contacts.selectors import ContactFilter
from messaging.services import add_suppression
from xsender.errors import NotFound

pytestmark = pytest.mark.django_db


def emails(page: selectors.ContactPage) -> list[str]:
    return [c.email for c in page.contacts]


def every_page(owner, wanted: ContactFilter, size: int) -> list[list[str]]:
    pages, after = [], None
    while True:
        page = selectors.contacts_page(owner=owner, wanted=wanted, after=after, size=size)
        pages.append(emails(page))
        if page.next is None:
            return pages
        after = page.next


def test_pages_walk_every_contact_once_newest_first(alice):
    for n in range(7):
        services.create_contact(owner=alice.user, email=f"c{n}@example.com")
    pages = every_page(alice.user, ContactFilter(), size=3)
    assert pages == [
        ["c6@example.com", "c5@example.com", "c4@example.com"],
        ["c3@example.com", "c2@example.com", "c1@example.com"],
        ["c0@example.com"],
    ]


def test_a_page_costs_three_queries_whatever_its_lists_and_tags(alice, django_assert_num_queries):
    ids = [services.create_contact(owner=alice.user, email=f"c{n}@example.com").public_id for n in range(20)]
    news = services.create_list(owner=alice.user, name="news").public_id
    services.add_to_lists(owner=alice.user, contact_ids=ids, list_ids=[news])
    services.add_tags(owner=alice.user, contact_ids=ids, tags=["a", "b"])
    with django_assert_num_queries(3):
        page = selectors.contacts_page(owner=alice.user, wanted=ContactFilter(tag="a"), size=15)
        names = [sorted(t.name for t in c.tags.all()) for c in page.contacts]
    assert names == [["a", "b"]] * 15


@pytest.mark.parametrize(
    ("search", "found"),
    [
        ("ann@", ["ann@example.com"]),
        ("+4420", ["bea@example.com"]),
        ("lee", ["ann@example.com"]),
        ("BE", ["bea@example.com"]),
    ],
)
def test_search_finds_by_email_phone_or_name_prefix(alice, search, found):
    services.create_contact(owner=alice.user, email="ann@example.com", first_name="Ann", last_name="Lee")
    services.create_contact(owner=alice.user, email="bea@example.com", phone="+442079460000", first_name="Bea")
    page = selectors.contacts_page(owner=alice.user, wanted=ContactFilter(search=search))
    assert emails(page) == found


def test_filters_by_list_and_by_tag(alice):
    ann = services.create_contact(owner=alice.user, email="ann@example.com", tags=["vip"])
    services.create_contact(owner=alice.user, email="bea@example.com", tags=["new"])
    news = services.create_list(owner=alice.user, name="news")
    services.add_to_lists(owner=alice.user, contact_ids=[ann.public_id], list_ids=[news.public_id])
    by_list = selectors.contacts_page(owner=alice.user, wanted=ContactFilter(list_id=news.public_id))
    by_tag = selectors.contacts_page(owner=alice.user, wanted=ContactFilter(tag="new"))
    assert (emails(by_list), emails(by_tag)) == (["ann@example.com"], ["bea@example.com"])


def test_a_bounce_on_the_suppression_list_reads_as_the_contacts_status(alice):
    services.create_contact(owner=alice.user, email="ann@example.com")
    services.create_contact(owner=alice.user, email="bea@example.com")
    add_suppression(user=alice.user, channel="email", address="ann@example.com", reason="bounce")
    bounced = selectors.contacts_page(owner=alice.user, wanted=ContactFilter(status="bounced"))
    subscribed = selectors.contacts_page(owner=alice.user, wanted=ContactFilter(status="subscribed"))
    assert emails(bounced) == ["ann@example.com"]
    assert bounced.contacts[0].status_for("email") == "bounced"
    assert emails(subscribed) == ["bea@example.com"]


def test_a_status_filter_reads_the_channel_asked_for(alice):
    services.create_contact(owner=alice.user, email="ann@example.com", phone="+14155550123", sms_status="unsubscribed")
    sms = selectors.contacts_page(owner=alice.user, wanted=ContactFilter(status="unsubscribed", channel="sms"))
    email = selectors.contacts_page(owner=alice.user, wanted=ContactFilter(status="unsubscribed", channel="email"))
    assert (emails(sms), emails(email)) == (["ann@example.com"], [])


def test_another_tenants_suppression_does_not_touch_a_contact(alice, bob):
    services.create_contact(owner=alice.user, email="ann@example.com")
    add_suppression(user=bob.user, channel="email", address="ann@example.com", reason="opt_out")
    page = selectors.contacts_page(owner=alice.user, wanted=ContactFilter())
    assert page.contacts[0].status_for("email") == "subscribed"


def test_bob_never_sees_alices_audience(alice, bob):
    ann = services.create_contact(owner=alice.user, email="ann@example.com", tags=["vip"])
    news = services.create_list(owner=alice.user, name="news")
    field = services.create_custom_field(owner=alice.user, name="Age", type="number")
    services.add_to_lists(owner=alice.user, contact_ids=[ann.public_id], list_ids=[news.public_id])
    assert selectors.contacts_page(owner=bob.user, wanted=ContactFilter()).contacts == []
    assert selectors.contacts_page(owner=bob.user, wanted=ContactFilter(list_id=news.public_id)).contacts == []
    for lookup, public_id in [
        (selectors.get_contact, ann.public_id), (selectors.get_list, news.public_id),
        (selectors.get_tag, ann.tags.get().public_id), (selectors.get_custom_field, field.public_id),
    ]:  # fmt: skip
        with pytest.raises(NotFound):
            lookup(owner=bob.user, public_id=public_id)


def test_a_tenant_finds_its_own_contact_by_public_id(alice):
    ann = services.create_contact(owner=alice.user, email="ann@example.com")
    assert selectors.get_contact(owner=alice.user, public_id=ann.public_id) == ann


def test_template_data_names_custom_values_by_their_fields_current_name(alice):
    field = services.create_custom_field(owner=alice.user, name="city", type="text")
    ann = services.create_contact(owner=alice.user, email="ann@example.com", first_name="Ann", custom={"city": "Oslo"})
    services.update_custom_field(field=field, name="town")
    data = selectors.contact_data(ann, selectors.custom_field_names(owner=alice.user))
    assert (data["first_name"], data["custom"]) == ("Ann", {"town": "Oslo"})
