"""Endpoints pass the address rules at registration and again before every delivery; the connection goes to the
address that was checked. Loopback spellings are tried against a real loopback receiver, which must record
nothing; private, link-local and metadata addresses are checked at the rules only (no socket is opened)."""

from __future__ import annotations

import pytest

from tests.webhooks.conftest import drain, sent_message
from webhooks import services
from webhooks.models import Delivery
from webhooks.transport import check_endpoint_url
from xsender.addresses import AddressRefused
from xsender.errors import ValidationFailed

pytestmark = pytest.mark.django_db

LOOPBACK_SPELLINGS = ["127.0.0.1", "127.1", "2130706433", "[::ffff:127.0.0.1]"]


def _url(receiver, host: str) -> str:
    return receiver.url.replace("127.0.0.1", host)


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_a_loopback_endpoint_that_is_not_allow_listed_is_refused(alice, receiver, settings, host):
    settings.XSENDER_WEBHOOK_ALLOWED_HOSTS = []
    with pytest.raises(ValidationFailed, match="non-public address"):
        services.add_endpoint(owner=alice.user, url=_url(receiver, host), event_types=["message.sent"])


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_a_loopback_endpoint_no_longer_allow_listed_is_never_connected(alice, receiver, settings, host):
    settings.XSENDER_WEBHOOK_ALLOWED_HOSTS = [host.strip("[]")]
    endpoint, _ = services.add_endpoint(owner=alice.user, url=_url(receiver, host), event_types=["message.sent"])
    settings.XSENDER_WEBHOOK_ALLOWED_HOSTS = []
    sent_message(alice)
    drain(endpoint)
    assert receiver.requests == []
    assert "non-public address" in Delivery.objects.get().last_error


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.8/hook",
        "https://172.16.5.4/hook",
        "https://192.168.1.20/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fe80::1]/hook",
        "https://[fd00::1]/hook",
        "https://100.64.0.1/hook",
        "https://0.0.0.0/hook",
    ],
)
def test_private_link_local_and_metadata_addresses_are_refused_by_the_rules(url):
    with pytest.raises(AddressRefused, match="non-public address"):
        check_endpoint_url(url)


def test_an_allow_listed_host_is_let_through(settings):
    settings.XSENDER_WEBHOOK_ALLOWED_HOSTS = ["10.0.0.8"]
    assert check_endpoint_url("https://10.0.0.8/hook").address == "10.0.0.8"


def test_plain_http_is_refused_unless_insecure_http_is_allowed(settings):
    settings.XSENDER_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    with pytest.raises(AddressRefused, match="Only https"):
        check_endpoint_url("http://127.0.0.1/hook")


def test_credentials_in_the_url_are_refused(settings):
    settings.XSENDER_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    with pytest.raises(AddressRefused, match="user name or password"):
        check_endpoint_url("https://user:secret@127.0.0.1/hook")
