"""Twilio, WhatsApp Cloud and WhatsApp Web backends against loopback servers speaking each wire format."""

from __future__ import annotations

import pytest

from gateways.backends.base import BackendError
from gateways.services import ProbeMessage, add_gateway
from tests.fakes import providers
from tests.fakes.http import FakeServer, Reply
from xsender.errors import ValidationFailed

pytestmark = pytest.mark.django_db

# A public address, checked by the address rules without any connection to it (tests stay on loopback).
MEDIA = "https://93.184.215.14/a.png"
REFUSED_MEDIA = [
    "http://127.0.0.1:8000/secret",
    "http://169.254.169.254/latest/meta-data/",
    "http://[64:ff9b::a00:1]/x",
]


def sms(to: str, body: str = "Code 482915") -> ProbeMessage:
    return ProbeMessage(recipient=to, channel="sms", body=body)


def wa(to: str, body: str = "Hello", media: str = "", url: str = "") -> ProbeMessage:
    return ProbeMessage(recipient=to, channel="whatsapp", body=body, media=media, media_url=url)


def backend(channel: str, provider: str, config: dict):
    return add_gateway(owner=None, channel=channel, provider=provider, identifier=provider, config=config).backend()


# ---------------------------------------------------------------- Twilio


@pytest.fixture
def twilio():
    failures = {"+15555550100": (400, 21211), "+15555550101": (429, 20429)}
    with FakeServer(providers.twilio(failures, token="tok-secret")) as server:
        yield server


def twilio_backend(server, **extra):
    config = {
        "account_sid": "AC123",
        "auth_token": "tok-secret",
        "from_number": "+15550001111",
        "base_url": server.url,
        **extra,
    }
    return backend("sms", "twilio", config)


def test_twilio_posts_the_documented_form_with_basic_auth(twilio):
    result = twilio_backend(twilio).send([sms("+15555550123")])[0]
    request = twilio.requests[0]
    assert (result.ok, result.provider_message_id.startswith("SM")) == (True, True)
    assert request.path == "/2010-04-01/Accounts/AC123/Messages.json"
    assert (request.body["To"], request.body["From"], request.body["Body"]) == (
        "+15555550123",
        "+15550001111",
        "Code 482915",
    )


def test_twilio_invalid_number_is_permanent_and_throttling_temporary(twilio):
    invalid, throttled = twilio_backend(twilio).send([sms("+15555550100"), sms("+15555550101")])
    assert (invalid.ok, invalid.transient, throttled.transient) == (False, False, True)
    assert "21211" in invalid.error


def test_twilio_bad_credentials_fail_the_batch_permanently(twilio):
    with pytest.raises(BackendError) as error:
        twilio_backend(twilio, auth_token="wrong").send([sms("+15555550123")])
    assert error.value.permanent
    assert "wrong" not in error.value.message


def test_twilio_messaging_service_instead_of_a_number(twilio):
    config = {
        "account_sid": "AC123",
        "auth_token": "tok-secret",
        "messaging_service_sid": "MG1",
        "base_url": twilio.url,
    }
    backend("sms", "twilio", config).send([sms("+15555550123")])
    assert twilio.requests[0].body["MessagingServiceSid"] == "MG1"


def test_twilio_needs_a_sender():
    with pytest.raises(ValidationFailed, match="from_number"):
        backend("sms", "twilio", {"account_sid": "AC1", "auth_token": "t"})


# ---------------------------------------------------------------- WhatsApp Cloud


@pytest.fixture
def graph():
    with FakeServer(
        providers.graph({"15555550100": (400, 131026), "15555550101": (400, 130429)}, token="EAAtoken")
    ) as server:
        yield server


def cloud_backend(server, token: str = "EAAtoken"):
    return backend(
        "whatsapp", "whatsapp_cloud", {"phone_number_id": "1061", "access_token": token, "base_url": server.url}
    )


def test_cloud_text_message_matches_the_graph_api(graph):
    result = cloud_backend(graph).send([wa("+15555550123", "Your order *#A1023* has shipped.")])[0]
    request = graph.requests[0]
    assert result.provider_message_id.startswith("wamid.")
    assert request.path == "/v21.0/1061/messages"
    assert request.headers["authorization"] == "Bearer EAAtoken"
    assert request.body == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": "15555550123",
        "type": "text", "text": {"preview_url": False, "body": "Your order *#A1023* has shipped."},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("media", "expected"),
    [
        ("image", {"link": MEDIA, "caption": "Order"}),
        ("video", {"link": MEDIA, "caption": "Order"}),
        ("audio", {"link": MEDIA}),
        ("document", {"link": MEDIA, "caption": "Order", "filename": "a.png"}),
    ],
)
def test_cloud_media_is_sent_by_link(graph, media, expected):
    cloud_backend(graph).send([wa("+15555550123", "Order", media, MEDIA)])
    body = graph.requests[0].body
    assert (body["type"], body[media]) == (media, expected)


@pytest.mark.parametrize("url", REFUSED_MEDIA)
def test_cloud_media_on_a_private_address_fails_that_message_and_meta_is_never_asked(graph, url):
    refused, fine = cloud_backend(graph).send([wa("+15555550123", "x", "image", url), wa("+15555550124")])
    assert (refused.ok, refused.transient, fine.ok) == (False, False, True)
    assert refused.error.startswith("Media URL refused:") and "non-public" in refused.error
    assert [r.body["to"] for r in graph.requests] == ["15555550124"]


