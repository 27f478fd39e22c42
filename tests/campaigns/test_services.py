"""Templates through their services: every save checked, each channel its own fields, each tenant its own
templates."""

from __future__ import annotations

import pytest

from campaigns import selectors
from campaigns.models import Template
from campaigns.services import create_template, delete_template, update_template
from xsender.errors import NotFound, ValidationFailed
from xsender.public_ids import is_public_id

pytestmark = pytest.mark.django_db

EMAIL = {"subject": "Hi {{ first_name }}", "html": "<p>Hi</p>", "text": "Hi"}


def fields_of(exc: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return [e["field"] for e in exc.value.errors]


def test_an_email_template_is_created_with_a_public_id(alice):
    template = create_template(
        owner=alice.user, channel="email", name="Welcome", from_name="Shop", reply_to="Help@Example.COM", **EMAIL
    )
    assert is_public_id(template.public_id, "template")
    assert template.reply_to == "help@example.com"
    assert selectors.template_of(user=alice.user, public_id=template.public_id) == template


@pytest.mark.parametrize(
    ("field", "source"),
    [
        ("subject", "{% load static %}"),
        ("html", '{% include "x" %}'),
        ("text", "{% debug %}"),
        ("html", "{{ first_name.__class__ }}"),
        ("text", "{{ first_name|upper }}"),
    ],
)
def test_template_tags_and_bad_placeholders_are_refused_naming_the_field(alice, field, source):
    with pytest.raises(ValidationFailed) as exc:
        create_template(owner=alice.user, channel="email", name="t", **{**EMAIL, field: f"Hi {source}"})
    assert fields_of(exc) == [field]
    assert not Template.objects.exists()


def test_tags_refused_in_bodies_and_components(alice):
    with pytest.raises(ValidationFailed) as exc:
        create_template(owner=alice.user, channel="sms", name="s", body="{% csrf_token %}")
    assert fields_of(exc) == ["body"]
    approved = {"name": "x", "language": "en", "components": [{"type": "body", "text": "{% load i18n %}"}]}
    with pytest.raises(ValidationFailed) as exc:
        create_template(owner=alice.user, channel="whatsapp", name="w", whatsapp_template=approved)
    assert fields_of(exc) == ["whatsapp_template.components.0.text"]


@pytest.mark.parametrize("field", ["subject", "from_name", "reply_to", "name"])
@pytest.mark.parametrize("brk", ["\r\n", "\n", "\r", "\x00"])
def test_a_line_break_in_a_header_bound_field_is_refused(alice, field, brk):
    values = {"name": "t", **EMAIL, "from_name": "Shop", "reply_to": "a@example.com"}
    values[field] = f"{values[field]}{brk}Bcc: x@example.com"
    with pytest.raises(ValidationFailed) as exc:
        create_template(owner=alice.user, channel="email", **values)
    assert fields_of(exc) == [field]


@pytest.mark.parametrize(
    ("channel", "fields", "refused"),
    [
        ("email", {**EMAIL, "body": "x"}, "body"),
        ("email", {**EMAIL, "whatsapp_template": {"name": "a", "language": "en"}}, "whatsapp_template"),
        ("sms", {"body": "x", "subject": "s"}, "subject"),
        ("sms", {"body": "x", "html": "<p>"}, "html"),
        ("sms", {"whatsapp_template": {"name": "a", "language": "en"}}, "whatsapp_template"),
        ("whatsapp", {"body": "x", "reply_to": "a@example.com"}, "reply_to"),
    ],
)
def test_another_channels_fields_are_refused(alice, channel, fields, refused):
    with pytest.raises(ValidationFailed) as exc:
        create_template(owner=alice.user, channel=channel, name="t", **fields)
    assert refused in fields_of(exc)


@pytest.mark.parametrize(
    ("channel", "fields", "refused"),
    [
        ("email", {"html": "x"}, "subject"),
        ("email", {"subject": "s"}, "html"),
        ("sms", {}, "body"),
        ("whatsapp", {"body": "x", "whatsapp_template": {"name": "a", "language": "en"}}, "whatsapp_template"),
        ("whatsapp", {"whatsapp_template": {"name": "Bad Name", "language": "en"}}, "whatsapp_template.name"),
        ("whatsapp", {"whatsapp_template": {"name": "a", "language": "english"}}, "whatsapp_template.language"),
        (
            "whatsapp",
            {"whatsapp_template": {"name": "a", "language": "en", "components": "x"}},
            "whatsapp_template.components",
        ),
        ("email", {**EMAIL, "reply_to": "not an address"}, "reply_to"),
        ("fax", {"body": "x"}, "channel"),
    ],
)
def test_missing_and_malformed_content_is_refused(alice, channel, fields, refused):
    with pytest.raises(ValidationFailed) as exc:
        create_template(owner=alice.user, channel=channel, name="t", **fields)
    assert refused in fields_of(exc)


def test_names_are_unique_per_owner(alice, bob):
    create_template(owner=alice.user, channel="sms", name="Promo", body="x")
    create_template(owner=bob.user, channel="sms", name="Promo", body="y")
    with pytest.raises(ValidationFailed) as exc:
        create_template(owner=alice.user, channel="email", name="Promo", **EMAIL)
    assert fields_of(exc) == ["name"]


def test_an_update_is_checked_whole_and_keeps_channel_and_owner(alice):
    template = create_template(owner=alice.user, channel="email", name="t", **EMAIL)
    update_template(template=template, subject="New {{ last_name }}", name="t2")
    template.refresh_from_db()
    assert (template.subject, template.name, template.html) == ("New {{ last_name }}", "t2", "<p>Hi</p>")
    with pytest.raises(ValidationFailed) as exc:
        update_template(template=template, html="{% include 'x' %}")
    assert fields_of(exc) == ["html"]
    with pytest.raises(ValidationFailed) as exc:
        update_template(template=template, channel="sms")
    assert fields_of(exc) == ["channel"]
    with pytest.raises(ValidationFailed):
        update_template(template=template, body="x")
    template.refresh_from_db()
    assert template.subject == "New {{ last_name }}"


def test_another_tenants_template_is_not_found(alice, bob):
    template = create_template(owner=alice.user, channel="email", name="t", **EMAIL)
    with pytest.raises(NotFound):
        selectors.template_of(user=bob.user, public_id=template.public_id)
    with pytest.raises(NotFound):
        selectors.template_of(user=bob.user, public_id="template_x")
    assert list(selectors.templates_of(bob.user)) == []
    assert list(selectors.templates_of(alice.user, channel="email")) == [template]
    assert list(selectors.templates_of(alice.user, channel="sms")) == []


def test_delete(alice):
    template = create_template(owner=alice.user, channel="sms", name="t", body="x")
    delete_template(template=template)
    assert not Template.objects.exists()
