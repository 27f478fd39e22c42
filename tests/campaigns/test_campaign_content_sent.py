"""A campaign sends what the tenant set up: From its verified sender, the template's own text part beside the
HTML, and a WhatsApp Cloud approved template as Meta's template message."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from accounts.services import add_credits
from campaigns import jobs, senders, services
from campaigns.models import Campaign, CampaignStatus
from campaigns.services import create_campaign, create_template
from messaging import delivery
from messaging.models import Status
from tests.campaigns.conftest import Audience, campaign_messages, make_gateway
from tests.fakes import providers
from tests.fakes.http import FakeServer
from tests.fakes.smtp import SmtpSink
from tests.messaging.conftest import smtp_gateway
from xsender.errors import GatewayNotFound

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.campaigns.urls")]

HTML = "<html><body><p>Hi {{ first_name }}</p><p>Our spring sale</p></body></html>"
TEXT = "Hi {{ first_name }}, our spring sale is on."


@pytest.fixture
def smtp(alice, sink):
    add_credits(user=alice.user, channel="email", amount=1000)
    return smtp_gateway(alice.user, sink)


@pytest.fixture
def verified(alice):
    services.add_sender(owner=alice.user, email="News@Example.COM", name="Alice News")
    token = re.search(r"/senders/confirm/([\w-]+)/", mail.outbox[-1].body).group(1)
    return senders.confirm_sender(token=token)


def email_campaign(alice, audience: Audience, sender, **template) -> Campaign:
    template = create_template(
        owner=alice.user, channel="email", name="Spring", subject="Hi {{ first_name }}", **template
    )
    return create_campaign(
        owner=alice.user, channel="email", name="Spring", template=template.public_id, gateway_identifier="mail",
        include_lists=[audience.first.public_id], sender=sender.public_id if sender else None,
    )  # fmt: skip


def send(campaign: Campaign, gateway) -> None:
    services.start_campaign(campaign=campaign)
    jobs.fan_out_job(campaign.pk)
    delivery.drain_gateway(gateway_id=gateway.pk, seconds=30)


def received(sink: SmtpSink, address: str):
    return next(m for m in sink.messages if m.recipients == [address])


def part(email, kind: str) -> str:
    return next(p for p in email.walk() if p.get_content_type() == kind).get_payload(decode=True).decode()


def test_a_campaign_with_a_verified_sender_is_from_it_with_the_templates_from_name(
    alice, audience, smtp, sink, verified
):
    send(email_campaign(alice, audience, verified, html=HTML, from_name="Alice Shop"), smtp)
    message = received(sink, "a0@example.com")
    assert message.email["From"] == "Alice Shop <news@example.com>"
    assert message.sender == "bounces@mail.example.net"  # the envelope: bounces go to the gateway's mailbox


def test_without_a_from_name_the_senders_own_name_is_shown(alice, audience, smtp, sink, verified):
    send(email_campaign(alice, audience, verified, html=HTML), smtp)
    assert received(sink, "a0@example.com").email["From"] == "Alice News <news@example.com>"


def test_without_a_sender_the_campaign_is_from_the_gateway(alice, audience, smtp, sink):
    send(email_campaign(alice, audience, None, html=HTML, from_name="Alice Shop"), smtp)
    assert received(sink, "a0@example.com").email["From"] == "Alice Shop <bounces@mail.example.net>"


def test_the_text_part_is_the_templates_own_text_beside_its_html(alice, audience, smtp, sink, verified):
    send(email_campaign(alice, audience, verified, html=HTML, text=TEXT), smtp)
    email = received(sink, "a1@example.com").email
    assert part(email, "text/plain") == "Hi A1, our spring sale is on."
    assert "<p>Hi A1</p>" in part(email, "text/html")


def test_a_text_only_template_is_sent_as_plain_text(alice, audience, smtp, sink):
    send(email_campaign(alice, audience, None, text=TEXT), smtp)
    email = received(sink, "a1@example.com").email
    body = email.get_payload(decode=True).decode().rstrip("\r\n")  # SMTP ends the body with its line break
    assert (email.get_content_type(), body) == ("text/plain", "Hi A1, our spring sale is on.")


# ---------------------------------------------------------------- WhatsApp Cloud approved templates

APPROVED = {
    "name": "spring_sale",
    "language": "en_US",
    "components": [
        {"type": "body", "parameters": [{"type": "text", "text": "{{ first_name|default:'friend' }}"}]},
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "spring"}]},
    ],
}


def whatsapp_campaign(alice, audience: Audience, gateway: str) -> Campaign:
    template = create_template(owner=alice.user, channel="whatsapp", name="Sale", whatsapp_template=APPROVED)
    return create_campaign(
        owner=alice.user, channel="whatsapp", name="Sale", template=template.public_id, gateway_identifier=gateway,
        include_lists=[audience.second.public_id],
    )  # fmt: skip


def test_whatsapp_cloud_receives_the_approved_template_rendered_for_each_contact(alice, audience):
    with FakeServer(providers.graph(token="EAAtoken")) as graph:
        config = {"phone_number_id": "1061", "access_token": "EAAtoken", "base_url": graph.url}
        cloud = make_gateway(alice.user, "whatsapp", "cloud", provider="whatsapp_cloud", config=config)
        campaign = whatsapp_campaign(alice, audience, "cloud")
        send(campaign, cloud)
    (request,) = graph.requests  # a8, the one contact of the list with a phone
    assert request.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "14155550108",
        "type": "template",
        "template": {
            "name": "spring_sale",
            "language": {"code": "en_US"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "A8"}]},
                {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "spring"}]},
            ],
        },
    }
    assert [m.status for m in campaign_messages(campaign)] == [Status.SENT]


def test_an_approved_template_campaign_on_a_whatsapp_web_bridge_does_not_start(alice, audience):
    config = {"base_url": "http://127.0.0.1:9"}
    make_gateway(alice.user, "whatsapp", "waha", provider="whatsapp_web", config=config, is_default=True)
    campaign = whatsapp_campaign(alice, audience, "")
    with pytest.raises(GatewayNotFound, match="'waha' \\(whatsapp_web\\) cannot send approved WhatsApp templates"):
        services.start_campaign(campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT and campaign.reserved == 0 and not campaign.recipients.exists()


def test_a_default_gateway_changed_to_a_bridge_after_the_start_pauses_naming_why_and_sends_nothing(alice, audience):
    console = make_gateway(alice.user, "whatsapp", "console", is_default=True)
    config = {"base_url": "http://127.0.0.1:9"}
    campaign = whatsapp_campaign(alice, audience, "")
    services.start_campaign(campaign=campaign)
    console.is_default = False
    console.save()
    make_gateway(alice.user, "whatsapp", "waha", provider="whatsapp_web", config=config, is_default=True)
    jobs.fan_out_job(campaign.pk)
    campaign.refresh_from_db()
    assert campaign_messages(campaign).count() == 0 and campaign.cost == 0
    assert campaign.status == CampaignStatus.PAUSED
    assert "cannot send approved WhatsApp templates" in campaign.last_error
    assert not campaign.recipients.exclude(skipped="").exists()  # nobody skipped: it resumes on another gateway
