"""The SSRF-safe fetcher: nothing private is reached, redirects are checked at every hop, limits hold."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.fakes.http import FakeServer, Reply
from xsender.fetch import FetchError, safe_fetch, safe_filename


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
     "http://[::1]/a", "http://[fd00:ec2::254]/a", "http://100.64.0.1/a", "http://0.0.0.0/a", "http://[::ffff:127.0.0.1]/a",
     "http://[64:ff9b::a9fe:a9fe]/a", "http://[64:ff9b:1::a00:1]/a", "http://[2002:7f00:1::1]/a", "http://[::127.0.0.1]/a",
     "http://127.1/a", "http://2130706433/a", "http://0x7f000001/a", "http://0177.0.0.1/a"],
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


class Dripper:
    """A loopback server that answers with `head`, then one byte of `drip` every `every` seconds."""

    def __init__(self, head: bytes, drip: bytes, every: float) -> None:
        self.head, self.drip, self.every = head, drip, every
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/file"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(self.head)
            for byte in self.drip:
                if self.stop.wait(self.every):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    def __enter__(self) -> Dripper:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.listener.close()
        self.thread.join(5)


@pytest.mark.parametrize(
    ("head", "drip"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", b"x" * 1000),  # the body drips
        (b"HTTP/1.1 200 OK\r\n", b"X-Slow: " + b"y" * 1000),  # the headers drip
        (b"", b"HTTP/1.1 200 OK\r\n" * 100),  # even the status line drips
    ],
)
def test_a_server_dripping_one_byte_at_a_time_is_cut_at_the_deadline(settings, head, drip):
    settings.XSENDER_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.XSENDER_FETCH_TIMEOUT = 1.5
    with Dripper(head, drip, every=0.2) as server:
        started = time.monotonic()
        with pytest.raises(FetchError, match="too long"):
            safe_fetch(server.url)
        elapsed = time.monotonic() - started
    assert 1.4 < elapsed < 2.5


def test_a_remote_filename_with_a_line_break_arrives_without_it(settings):
    settings.XSENDER_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    disposition = "attachment; filename*=UTF-8''a%0D%0ABcc%3A%20x%40evil.test.pdf"
    routes = {"/f": Reply(200, b"%PDF", {"Content-Type": "application/pdf", "Content-Disposition": disposition})}
    with serve(routes) as server:
        fetched = safe_fetch(f"{server.url}/f")
    assert fetched.filename == "aBcc_ x@evil.test.pdf"


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("report\r\nBcc: x@evil.test.pdf", "reportBcc_ x@evil.test.pdf"),
        ("../../etc/passwd", "_.._etc_passwd"),
        ('in"voice\x00.pdf', "in_voice.pdf"),
        ("\u202egpj.exe", "gpj.exe"),
        ("...", "attachment"),
        ("", "attachment"),
        ("a" * 300 + ".pdf", "a" * 96 + ".pdf"),
    ],
)
def test_filenames_are_made_safe_for_headers_and_disks(name, safe):
    assert safe_filename(name) == safe
