"""Templates in Django admin: saves go through the services' checks, the list searches and filters, and the
preview shows a sample contact."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from campaigns.models import Template
from campaigns.services import create_template

pytestmark = pytest.mark.django_db

URL = "/admin/campaigns/template/"


def add(client, owner, **fields):
    data = {"owner": owner.pk, "channel": "email", "name": "Welcome", "subject": "Hi {{ first_name }}", **fields}
    return client.post(f"{URL}add/", data, secure=True)


def test_a_template_is_added_through_the_service(admin_client, alice):
    response = add(
        admin_client, alice.user, html="<p>Hi {{ first_name|default:'there' }}</p>", reply_to="A@Example.com"
    )
    assert response.status_code == 302
    template = Template.objects.get()
    assert (template.owner, template.reply_to) == (alice.user, "a@example.com")
    assert template.public_id.startswith("template_")
    page = admin_client.get(f"{URL}{template.pk}/change/", secure=True).content.decode()
    assert "Hi Ada" in page


@pytest.mark.parametrize(
    ("fields", "shown"),
    [
        ({"html": "{% load static %}"}, "Template tags are not allowed"),
        ({"text": "x", "subject": "Hi\r\nBcc: x@example.com"}, "Line breaks are not allowed here."),
        ({"text": "x", "body": "sms body"}, "Not used by email templates"),
    ],
)
def test_a_refused_template_shows_the_error_and_is_not_saved(admin_client, alice, fields, shown):
    response = add(admin_client, alice.user, **fields)
    assert response.status_code == 200
    assert shown in response.content.decode()
    assert not Template.objects.exists()


def test_a_change_is_checked_and_the_list_searches_and_filters(admin_client, alice, bob):
    template = create_template(owner=alice.user, channel="sms", name="Promo", body="Hi {{ first_name }}")
    create_template(owner=bob.user, channel="email", name="News", subject="s", text="t")
    data = {"name": "Promo", "body": "{% include 'x' %}"}
    response = admin_client.post(f"{URL}{template.pk}/change/", data, secure=True)
    assert "Template tags are not allowed" in response.content.decode()
    template.refresh_from_db()
    assert template.body == "Hi {{ first_name }}"
    found = admin_client.get(URL, {"q": "alice@"}, secure=True).content.decode()
    assert "Promo" in found and "News" not in found
    filtered = admin_client.get(URL, {"channel__exact": "email"}, secure=True).content.decode()
    assert "News" in filtered and "Promo" not in filtered


def test_delete_selected_goes_through_the_service(admin_client, alice):
    template = create_template(owner=alice.user, channel="sms", name="Promo", body="x")
    data = {"action": "delete_selected", ACTION_CHECKBOX_NAME: [str(template.pk)], "post": "yes"}
    response = admin_client.post(URL, data, secure=True)
    assert response.status_code == 302
    assert not Template.objects.exists()
