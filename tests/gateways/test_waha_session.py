"""A WhatsApp Web bridge's session state and QR code, as the panel reads them from WAHA (a loopback fake speaking
WAHA's wire format), through the safe fetcher's rules."""

from __future__ import annotations

import pytest

from gateways.services import add_gateway
from tests.fakes import providers
from tests.fakes.http import FakeServer, Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def loopback_allowed(settings):
    settings.XSENDER_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]  # an operator's own bridge on this machine


def bridge(url: str, **config):
    config = {"base_url": url, "session": "office", **config}
    return add_gateway(
        owner=None, channel="whatsapp", provider="whatsapp_web", identifier="wa", config=config
    ).backend()


def test_a_linked_session_names_the_account(loopback_allowed):
    with FakeServer(providers.waha(status="WORKING")) as server:
        session = bridge(server.url).session_status()
    assert (session.state, session.account) == ("WORKING", "Office phone (15550009999@c.us)")
    assert server.requests[0].path == "/api/sessions/office"


def test_a_session_waiting_for_a_scan_offers_its_qr_value(loopback_allowed):
    with FakeServer(providers.waha(status="SCAN_QR_CODE", qr="2@abc,def==")) as server:
        backend = bridge(server.url)
        session, qr = backend.session_status(), backend.qr_code()
    assert session.needs_qr
    assert qr.raw == "2@abc,def=="


def test_a_bridge_that_only_answers_an_image_gives_the_png(loopback_allowed):
    image = Reply(200, providers.TINY_PNG, headers={"Content-Type": "image/png"})
    with FakeServer(lambda request: image) as server:
        qr = bridge(server.url).qr_code()
    assert qr.png == providers.TINY_PNG


def test_no_qr_code_while_the_session_is_linked(loopback_allowed):
    with FakeServer(providers.waha(status="WORKING")) as server:
        assert bridge(server.url).qr_code() is None


def test_the_api_key_is_sent_and_a_wrong_one_is_said_without_showing_it(loopback_allowed):
    with FakeServer(providers.waha(api_key="bridge-key")) as server:
        session = bridge(server.url, api_key="wrong-key-123").session_status()
    assert session.state == "UNREACHABLE" and "API key" in session.detail
    assert "wrong-key-123" not in session.detail
    assert server.requests[0].headers["x-api-key"] == "wrong-key-123"


def test_a_session_name_stays_one_path_segment(loopback_allowed):
    with FakeServer(providers.waha()) as server:
        bridge(server.url, session="../admin").session_status()
    assert server.requests[0].path == "/api/sessions/..%2Fadmin"


def test_a_redirect_is_not_followed_so_the_key_stays_with_the_bridge(loopback_allowed):
    with FakeServer(providers.waha()) as elsewhere:
        moved = Reply(302, {}, headers={"Location": elsewhere.url + "/api/sessions/office"})
        with FakeServer(lambda request: moved) as server:
            session = bridge(server.url, api_key="bridge-key").session_status()
    assert session.state == "UNREACHABLE"
    assert elsewhere.requests == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:3000", "http://10.0.0.7:3000", "http://169.254.169.254"])
def test_a_bridge_on_a_non_public_address_is_refused(url, settings):
    settings.XSENDER_FETCH_ALLOWED_HOSTS = []
    session = bridge(url).session_status()
    assert session.state == "UNREACHABLE" and "non-public address" in session.detail


def test_a_bridge_that_does_not_answer_is_a_state_not_an_error(loopback_allowed):
    with FakeServer(providers.waha()) as server:
        url = server.url
    session = bridge(url).session_status()
    assert session.state == "UNREACHABLE"
