"""A campaign's inline content (written in the campaign, not a saved template): checked by the template rules with
errors named `content.<field>`, rendered per contact by the fan-out, never listed or chosen as a template, edited
only while the campaign is editable, and deleted with its campaign."""

from __future__ import annotations

import pytest

from campaigns import jobs, selectors, services
from campaigns.models import Template
from messaging.models import Message
from tests.campaigns.conftest import campaign_messages
from xsender.errors import Conflict, NotFound, ValidationFailed

pytestmark = pytest.mark.django_db

CONTENT = {"subject": "Hello {{ first_name }}", "text": "Dear {{ first_name }}, spring is here.", "from_name": "Shop"}


def fields_of(exc: pytest.ExceptionInfo) -> list[str]:
    return [e["field"] for e in exc.value.errors]


@pytest.fixture
def inline(alice, gateways, audience):
    return services.create_campaign(
        owner=alice.user, channel="email", name="Spring", content=CONTENT,
        include_lists=[audience.first.public_id, audience.second.public_id], exclude_tags=["vip"],
    )  # fmt: skip


def test_a_campaign_is_created_with_its_own_content(inline):
    assert inline.template.campaign_only
    assert (inline.template.subject, inline.template.from_name) == (CONTENT["subject"], "Shop")


def test_the_fan_out_renders_the_inline_content_for_each_contact(inline, audience):
    services.start_campaign(campaign=inline)
    jobs.fan_out_job(inline.pk)
    message = campaign_messages(inline).get(recipient="a9@example.com")
    assert (message.subject, message.body, message.sender_name) == ("Hello A9", "Dear A9, spring is here.", "Shop")
    assert set(campaign_messages(inline).values_list("recipient", flat=True)) == audience.expected


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ({"text": "Hi"}, "content.subject"),
        ({"subject": "Hi"}, "content.html"),
        ({"subject": "Hi {% load static %}", "text": "t"}, "content.subject"),
        ({"subject": "Hi", "text": "{{ first_name.__class__ }}"}, "content.text"),
        ({"subject": "Hi", "text": "t", "body": "an SMS field"}, "content.body"),
        ({"subject": "Hi", "text": "t", "reply_to": "not an address"}, "content.reply_to"),
        ({"subject": "Hi", "text": "t", "colour": "red"}, "content.colour"),
    ],
)
def test_bad_content_is_refused_naming_its_field(alice, gateways, content, field):
    with pytest.raises(ValidationFailed) as exc:
        services.create_campaign(owner=alice.user, channel="email", name="Spring", content=content)
    assert fields_of(exc) == [field]
    assert not Template.objects.exists()


def test_whatsapp_approved_template_errors_are_named_inside_the_content(alice, gateways):
    approved = {"name": "promo", "language": "en", "components": [{"type": "body", "text": "{% debug %}"}]}
    with pytest.raises(ValidationFailed) as exc:
        services.create_campaign(
            owner=alice.user, channel="whatsapp", name="W", content={"whatsapp_template": approved}
        )
    assert fields_of(exc) == ["content.whatsapp_template.components.0.text"]


def test_a_saved_template_and_content_together_are_refused(alice, gateways, template):
    with pytest.raises(ValidationFailed) as exc:
        services.create_campaign(
            owner=alice.user, channel="email", name="Spring", template=template.public_id, content=CONTENT
        )
    assert fields_of(exc) == ["content"]
    assert "not both" in exc.value.errors[0]["message"]


def test_neither_a_template_nor_content_is_refused(alice, gateways):
    with pytest.raises(ValidationFailed) as exc:
        services.create_campaign(owner=alice.user, channel="email", name="Spring")
    assert fields_of(exc) == ["template"]


def test_the_inline_content_is_not_one_of_the_tenants_templates(alice, inline):
    assert list(selectors.templates_of(alice.user)) == []
    with pytest.raises(NotFound):
        selectors.template_of(user=alice.user, public_id=inline.template.public_id)


def test_another_campaign_cannot_use_a_campaigns_inline_content(alice, inline):
    with pytest.raises(ValidationFailed) as exc:
        services.create_campaign(owner=alice.user, channel="email", name="Copy", template=inline.template.public_id)
    assert exc.value.errors[0] == {"field": "template", "message": "Template not found."}


