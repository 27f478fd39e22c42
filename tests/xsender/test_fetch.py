"""The SSRF-safe fetcher: nothing private is reached, redirects are checked at every hop, limits hold."""

from __future__ import annotations

import pytest

from tests.fakes.http import FakeServer, Reply
from xsender.fetch import FetchError, safe_fetch


def serve(routes: dict[str, Reply]):
    return FakeServer(lambda request: routes.get(request.path, Reply(404, {"error": "no"})))


@pytest.fixture
def files():
    routes = {
        "/logo.png": Reply(200, b"\x89PNG-bytes", {"Content-Type": "image/png"}),
        "/invoice": Reply(
            200,
            b"%PDF",
            {"Content-Type": "application/pdf", "Content-Disposition": 'attachment; filename="inv-2026.pdf"'},
        ),
        "/big": Reply(200, b"x" * 5000, {"Content-Type": "application/octet-stream"}),
        "/slow": Reply(200, b"late", delay=2.0),
    }
    with serve(routes) as server:
        yield server, routes


def test_loopback_is_refused_before_any_request(files):
    server, _ = files
    with pytest.raises(FetchError, match="non-public"):
        safe_fetch(f"{server.url}/logo.png")
    assert server.requests == []


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.1/a", "http://192.168.1.10/a", "http://172.16.0.5/a", "http://169.254.169.254/latest/meta-data/",
     "http://[::1]/a", "http://[fd00:ec2::254]/a", "http://100.64.0.1/a", "http://0.0.0.0/a", "http://[::ffff:127.0.0.1]/a"],
)  # fmt: skip
def test_private_link_local_and_metadata_addresses_are_refused(url):
    with pytest.raises(FetchError, match="non-public"):
        safe_fetch(url, timeout=2)


@pytest.mark.parametrize("url", ["ftp://example.com/a", "file:///etc/passwd", "gopher://example.com/"])
def test_only_http_and_https(url):
    with pytest.raises(FetchError, match="Only http and https"):
        safe_fetch(url)


def test_allow_listed_host_is_fetched_with_type_and_name(files, settings):
    settings.XSENDER_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    server, _ = files
    logo = safe_fetch(f"{server.url}/logo.png")
    invoice = safe_fetch(f"{server.url}/invoice")
    assert (logo.content, logo.content_type, logo.filename) == (b"\x89PNG-bytes", "image/png", "logo.png")
    assert invoice.filename == "inv-2026.pdf"


def test_redirect_to_a_private_host_is_refused(files, settings):
    server, routes = files
    port = server.url.rsplit(":", 1)[1]
    settings.XSENDER_FETCH_ALLOWED_HOSTS = ["localhost"]
    routes["/hop"] = Reply(302, b"", {"Location": f"http://127.0.0.1:{port}/logo.png"})
    with pytest.raises(FetchError, match="non-public"):
        safe_fetch(f"http://localhost:{port}/hop")
    assert [r.path for r in server.requests] == ["/hop"]


def test_redirects_are_followed_and_counted(files, settings):
    settings.XSENDER_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    server, routes = files
    routes["/a"] = Reply(301, b"", {"Location": "/logo.png"})
    routes["/loop"] = Reply(302, b"", {"Location": "/loop"})
    assert safe_fetch(f"{server.url}/a").content == b"\x89PNG-bytes"
    with pytest.raises(FetchError, match="redirects"):
        safe_fetch(f"{server.url}/loop")


def test_size_limit(files, settings):
    settings.XSENDER_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    server, _ = files
    with pytest.raises(FetchError, match="too large"):
        safe_fetch(f"{server.url}/big", max_bytes=1000)


def test_time_limit(files, settings):
    settings.XSENDER_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    server, _ = files
    with pytest.raises(FetchError):
        safe_fetch(f"{server.url}/slow", timeout=0.5)


def test_http_error_is_reported(files, settings):
    settings.XSENDER_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    server, _ = files
    with pytest.raises(FetchError, match="HTTP 404"):
        safe_fetch(f"{server.url}/missing")