def test_cloud_answer_without_a_message_id_is_an_unknown_outcome_for_that_message_only():
    answers = iter([Reply(200, {"messages": []}), Reply(200, {"messages": [{"id": "wamid.2"}]})])
    with FakeServer(lambda request: next(answers)) as server:
        odd, fine = cloud_backend(server).send([wa("+15555550123"), wa("+15555550124")])
    assert (odd.ok, odd.unknown, odd.transient) == (False, True, False)
    assert (fine.ok, fine.provider_message_id) == (True, "wamid.2")


def test_cloud_undeliverable_is_permanent_and_rate_limit_temporary(graph):
    undeliverable, limited = cloud_backend(graph).send([wa("+15555550100"), wa("+15555550101")])
    assert (undeliverable.transient, limited.transient) == (False, True)


def test_cloud_expired_token_fails_the_batch(graph):
    with pytest.raises(BackendError) as error:
        cloud_backend(graph, token="EAAexpired").send([wa("+15555550123")])
    assert error.value.permanent and "EAAexpired" not in error.value.message


# ---------------------------------------------------------------- WhatsApp Web (WAHA)


@pytest.fixture
def waha():
    with FakeServer(providers.waha({"15555550100@c.us": 422}, api_key="waha-key")) as server:
        yield server


def web_backend(server, **extra):
    return backend(
        "whatsapp", "whatsapp_web", {"base_url": server.url, "session": "store-main", "api_key": "waha-key", **extra}
    )


def test_waha_text_uses_send_text_with_the_session(waha):
    result = web_backend(waha).send([wa("+15555550123", "Hi")])[0]
    request = waha.requests[0]
    assert result.ok
    assert (request.path, request.headers["x-api-key"]) == ("/api/sendText", "waha-key")
    assert request.body == {"session": "store-main", "chatId": "15555550123@c.us", "text": "Hi"}


@pytest.mark.parametrize(
    ("media", "path", "mimetype"),
    [
        ("image", "/api/sendImage", "image/png"),
        ("document", "/api/sendFile", "image/png"),
        ("video", "/api/sendVideo", "image/png"),
        ("audio", "/api/sendVoice", "image/png"),
    ],
)
def test_waha_media_endpoints(waha, media, path, mimetype):
    web_backend(waha).send([wa("+15555550123", "Look", media, MEDIA)])
    request = waha.requests[0]
    assert request.path == path
    assert request.body["file"] == {"url": MEDIA, "mimetype": mimetype, "filename": "a.png"}


@pytest.mark.parametrize("url", REFUSED_MEDIA)
def test_waha_media_on_a_private_address_fails_that_message_and_the_bridge_is_never_asked(waha, url):
    refused, fine = web_backend(waha).send([wa("+15555550123", "x", "document", url), wa("+15555550124", "Hi")])
    assert (refused.ok, refused.transient, fine.ok) == (False, False, True)
    assert refused.error.startswith("Media URL refused:") and "non-public" in refused.error
    assert [r.path for r in waha.requests] == ["/api/sendText"]


def test_waha_media_filename_from_the_url_is_made_safe(waha):
    web_backend(waha).send([wa("+15555550123", "x", "document", "https://93.184.215.14/d/in%0D%0Avoice%22.pdf")])
    assert waha.requests[0].body["file"]["filename"] == "invoice_.pdf"


def test_a_lost_answer_is_an_unknown_outcome_and_the_rest_is_retried_later(waha):
    slow = FakeServer(lambda request: Reply(201, {"id": "late"}, delay=2.0))
    with slow:
        backend = web_backend(slow)
        backend.timeout = 0.5
        lost, untouched = backend.send([wa("+15555550123"), wa("+15555550124")])
    assert (lost.ok, lost.unknown, lost.error.startswith("Outcome unknown")) == (False, True, True)
    assert (untouched.ok, untouched.unknown, untouched.transient) == (False, False, True)
    assert len(slow.requests) == 1


def test_waha_disconnected_session_is_retried_later(waha):
    result = web_backend(waha).send([wa("+15555550100")])[0]
    assert (result.ok, result.transient) == (False, True)


def test_waha_wrong_key_fails_the_batch(waha):
    with pytest.raises(BackendError):
        web_backend(waha, api_key="nope").send([wa("+15555550123")])


def test_unreachable_provider_is_a_temporary_batch_failure(db):
    with pytest.raises(BackendError) as error:
        backend("whatsapp", "whatsapp_web", {"base_url": "http://127.0.0.1:1"}).send([wa("+15555550123")])
    assert (error.value.permanent, error.value.in_flight) == (False, False)


@pytest.mark.parametrize(
    ("provider", "config", "field"),
    [
        ("whatsapp_cloud", {"access_token": "x"}, "config.phone_number_id"),
        ("whatsapp_cloud", {"phone_number_id": "1", "access_token": "x", "token": "y"}, "config.token"),
        ("whatsapp_web", {}, "config.base_url"),
        ("whatsapp_web", {"base_url": 3000}, "config.base_url"),
    ],
)
def test_config_errors_name_the_key(provider, config, field):
    with pytest.raises(ValidationFailed) as error:
        backend("whatsapp", provider, config)
    assert field in [e["field"] for e in error.value.errors]
