"""Gateways in the panel: a form per provider from its config schema, the service's messages at their fields,
secrets write-only, default per channel, test message, removal guarded by queued messages, WAHA session and QR."""

from __future__ import annotations

import pytest

from accounts.models import CreditAccount
from gateways.models import Gateway
from gateways.services import add_gateway
from messaging.models import Message
from tests.fakes import providers
from tests.fakes.http import FakeServer
from tests.fakes.smtp import SmtpSink
from tests.messaging.conftest import make_gateway

pytestmark = pytest.mark.django_db
ADD_SMTP = "/gateways/add/?channel=email&provider=smtp"


@pytest.fixture
def loopback_allowed(settings):
    settings.XSENDER_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]  # the SMTP sink and fakes listen on this machine


def smtp_form(port: int, **extra) -> dict:
    return {"identifier": "mailer", "name": "Mailer", "connections": "2", "status": "active", "config_host": "127.0.0.1",
            "config_port": str(port), "config_from_email": "noreply@example.com", "config_use_tls": "no", **extra}  # fmt: skip


def smtp_gateway(alice, port: int = 2525, **config) -> Gateway:
    config = {"host": "127.0.0.1", "port": port, "from_email": "noreply@example.com", "use_tls": False, **config}
    return add_gateway(owner=alice.user, channel="email", provider="smtp", identifier="mailer", config=config)


def test_the_add_form_has_a_field_per_key_of_the_providers_schema(panel):
    page = panel.get(ADD_SMTP, secure=True).content.decode()
    assert all(f'name="config_{key}"' in page for key in ("host", "port", "password", "use_tls", "from_email"))


def test_a_gateway_is_added_with_its_config(alice, panel, loopback_allowed):
    response = panel.post(ADD_SMTP, smtp_form(2525, config_password="s3cret"), secure=True)
    gateway = Gateway.objects.get(owner=alice.user, identifier="mailer")
    assert response.status_code == 302
    assert gateway.config == {"host": "127.0.0.1", "port": 2525, "from_email": "noreply@example.com",
                              "use_tls": False, "password": "s3cret"}  # fmt: skip


def test_a_missing_key_gets_the_services_message_and_nothing_is_added(alice, panel, loopback_allowed):
    response = panel.post(ADD_SMTP, smtp_form(2525, config_from_email=""), secure=True)
    assert response.status_code == 400 and "Required by smtp." in response.content.decode()
    assert not Gateway.objects.filter(owner=alice.user).exists()


def test_a_duplicate_identifier_reads_as_the_command_says(alice, panel, loopback_allowed):
    smtp_gateway(alice)
    response = panel.post(ADD_SMTP, smtp_form(2525), secure=True)
    assert f"A gateway of {alice.user.email} named &#x27;mailer&#x27; already exists." in response.content.decode()
    assert Gateway.objects.filter(owner=alice.user).count() == 1


@pytest.mark.parametrize(
    ("field", "value"), [("config_host", "10.0.0.5"), ("config_host", "127.0.0.1"), ("config_host", "169.254.169.254")]
)
def test_a_tenant_gateway_cannot_point_at_a_private_address(alice, panel, settings, field, value):
    settings.XSENDER_FETCH_ALLOWED_HOSTS = []
    response = panel.post(ADD_SMTP, smtp_form(25, **{field: value}), secure=True)
    assert "non-public address: refused" in response.content.decode()
    assert not Gateway.objects.filter(owner=alice.user).exists()


def test_a_bridge_url_on_a_private_address_is_refused(alice, panel, settings):
    settings.XSENDER_FETCH_ALLOWED_HOSTS = []
    data = {"identifier": "wa", "connections": "2", "status": "active", "config_base_url": "http://192.168.1.20:3000"}
    response = panel.post("/gateways/add/?channel=whatsapp&provider=whatsapp_web", data, secure=True)
    assert "non-public address: refused" in response.content.decode()
    assert not Gateway.objects.exists()


def test_connections_out_of_range_are_refused(alice, panel, loopback_allowed):
    response = panel.post(ADD_SMTP, smtp_form(2525, connections="17"), secure=True)
    assert response.status_code == 400
    assert not Gateway.objects.exists()


def test_a_stored_secret_is_never_shown_back(alice, panel):
    gateway = smtp_gateway(alice, password="pw-secret-42")
    assert "pw-secret-42" not in panel.get(f"/gateways/{gateway.uid}/", secure=True).content.decode()


def test_an_empty_secret_on_edit_keeps_the_stored_one(alice, panel, loopback_allowed):
    gateway = smtp_gateway(alice, password="pw-secret-42")
    panel.post(f"/gateways/{gateway.uid}/", smtp_form(2525, name="Renamed", config_password=""), secure=True)
    gateway.refresh_from_db()
    assert (gateway.name, gateway.config["password"]) == ("Renamed", "pw-secret-42")


