"""Contacts in the panel: the list (search, filters, keyset pages, bulk list and tag changes), a contact's form
(create, edit, delete; the services' errors at their fields, nothing saved), lists, tags and custom fields; another
tenant's objects are 404s; the list page's query count does not grow with its rows."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts import services
from contacts.models import Contact, ContactList, CustomField, Tag
from tests.conftest import Tenant
from tests.panel.conftest import signed_in

pytestmark = pytest.mark.django_db
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|<style|\sstyle\s*=", re.I)


def contact_form(**fields: str) -> dict[str, str]:
    data = {"email": "", "phone": "", "first_name": "", "last_name": "", "company": "", "tags": "",
            "email_status": "subscribed", "sms_status": "subscribed", "whatsapp_status": "subscribed"}  # fmt: skip
    return {**data, **fields}


def field_errors(html: str, field: str) -> str:
    """The text of the error list rendered at the input named `field` (Django's as_field_group)."""
    match = re.search(rf'<ul class="errorlist" id="id_{re.escape(field)}_error">(.*?)</ul>', html, re.S)
    return match.group(1) if match else ""


# ---------------------------------------------------------------- the list page


def test_the_empty_list_invites_to_add_the_first_contact(panel):
    html = panel.get("/contacts/", secure=True).content.decode()
    assert "No contacts yet — add your first one" in html and 'href="/contacts/add/"' in html


def test_every_audience_page_has_no_inline_script_or_style(alice, panel):
    contact = services.create_contact(owner=alice.user, email="dave@example.com", tags=["vip"])
    contact_list = services.create_list(owner=alice.user, name="Customers")
    field = services.create_custom_field(owner=alice.user, name="Plan", type="choice", choices=["free", "pro"])
    tag = Tag.objects.get(owner=alice.user)
    urls = ["/contacts/", "/contacts/add/", f"/contacts/{contact.public_id}/", f"/contacts/{contact.public_id}/delete/",
            "/contacts/lists/", f"/contacts/lists/{contact_list.public_id}/", "/contacts/tags/",
            f"/contacts/tags/{tag.public_id}/delete/", "/contacts/fields/", f"/contacts/fields/{field.public_id}/"]  # fmt: skip
    answers = [panel.get(url, secure=True) for url in urls]
    assert [a.status_code for a in answers] == [200] * len(urls)
    assert [url for url, a in zip(urls, answers, strict=True) if INLINE.search(a.content.decode())] == []


def test_search_finds_a_contact_by_the_start_of_its_email(alice, panel):
    services.create_contact(owner=alice.user, email="dave@example.com", first_name="Dave")
    services.create_contact(owner=alice.user, email="erin@example.com", first_name="Erin")
    html = panel.get("/contacts/?search=dav", secure=True).content.decode()
    assert "dave@example.com" in html and "erin@example.com" not in html


def test_the_list_filter_shows_only_the_lists_members(alice, panel):
    customers = services.create_list(owner=alice.user, name="Customers")
    services.create_contact(owner=alice.user, email="dave@example.com", lists=[customers.public_id])
    services.create_contact(owner=alice.user, email="erin@example.com")
    html = panel.get(f"/contacts/?list={customers.public_id}", secure=True).content.decode()
    assert "dave@example.com" in html and "erin@example.com" not in html


def test_the_status_filter_shows_the_contacts_with_that_status_on_the_channel(alice, panel):
    services.create_contact(owner=alice.user, email="dave@example.com", email_status="bounced")
    services.create_contact(owner=alice.user, email="erin@example.com")
    html = panel.get("/contacts/?channel=email&status=bounced", secure=True).content.decode()
    assert "dave@example.com" in html and "erin@example.com" not in html


def test_htmx_filters_get_only_the_results(alice, panel):
    services.create_contact(owner=alice.user, email="dave@example.com")
    html = panel.get("/contacts/?search=dave", secure=True, headers={"HX-Request": "true"}).content.decode()
    assert html.lstrip().startswith('<div id="contacts-results">') and "dave@example.com" in html


def test_pages_follow_each_other_without_repeating_a_contact(alice, panel):
    for n in range(55):
        services.create_contact(owner=alice.user, email=f"person{n:02}@example.com")
    first = panel.get("/contacts/", secure=True).content.decode()
    after = re.search(r'href="/contacts/\?after=(\d+)" rel="next"', first).group(1)
    second = panel.get(f"/contacts/?after={after}", secure=True).content.decode()
    shown = re.findall(r"person\d\d@example.com</a>", first + second)
    assert len(shown) == 55 and len(set(shown)) == 55


def _seed(alice: Tenant, first: int, last: int) -> None:
    customers, _ = ContactList.objects.get_or_create(owner=alice.user, name="Customers")
    for n in range(first, last):
        services.create_contact(owner=alice.user, email=f"p{n}@example.com", lists=[customers.public_id],
                                tags=["vip", f"t{n % 3}"])  # fmt: skip


def test_the_list_page_costs_the_same_queries_for_5_or_50_contacts(alice, panel, django_assert_num_queries):
    _seed(alice, 0, 5)
    panel.get("/contacts/", secure=True)  # warm-up: nothing cached on a first request is counted
    with CaptureQueriesContext(connection) as five:
        assert "p4@example.com" in panel.get("/contacts/", secure=True).content.decode()
    _seed(alice, 5, 50)
    with django_assert_num_queries(len(five)):
        assert "p49@example.com" in panel.get("/contacts/", secure=True).content.decode()


# ---------------------------------------------------------------- bulk


def test_ticked_contacts_are_tagged_in_bulk(alice, panel):
    dave = services.create_contact(owner=alice.user, email="dave@example.com")
    erin = services.create_contact(owner=alice.user, email="erin@example.com")
    services.create_contact(owner=alice.user, email="fay@example.com")
    data = {"contacts": [dave.public_id, erin.public_id], "action": "add-tag", "tag": "vip", "query": "search=e"}
    response = panel.post("/contacts/bulk/", data, secure=True)
    assert response.status_code == 302 and response["Location"] == "/contacts/?search=e"
    assert sorted(Contact.objects.filter(tags__name="vip").values_list("email", flat=True)) == [
        "dave@example.com", "erin@example.com"
    ]  # fmt: skip
    assert "2 contact(s) tagged “vip”." in panel.get(response["Location"], secure=True).content.decode()


def test_ticked_contacts_join_and_leave_a_list(alice, panel):
    customers = services.create_list(owner=alice.user, name="Customers")
    dave = services.create_contact(owner=alice.user, email="dave@example.com")
    panel.post("/contacts/bulk/", {"contacts": [dave.public_id], "action": "add-to-list",
                                   "target_list": customers.public_id}, secure=True)  # fmt: skip
    joined = list(customers.contacts.values_list("email", flat=True))
    panel.post("/contacts/bulk/", {"contacts": [dave.public_id], "action": "remove-from-list",
                                   "target_list": customers.public_id}, secure=True)  # fmt: skip
    assert joined == ["dave@example.com"] and customers.contacts.count() == 0


def test_a_bulk_action_without_a_list_shows_the_error_and_changes_nothing(alice, panel):
    dave = services.create_contact(owner=alice.user, email="dave@example.com")
    response = panel.post("/contacts/bulk/", {"contacts": [dave.public_id], "action": "add-to-list"}, secure=True)
    assert response.status_code == 400 and "Choose a list." in field_errors(
        response.content.decode(), "bulk_target_list"
    )
    assert dave.lists.count() == 0


def test_bulk_tagging_skips_another_tenants_contact(alice, bob, panel):
    bobs = services.create_contact(owner=bob.user, email="zed@example.com")
    panel.post("/contacts/bulk/", {"contacts": [bobs.public_id], "action": "add-tag", "tag": "vip"}, secure=True)
    assert bobs.tags.count() == 0


# ---------------------------------------------------------------- a contact


def test_a_contact_is_created_with_its_lists_tags_and_custom_values(alice, panel):
    customers = services.create_list(owner=alice.user, name="Customers")
    seats = services.create_custom_field(owner=alice.user, name="Seats", type="number")
    data = contact_form(email="Dave@Example.com", first_name="Dave", tags="vip, trial", lists=[customers.public_id],
                        **{f"cf_{seats.public_id}": "12"})  # fmt: skip
    response = panel.post("/contacts/add/", data, secure=True)
    contact = Contact.objects.get(owner=alice.user)
    assert response.status_code == 302
    assert (contact.email, contact.first_name, contact.custom) == ("dave@example.com", "Dave", {seats.public_id: 12})
    assert sorted(t.name for t in contact.tags.all()) == ["trial", "vip"] and list(contact.lists.all()) == [customers]


def test_a_contact_is_edited_and_leaves_the_list_and_tag_unticked(alice, panel):
    customers = services.create_list(owner=alice.user, name="Customers")
    contact = services.create_contact(owner=alice.user, email="dave@example.com", lists=[customers.public_id],
                                      tags=["vip"])  # fmt: skip
    data = contact_form(email="dave@example.com", company="Acme", email_status="unsubscribed")
    response = panel.post(f"/contacts/{contact.public_id}/", data, secure=True)
    contact.refresh_from_db()
    assert response.status_code == 302 and (contact.company, contact.email_status) == ("Acme", "unsubscribed")
    assert contact.lists.count() == 0 and contact.tags.count() == 0


def test_a_duplicate_email_is_shown_at_the_email_field_and_nothing_is_saved(alice, panel):
    services.create_contact(owner=alice.user, email="dave@example.com")
    response = panel.post("/contacts/add/", contact_form(email="dave@example.com", tags="new-tag"), secure=True)
    assert response.status_code == 400
    assert "already exists" in field_errors(response.content.decode(), "email")
    assert Contact.objects.filter(owner=alice.user).count() == 1 and not Tag.objects.filter(name="new-tag").exists()


def test_a_bad_custom_number_is_shown_at_its_field_and_nothing_is_saved(alice, panel):
    seats = services.create_custom_field(owner=alice.user, name="Seats", type="number")
    contact = services.create_contact(owner=alice.user, email="dave@example.com")
    data = contact_form(email="dave@example.com", first_name="Changed", **{f"cf_{seats.public_id}": "twelve"})
    response = panel.post(f"/contacts/{contact.public_id}/", data, secure=True)
    contact.refresh_from_db()
    assert response.status_code == 400
    assert "Enter a number." in field_errors(response.content.decode(), f"cf_{seats.public_id}")
    assert (contact.first_name, contact.custom) == ("", {})


def test_resubscribing_a_suppressed_address_is_refused_at_its_status_field(alice, panel):
    contact = services.create_contact(owner=alice.user, email="dave@example.com", email_status="bounced")
    data = contact_form(email="dave@example.com", email_status="subscribed")
    response = panel.post(f"/contacts/{contact.public_id}/", data, secure=True)
    contact.refresh_from_db()
    assert response.status_code == 400 and "suppression list" in field_errors(response.content.decode(), "email_status")
    assert contact.email_status == "bounced"


def test_a_contact_is_deleted_after_the_confirmation(alice, panel):
    contact = services.create_contact(owner=alice.user, email="dave@example.com")
    asked = panel.get(f"/contacts/{contact.public_id}/delete/", secure=True)
    response = panel.post(f"/contacts/{contact.public_id}/delete/", secure=True)
    assert asked.status_code == 200 and Contact.objects.filter(owner=alice.user).count() == 0
    assert "Contact dave@example.com deleted." in panel.get(response["Location"], secure=True).content.decode()


# ---------------------------------------------------------------- lists, tags, custom fields


def test_lists_are_created_counted_renamed_and_deleted(alice, panel):
    panel.post("/contacts/lists/", {"name": "Customers", "description": "Paying"}, secure=True)
    customers = ContactList.objects.get(owner=alice.user)
    services.create_contact(owner=alice.user, email="dave@example.com", lists=[customers.public_id])
    counted = re.search(r'<td class="num">(\d+)</td>', panel.get("/contacts/lists/", secure=True).content.decode())
    panel.post(f"/contacts/lists/{customers.public_id}/", {"name": "Clients", "description": ""}, secure=True)
    renamed = ContactList.objects.get(pk=customers.pk).name
    panel.post(f"/contacts/lists/{customers.public_id}/delete/", secure=True)
    assert counted.group(1) == "1" and renamed == "Clients"
    assert not ContactList.objects.filter(owner=alice.user).exists() and Contact.objects.count() == 1


def test_a_duplicate_list_name_is_shown_at_the_name_field(alice, panel):
    services.create_list(owner=alice.user, name="Customers")
    response = panel.post("/contacts/lists/", {"name": "Customers"}, secure=True)
    assert response.status_code == 400 and "already exists" in field_errors(response.content.decode(), "name")
    assert ContactList.objects.filter(owner=alice.user).count() == 1


def test_a_tag_is_renamed_and_deleted(alice, panel):
    services.create_contact(owner=alice.user, email="dave@example.com", tags=["vip"])
    tag = Tag.objects.get(owner=alice.user)
    panel.post(f"/contacts/tags/{tag.public_id}/", {"name": "gold"}, secure=True)
    renamed = Tag.objects.get(pk=tag.pk).name
    panel.post(f"/contacts/tags/{tag.public_id}/delete/", secure=True)
    assert renamed == "gold" and not Tag.objects.filter(owner=alice.user).exists()


def test_a_choice_field_is_created_edited_and_deleted(alice, panel):
    panel.post("/contacts/fields/", {"name": "Plan", "type": "choice", "choices": "free\npro"}, secure=True)
    field = CustomField.objects.get(owner=alice.user)
    panel.post(f"/contacts/fields/{field.public_id}/", {"name": "Tier", "choices": "free\npro\nteam"}, secure=True)
    edited = CustomField.objects.get(pk=field.pk)
    panel.post(f"/contacts/fields/{field.public_id}/delete/", secure=True)
    assert (field.choices, edited.name, edited.choices) == (["free", "pro"], "Tier", ["free", "pro", "team"])
    assert not CustomField.objects.filter(owner=alice.user).exists()


def test_a_choice_field_without_choices_is_refused_at_the_choices_field(alice, panel):
    response = panel.post("/contacts/fields/", {"name": "Plan", "type": "choice", "choices": ""}, secure=True)
    assert response.status_code == 400 and "at least one choice" in field_errors(response.content.decode(), "choices")
    assert not CustomField.objects.exists()


def test_the_contact_form_offers_each_custom_field_as_its_type(alice, panel):
    services.create_custom_field(owner=alice.user, name="Birthday", type="date")
    services.create_custom_field(owner=alice.user, name="Plan", type="choice", choices=["free", "pro"])
    html = panel.get("/contacts/add/", secure=True).content.decode()
    assert 'type="date"' in html and '<option value="pro">pro</option>' in html
    assert ">Birthday:</label>" in html and ">Plan:</label>" in html


# ---------------------------------------------------------------- another tenant's objects


@pytest.mark.parametrize(
    "url",
    [
        "/contacts/{contact}/", "/contacts/{contact}/delete/", "/contacts/lists/{list}/",
        "/contacts/lists/{list}/delete/", "/contacts/tags/{tag}/", "/contacts/tags/{tag}/delete/",
        "/contacts/fields/{field}/", "/contacts/fields/{field}/delete/",
    ],
)  # fmt: skip
def test_another_tenants_contact_list_tag_and_field_are_404s_and_stay(alice, bob, url):
    contact_list = services.create_list(owner=alice.user, name="Customers")
    contact = services.create_contact(owner=alice.user, email="dave@example.com", tags=["vip"])
    field = services.create_custom_field(owner=alice.user, name="Seats", type="number")
    ids = {"contact": contact.public_id, "list": contact_list.public_id, "field": field.public_id,
           "tag": Tag.objects.get(owner=alice.user).public_id}  # fmt: skip
    as_bob = signed_in(bob.user)
    target = url.format(**ids)
    answers = [as_bob.get(target, secure=True).status_code, as_bob.post(target, {"name": "x"}, secure=True).status_code]
    assert answers == [404, 404]
    assert (Contact.objects.count(), ContactList.objects.get().name, Tag.objects.get().name) == (1, "Customers", "vip")
    assert CustomField.objects.get().name == "Seats"
