"""The audience in Django admin as a staff member uses it: its saves keep the services' rules."""

from __future__ import annotations

import json

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from contacts import services
from contacts.models import Contact, ContactList, CustomField
from messaging.models import Suppression

pytestmark = pytest.mark.django_db

STATUSES = {"email_status": "subscribed", "sms_status": "subscribed", "whatsapp_status": "subscribed"}


def add_contact(client, owner, **fields):
    data = {"owner": owner.pk, "email": "", "phone": "", "first_name": "", "last_name": "", "company": "",
            "custom_json": "{}", **STATUSES, **fields}  # fmt: skip
    return client.post("/admin/contacts/contact/add/", data, secure=True)


def change_contact(client, contact: Contact, **fields):
    data = {"email": contact.email, "phone": contact.phone, "first_name": contact.first_name, "last_name": "",
            "company": "", "custom_json": json.dumps(contact.custom), **STATUSES, **fields}  # fmt: skip
    return client.post(f"/admin/contacts/contact/{contact.pk}/change/", data, secure=True)


def test_a_contact_added_in_admin_is_normalised(admin_client, alice):
    response = add_contact(admin_client, alice.user, email=" Ann@Example.COM ", phone="+1 415 555 0123")
    assert response.status_code == 302
    assert Contact.objects.for_tenant(alice.user).values_list("email", "phone").get() == (
        "ann@example.com", "+14155550123",
    )  # fmt: skip


def test_a_duplicate_email_is_shown_on_the_form_and_nothing_is_saved(admin_client, alice):
    services.create_contact(owner=alice.user, email="ann@example.com")
    response = add_contact(admin_client, alice.user, email="ANN@example.com")
    assert "A contact with this email already exists." in response.content.decode()
    assert Contact.objects.count() == 1


def test_changing_a_contact_to_a_taken_phone_is_shown_on_the_form(admin_client, alice):
    services.create_contact(owner=alice.user, phone="+14155550123")
    bea = services.create_contact(owner=alice.user, email="bea@example.com")
    response = change_contact(admin_client, bea, phone="+14155550123")
    bea.refresh_from_db()
    assert "A contact with this phone already exists." in response.content.decode()
    assert bea.phone == ""


def test_a_bad_custom_value_is_shown_with_its_field_and_nothing_changes(admin_client, alice):
    services.create_custom_field(owner=alice.user, name="Age", type="number")
    ann = services.create_contact(owner=alice.user, email="ann@example.com", custom={"Age": 30})
    response = change_contact(admin_client, ann, first_name="Ann", custom_json='{"Age": "old"}')
    ann.refresh_from_db()
    assert "Age: Enter a number." in response.content.decode()
    assert ann.first_name == ""


def test_unsubscribing_in_admin_adds_the_suppression(admin_client, alice):
    ann = services.create_contact(owner=alice.user, email="ann@example.com")
    response = change_contact(admin_client, ann, email_status="unsubscribed")
    assert response.status_code == 302
    assert Suppression.objects.filter(user=alice.user, address="ann@example.com", reason="opt_out").exists()


def test_the_add_to_list_action_only_joins_the_lists_owners_contacts(admin_client, alice, bob):
    ann = services.create_contact(owner=alice.user, email="ann@example.com")
    bobs = services.create_contact(owner=bob.user, email="bo@example.com")
    news = services.create_list(owner=alice.user, name="news")
    data = {"action": "add_to_list", ACTION_CHECKBOX_NAME: [ann.pk, bobs.pk], "apply": "1", "contact_list": news.pk}
    admin_client.post("/admin/contacts/contact/", data, secure=True)
    assert list(news.contacts.all()) == [ann]


def test_contacts_are_searched_and_shown_with_their_owner(admin_client, alice, bob):
    services.create_contact(owner=alice.user, email="ann@example.com")
    services.create_contact(owner=bob.user, email="zed@example.com")
    page = admin_client.get("/admin/contacts/contact/", {"q": "ann"}, secure=True).content.decode()
    assert "ann@example.com" in page and "alice@example.com" in page
    assert "zed@example.com" not in page


def test_a_duplicate_list_name_is_refused_on_the_form(admin_client, alice):
    services.create_list(owner=alice.user, name="news")
    data = {"owner": alice.user.pk, "name": "news", "description": ""}
    response = admin_client.post("/admin/contacts/contactlist/add/", data, secure=True)
    assert response.status_code == 200
    assert ContactList.objects.count() == 1


def test_a_choice_field_without_choices_is_refused_on_the_form(admin_client, alice):
    data = {"owner": alice.user.pk, "name": "Tier", "type": "choice", "choices": "", "description": ""}
    response = admin_client.post("/admin/contacts/customfield/add/", data, secure=True)
    assert "A choice field needs at least one choice." in response.content.decode()
    assert not CustomField.objects.exists()


def test_the_admin_pages_of_the_audience_open(admin_client, alice):
    contact = services.create_contact(owner=alice.user, email="ann@example.com", tags=["vip"])
    pages = ["contact/", f"contact/{contact.pk}/change/", "contactlist/", "tag/", "customfield/", "contact/add/"]
    codes = [admin_client.get(f"/admin/contacts/{page}", secure=True).status_code for page in pages]
    assert codes == [200] * len(pages)


def test_the_admin_shows_segments_and_imports_without_changing_them(admin_client, alice):
    client, owner = admin_client, alice.user
    segment = services.create_segment(owner=owner, name="Hot", rules=[])
    job = services.start_import(owner=owner, filename="a.csv", data=b"email\na@example.com\n", enqueue=False)
    assert client.get(f"/admin/contacts/segment/{segment.pk}/change/", secure=True).status_code == 200
    assert client.get(f"/admin/contacts/importjob/{job.pk}/change/", secure=True).status_code == 200
    assert client.get("/admin/contacts/segment/add/", secure=True).status_code == 403