def test_moving_the_host_clears_the_secret_and_says_so(alice, panel, settings):
    settings.XSENDER_FETCH_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    gateway = smtp_gateway(alice, password="pw-secret-42")
    response = panel.post(
        f"/gateways/{gateway.uid}/", smtp_form(2525, config_host="localhost"), secure=True, follow=True
    )
    gateway.refresh_from_db()
    assert "password" not in gateway.config
    assert "password cleared" in response.content.decode()


def test_a_test_message_reaches_the_smtp_server(alice, panel, loopback_allowed):
    with SmtpSink() as sink:
        gateway = smtp_gateway(alice, port=sink.port)
        response = panel.post(f"/gateways/{gateway.uid}/test/", {"to": "me@example.com"}, secure=True, follow=True)
    assert sink.recipients == ["me@example.com"]
    assert "Test message sent to me@example.com" in response.content.decode()


def test_a_wrong_port_gives_a_clear_error(alice, panel, loopback_allowed):
    with SmtpSink() as sink:
        closed = sink.port
    gateway = smtp_gateway(alice, port=closed)
    response = panel.post(f"/gateways/{gateway.uid}/test/", {"to": "me@example.com"}, secure=True, follow=True)
    assert "The test message was not sent: Cannot connect to the SMTP server: ConnectionRefusedError." in (
        response.content.decode()
    )


def test_a_test_recipient_of_the_wrong_kind_is_refused(alice, panel):
    gateway = smtp_gateway(alice)
    response = panel.post(f"/gateways/{gateway.uid}/test/", {"to": "+15555550123"}, secure=True)
    assert response.status_code == 400 and "Enter an email address." in response.content.decode()


def test_one_default_per_channel(alice, panel):
    first = make_gateway(alice.user, "email", "first", is_default=True)
    second = make_gateway(alice.user, "email", "second")
    panel.post(f"/gateways/{second.uid}/default/", secure=True)
    first.refresh_from_db(), second.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)


def test_removal_is_refused_while_messages_are_queued(alice, panel):
    gateway = make_gateway(alice.user, "sms", "sms-console", is_default=True)
    alice.client().post("/api/sms/send", {"contact": [{"number": "+15555550123", "body": "Hi"}]}, format="json")
    response = panel.post(f"/gateways/{gateway.uid}/remove/", secure=True)
    assert response.status_code == 409 and "1 message(s) are still queued" in response.content.decode()
    assert Gateway.objects.filter(pk=gateway.pk).exists()


def test_forced_removal_fails_the_queued_messages_and_refunds_them(alice, panel):
    gateway = make_gateway(alice.user, "sms", "sms-console", is_default=True)
    alice.client().post("/api/sms/send", {"contact": [{"number": "+15555550123", "body": "Hi"}]}, format="json")
    panel.post(f"/gateways/{gateway.uid}/remove/", {"force": "on"}, secure=True)
    assert not Gateway.objects.filter(pk=gateway.pk).exists()
    assert Message.objects.get().status == "Failed"
    assert CreditAccount.objects.get(user=alice.user, channel="sms").balance == 100


def test_shared_gateways_are_listed_read_only(alice, panel):
    shared = add_gateway(owner=None, channel="sms", provider="console", identifier="house-sms", share_with=[alice.user])
    page = panel.get("/gateways/", secure=True).content.decode()
    assert "house-sms" in page and f"/gateways/{shared.uid}/" not in page
    assert panel.get(f"/gateways/{shared.uid}/", secure=True).status_code == 404


def test_a_bridge_waiting_to_be_linked_shows_its_qr_code(alice, panel, loopback_allowed):
    with FakeServer(providers.waha(status="SCAN_QR_CODE")) as bridge:
        gateway = add_gateway(owner=alice.user, channel="whatsapp", provider="whatsapp_web", identifier="wa",
                              config={"base_url": bridge.url})  # fmt: skip
        page = panel.get(f"/gateways/{gateway.uid}/session/", secure=True).content.decode()
    assert "SCAN_QR_CODE" in page
    assert '<figure id="session-qr" class="qr"><svg' in page


def test_a_linked_bridge_names_the_account(alice, panel, loopback_allowed):
    with FakeServer(providers.waha(status="WORKING")) as bridge:
        gateway = add_gateway(owner=alice.user, channel="whatsapp", provider="whatsapp_web", identifier="wa",
                              config={"base_url": bridge.url})  # fmt: skip
        page = panel.get(f"/gateways/{gateway.uid}/session/", secure=True, HTTP_HX_REQUEST="true").content.decode()
    assert "Office phone (15550009999@c.us)" in page and "session-qr" not in page