def test_another_tenant_cannot_see_or_use_it(bob, inline):
    assert list(selectors.templates_of(bob.user)) == []
    with pytest.raises(ValidationFailed) as exc:
        services.create_campaign(owner=bob.user, channel="email", name="Theirs", template=inline.template.public_id)
    assert fields_of(exc) == ["template"]


def test_a_send_request_cannot_name_the_inline_content(alice, inline):
    answer = alice.client().post(
        "/api/email/send", {"contact": [{"email": "x@example.com", "template": inline.template.public_id}]},
        format="json",
    )  # fmt: skip
    assert answer.status_code == 404
    assert not Message.objects.exists()


def test_its_name_does_not_take_a_template_name(alice, inline):
    saved = services.create_template(
        owner=alice.user, channel="email", name=inline.template.name, subject="s", text="t"
    )
    assert selectors.templates_of(alice.user).get() == saved


def test_the_content_is_edited_while_the_campaign_is_a_draft(inline):
    services.update_campaign(campaign=inline, content={"subject": "New {{ first_name }}", "html": "<p>Hi</p>"})
    inline.refresh_from_db()
    assert (inline.template.subject, inline.template.html, inline.template.text) == (
        "New {{ first_name }}",
        "<p>Hi</p>",
        "",
    )
    assert Template.objects.count() == 1


def test_other_changes_keep_the_inline_content(inline):
    services.update_campaign(campaign=inline, name="Summer")
    inline.refresh_from_db()
    assert (inline.name, inline.template.subject) == ("Summer", CONTENT["subject"])


def test_a_refused_edit_keeps_the_content(inline):
    with pytest.raises(ValidationFailed) as exc:
        services.update_campaign(campaign=inline, content={"subject": "{{ first_name.__class__ }}", "text": "t"})
    inline.refresh_from_db()
    assert fields_of(exc) == ["content.subject"]
    assert inline.template.subject == CONTENT["subject"]


def test_switching_to_a_saved_template_deletes_the_inline_content(inline, template):
    own = inline.template
    services.update_campaign(campaign=inline, template=template.public_id)
    inline.refresh_from_db()
    assert inline.template == template
    assert not Template.objects.filter(pk=own.pk).exists()


def test_switching_from_a_saved_template_to_inline_content_leaves_the_template(campaign, template):
    services.update_campaign(campaign=campaign, content=CONTENT)
    campaign.refresh_from_db()
    assert campaign.template.campaign_only
    assert selectors.templates_of(campaign.owner).get() == template


def test_the_content_cannot_change_once_the_campaign_has_started(inline):
    services.start_campaign(campaign=inline)
    with pytest.raises(Conflict):
        services.update_campaign(campaign=inline, content={"subject": "Late", "text": "t"})
    inline.refresh_from_db()
    assert inline.template.subject == CONTENT["subject"]


def test_the_template_services_refuse_to_change_a_campaigns_content(inline):
    with pytest.raises(Conflict):
        services.update_template(template=inline.template, subject="Changed")
    with pytest.raises(Conflict):
        services.delete_template(template=inline.template)


def test_the_inline_content_is_deleted_with_its_campaign(inline):
    services.delete_campaign(campaign=inline)
    assert not Template.objects.exists()


def test_deleting_a_campaign_keeps_its_saved_template(campaign, template):
    services.delete_campaign(campaign=campaign)
    assert list(Template.objects.all()) == [template]


def test_the_admin_shows_the_content_on_its_campaign_not_among_the_templates(admin_client, inline, template):
    templates = admin_client.get("/admin/campaigns/template/", secure=True).content.decode()
    page = admin_client.get(f"/admin/campaigns/campaign/{inline.pk}/change/", secure=True).content.decode()
    assert template.public_id in templates and inline.template.public_id not in templates
    assert "Written in the campaign" in page and "Hello {{ first_name }}" in page
    assert admin_client.get(f"/admin/campaigns/template/{inline.template.pk}/change/", secure=True).status_code == 302
