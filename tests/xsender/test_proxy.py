"""What the edge believes of a proxy's headers: the scheme and the caller's address, only from trusted proxies."""

from __future__ import annotations

import pytest
from django.test import override_settings

from tests.conftest import https_client
from xsender.middleware import client_ip

pytestmark = pytest.mark.django_db


@override_settings(XSENDER_TRUSTED_PROXIES=["127.0.0.0/8"])
def test_a_client_written_https_before_the_proxys_http_is_not_believed(alice):
    client = https_client()
    response = client.get("/api/me", HTTP_API_KEY=alice.key, HTTP_X_FORWARDED_PROTO="https, http", secure=False)
    assert response.status_code == 403


@override_settings(XSENDER_TRUSTED_PROXIES=["127.0.0.0/8"])
def test_the_scheme_the_trusted_proxy_appended_is_honoured(alice):
    client = https_client()
    response = client.get("/api/me", HTTP_API_KEY=alice.key, HTTP_X_FORWARDED_PROTO="http, https", secure=False)
    assert response.status_code == 200


def test_forwarded_for_from_an_untrusted_caller_is_ignored(settings):
    settings.XSENDER_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip({"REMOTE_ADDR": "203.0.113.9", "HTTP_X_FORWARDED_FOR": "198.51.100.1"}) == "203.0.113.9"


def test_the_nearest_hop_that_is_not_our_proxy_is_the_caller(settings):
    settings.XSENDER_TRUSTED_PROXIES = ["10.0.0.0/8", "127.0.0.1"]
    meta = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 198.51.100.7, 10.1.2.3"}
    assert client_ip(meta) == "198.51.100.7"


def test_an_ipv6_caller_is_named_by_its_64(settings):
    settings.XSENDER_TRUSTED_PROXIES = []
    first = client_ip({"REMOTE_ADDR": "2001:db8:1:2::1"})
    assert first == client_ip({"REMOTE_ADDR": "2001:db8:1:2:ffff::9"}) == "2001:db8:1:2::"
