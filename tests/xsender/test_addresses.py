"""The address rules: only public addresses, whatever the spelling; refusals never reveal what a name resolved to.

Nothing here opens a connection: the rules are checked by resolution and classification only.
"""

from __future__ import annotations

import pytest

from xsender.addresses import AddressRefused, check_url, is_public_address

PUBLIC = "93.184.215.14"


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1", "172.16.0.5", "192.168.1.10", "127.0.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
        "224.0.0.1", "240.0.0.1", "255.255.255.255", "192.0.0.8", "198.18.0.1",
        "::", "::1", "fe80::1", "fd00:ec2::254", "fec0::1", "ff02::1", "2001:db8::1",
        "::ffff:127.0.0.1", "::ffff:8.8.8.8", "::127.0.0.1", "::ffff:0:a00:1",
        "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::a00:1",
        "2002:7f00:1::1", "2002:a9fe:a9fe::1", "2002:808:808::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    ],
)  # fmt: skip
def test_non_public_addresses_and_the_ipv6_forms_that_carry_ipv4_are_refused(address):
    assert is_public_address(address) is False


@pytest.mark.parametrize("address", [PUBLIC, "8.8.8.8", "2606:2800:220:1:248:1893:25c8:1946", "2a00:1450:4001::1"])
def test_public_addresses_pass(address):
    assert is_public_address(address) is True


@pytest.mark.parametrize("host", ["127.1", "2130706433", "0x7f000001", "0177.0.0.1", "017700000001", "0", "[::1]"])
def test_numeric_spellings_of_loopback_are_refused(host):
    with pytest.raises(AddressRefused, match="non-public"):
        check_url(f"http://{host}/secret")


def test_a_name_that_resolves_to_a_private_address_is_refused_without_naming_the_address():
    with pytest.raises(AddressRefused) as refused:
        check_url("http://localhost:8080/secret")
    assert refused.value.message == "localhost resolves to a non-public address: refused."
    assert "127.0.0.1" not in refused.value.message and "::1" not in refused.value.message


def test_a_public_url_gives_the_checked_address_to_connect_to():
    target = check_url(f"https://{PUBLIC}/a.png")
    assert (target.scheme, target.host, target.port, target.address) == ("https", PUBLIC, 443, PUBLIC)


def test_an_allow_listed_host_is_let_through(settings):
    settings.XSENDER_FETCH_ALLOWED_HOSTS = ["LocalHost"]
    assert check_url("http://localhost:9000/x").address in ("127.0.0.1", "::1")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/a", "Only http and https"),
        ("file:///etc/passwd", "Only http and https"),
        ("javascript:alert(1)", "Only http and https"),
        ("http:///no-host", "no host"),
        ("http://example.com:99999/", "Not a valid URL"),
        ("http://no-such-host.invalid/", "Cannot resolve no-such-host.invalid"),
    ],
)
def test_other_urls_are_refused_with_a_reason(url, reason):
    with pytest.raises(AddressRefused, match=reason):
        check_url(url)
