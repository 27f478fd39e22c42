"""What a message carries besides its body: a From address of its own (a campaign's verified sender), the text
part of an HTML email, and a WhatsApp Cloud approved template — stored by the send path, sent by the gateways
that can, refused up front for those that cannot."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from accounts.services import add_credits, balances
from gateways.backends.base import html_to_text
from gateways.services import ProbeMessage
from messaging import delivery
from messaging.items import EmailItem, WhatsAppItem
from messaging.models import Message, Status
from messaging.services import accept_messages
from panel.retry import item_of
from tests.fakes import providers
from tests.fakes.http import FakeServer
from tests.messaging.conftest import make_gateway, smtp_gateway
from xsender.errors import GatewayNotFound, ValidationFailed

pytestmark = pytest.mark.django_db

HTML = "<html><body><p>Hello <b>Ada</b></p><p>Our spring sale</p></body></html>"
APPROVED = {
    "name": "order_update",
    "language": "en_US",
    "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ada"}]}],
}


@pytest.fixture
def smtp(alice, sink):
    return smtp_gateway(alice.user, sink)


def email(to: str = "ada@example.com", **fields) -> EmailItem:
    return EmailItem(**{"recipient": to, "subject": "Spring", "body": HTML, **fields})


def accept(alice, channel: str, items: list) -> list[Message]:
    return accept_messages(principal=alice.user, channel=channel, items=items)


# ---------------------------------------------------------------- email: From and the text part


def test_smtp_sends_from_the_messages_own_address_and_keeps_the_gateways_as_envelope_sender(alice, smtp, sink):
    accept(alice, "email", [email(from_email="News@Example.COM", sender_name="Alice News")])
    delivery.drain_gateway(gateway_id=smtp.pk, seconds=30)
    (received,) = sink.messages
    assert received.email["From"] == "Alice News <news@example.com>"
    assert received.sender == "bounces@mail.example.net"  # bounces return to the gateway's own mailbox


def test_without_an_address_of_its_own_a_message_is_from_the_gateway(alice, smtp, sink):
    accept(alice, "email", [email(sender_name="Alice")])
    delivery.drain_gateway(gateway_id=smtp.pk, seconds=30)
    (received,) = sink.messages
    assert (received.email["From"], received.sender) == ("Alice <bounces@mail.example.net>", "bounces@mail.example.net")


def text_part(received) -> str:
    part = next(p for p in received.email.walk() if p.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode()


def test_an_html_email_carries_its_own_text_part_when_it_has_one(alice, smtp, sink):
    accept(alice, "email", [email("a@example.com", text="Hello Ada, see the sale."), email("b@example.com")])
    delivery.drain_gateway(gateway_id=smtp.pk, seconds=30)
    parts = {m.recipients[0]: text_part(m) for m in sink.messages}
    assert parts["a@example.com"] == "Hello Ada, see the sale."
    assert parts["b@example.com"] == html_to_text(HTML) == "Hello AdaOur spring sale"  # none of its own: the HTML's


def test_a_line_break_in_from_email_fails_that_item_naming_the_field(alice, smtp):
    items = [email("a@example.com"), email("b@example.com", from_email="a@x.io\r\nBcc: everyone@example.com")]
    with pytest.raises(ValidationFailed) as refused:
        accept(alice, "email", items)
    assert {(e["index"], e["field"]) for e in refused.value.errors} == {(1, "from_email")}
    assert Message.objects.count() == 0 and balances(alice.user)["email"] == 100


def test_from_email_is_stored_lower_case_with_an_ascii_domain(alice, smtp):
    (message,) = accept(alice, "email", [email(from_email="News@Bücher.Example")])
    message.refresh_from_db()
    assert message.from_email == "news@xn--bcher-kva.example"


@dataclass
class Mail(ProbeMessage):
    from_email: str = ""
    text_body: str = ""


def test_a_line_break_in_a_stored_from_email_fails_that_message_only_at_send(alice, smtp, sink):
    backend = smtp.backend()
    batch = [Mail("a@example.com", "email"), Mail("b@example.com", "email", from_email="x@y.io\nBcc: e@x.io")]
    results = backend.send([*batch, Mail("c@example.com", "email")])
    backend.close()
    assert [r.ok for r in results] == [True, False, True]
    assert "from email" in results[1].error
    assert sink.recipients == ["a@example.com", "c@example.com"]


def test_an_esp_sends_from_the_messages_own_address(alice):
    with FakeServer(providers.postmark(token="pm-token")) as postmark:
        config = {"esp": "postmark", "api_key": "pm-token", "from_email": "hello@example.com", "base_url": postmark.url}
        gateway = make_gateway(alice.user, "email", "pm", provider="esp", config=config, is_default=True)
        accept(alice, "email", [email(from_email="news@example.com", sender_name="Alice News", text="Hi Ada")])
        delivery.drain_gateway(gateway_id=gateway.pk, seconds=30)
    (request,) = postmark.requests
    assert (request.body["From"], request.body["TextBody"]) == ("Alice News <news@example.com>", "Hi Ada")


def test_the_status_record_shows_the_from_address(alice, smtp):
    (message,) = accept(alice, "email", [email(from_email="news@example.com")])
    (other,) = accept(alice, "email", [email()])
    shown = alice.client().get(f"/api/get/email/{message.uid}").json()["data"]
    assert shown["from_email"] == "news@example.com"
    assert alice.client().get(f"/api/get/email/{other.uid}").json()["data"]["from_email"] is None


# ---------------------------------------------------------------- WhatsApp Cloud approved templates


@pytest.fixture
def graph():
    with FakeServer(providers.graph(token="EAAtoken")) as server:
        yield server


@pytest.fixture
def cloud(alice, graph):
    config = {"phone_number_id": "1061", "access_token": "EAAtoken", "base_url": graph.url}
    return make_gateway(alice.user, "whatsapp", "cloud", provider="whatsapp_cloud", config=config, is_default=True)


def test_whatsapp_cloud_receives_the_approved_template_as_metas_template_object(alice, cloud, graph):
    (message,) = accept(alice, "whatsapp", [WhatsAppItem(recipient="+15555550123", template=APPROVED)])
    delivery.drain_gateway(gateway_id=cloud.pk, seconds=30)
    message.refresh_from_db()
    assert graph.requests[0].body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "15555550123",
        "type": "template",
        "template": {"name": "order_update", "language": {"code": "en_US"}, "components": APPROVED["components"]},
    }
    assert message.status == Status.SENT


def test_a_bulk_request_stores_each_template_and_none_where_there_is_none(alice, cloud):
    add_credits(user=alice.user, channel="whatsapp", amount=100)
    items = [WhatsAppItem(recipient=f"+1555555{i:04d}", template=APPROVED) for i in range(120)]  # COPY: > 100
    accept_messages(principal=alice.user, channel="whatsapp", items=[*items, WhatsAppItem("+15555559999", "Hi")])
    stored = list(Message.objects.values_list("whatsapp_template", flat=True))
    assert stored.count(APPROVED) == 120 and stored.count(None) == 1
    assert Message.objects.filter(whatsapp_template__isnull=True).count() == 1  # SQL NULL, not JSON null


def test_the_status_record_shows_the_template(alice, cloud):
    (message,) = accept(alice, "whatsapp", [WhatsAppItem(recipient="+15555550123", template=APPROVED)])
    shown = alice.client().get(f"/api/get/whatsapp/{message.uid}").json()["data"]
    assert (shown["template"], shown["message"]) == (APPROVED, "")


def test_a_template_for_a_whatsapp_web_bridge_is_refused_and_nothing_is_stored_or_charged(alice, cloud):
    make_gateway(alice.user, "whatsapp", "waha", provider="whatsapp_web", config={"base_url": "http://127.0.0.1:9"})
    items = [
        WhatsAppItem(recipient="+15555550123", template=APPROVED),
        WhatsAppItem(recipient="+15555550124", template=APPROVED, gateway="waha"),
    ]
    with pytest.raises(GatewayNotFound) as refused:
        accept(alice, "whatsapp", items)
    assert (refused.value.index, refused.value.field) == (1, "gateway")
    assert "'waha'" in refused.value.message and "approved WhatsApp templates" in refused.value.message
    assert Message.objects.count() == 0 and balances(alice.user)["whatsapp"] == 100


def test_a_text_message_to_a_whatsapp_web_bridge_is_still_accepted(alice, cloud):
    make_gateway(alice.user, "whatsapp", "waha", provider="whatsapp_web", config={"base_url": "http://127.0.0.1:9"})
    (message,) = accept(alice, "whatsapp", [WhatsAppItem(recipient="+15555550123", body="Hi", gateway="waha")])
    assert message.whatsapp_template is None and Message.objects.filter(whatsapp_template__isnull=True).count() == 1


@pytest.mark.parametrize(
    ("template", "body", "fields"),
    [
        ({"name": "", "language": "en", "components": []}, "", ["template.name"]),
        ({"name": "a", "language": 5, "components": {}}, "", ["template.language", "template.components"]),
        ({"name": "a", "language": "en", "components": [{"text": "a\x00b"}]}, "", ["template.components"]),
        ("order_update", "", ["template"]),
        (APPROVED, "Hi", ["template"]),  # a template goes alone
    ],
)
def test_a_malformed_template_is_refused_naming_its_field(alice, cloud, template, body, fields):
    with pytest.raises(ValidationFailed) as refused:
        accept(alice, "whatsapp", [WhatsAppItem(recipient="+15555550123", body=body, template=template)])
    assert [e["field"] for e in refused.value.errors] == fields


# ---------------------------------------------------------------- the panel's retry


def test_a_retry_carries_the_from_address_text_part_and_template(alice, smtp, cloud):
    (mail,) = accept(alice, "email", [email(from_email="news@example.com", text="Hi Ada")])
    (whatsapp,) = accept(alice, "whatsapp", [WhatsAppItem(recipient="+15555550123", template=APPROVED)])
    again = item_of(Message.objects.get(pk=mail.pk))
    assert (again.from_email, again.text) == ("news@example.com", "Hi Ada")
    assert item_of(Message.objects.get(pk=whatsapp.pk)).template == APPROVED
