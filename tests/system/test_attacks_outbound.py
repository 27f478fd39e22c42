"""Attacks on the outbound side, reproduced over HTTP against real processes (gunicorn, rqworker) and real servers
on loopback: a line break that used to fail a whole chunk, SSRF through the WhatsApp Web bridge, a dripping file
server that held a worker, and an attachment fetched again for every recipient."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter

import pytest

from gateways.services import add_gateway
from messaging.models import Message
from tests.fakes import providers
from tests.fakes.http import FakeServer, Reply
from tests.fakes.smtp import SmtpSink
from tests.system.conftest import wait_until

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

ALLOW_LOOPBACK_FILES = {"XSENDER_FETCH_ALLOWED_HOSTS": "127.0.0.1"}


def start_worker(processes, **env: str) -> None:
    processes.manage("worker", "rqworker", "high", "low", **env)


def send(web, key: str, channel: str, items: list[dict]) -> list[str]:
    response = web.call("POST", f"/api/{channel}/send", key, json={"contact": items})
    assert response.status_code == 200, response.text
    return [d["uid"] for d in response.json()["data"]]


def settled(uids: list[str], timeout: float = 60) -> dict[str, Message]:
    def done():
        rows = {str(m.uid): m for m in Message.objects.filter(uid__in=uids)}
        return rows if all(m.status in ("Sent", "Failed") for m in rows.values()) else None

    return wait_until(done, timeout, what=f"{len(uids)} messages to be settled")


def smtp_gateway(user, sink: SmtpSink) -> None:
    config = {"host": "127.0.0.1", "port": sink.port, "from_email": "noreply@example.com"}
    add_gateway(owner=user, channel="email", provider="smtp", identifier="smtp", config=config, is_default=True)


def emails(count: int, **extra) -> list[dict]:
    return [{"email": f"r{i}@example.com", "subject": "Hi", "message": "Hello", **extra} for i in range(count)]


def test_a_line_break_in_one_sender_name_fails_that_email_only(alice, web, processes):
    with SmtpSink() as sink:
        smtp_gateway(alice.user, sink)
        uids = send(web, alice.key, "email", emails(50))
        # Accept refuses line breaks now; a row written another way (or before that check) still reaches the backend.
        Message.objects.filter(uid=uids[17]).update(sender_name="Acme\r\nBcc: x@evil.test")
        start_worker(processes)
        rows = settled(uids)
    received = Counter(sink.recipients)
    assert received == Counter(f"r{i}@example.com" for i in range(50) if i != 17)
    assert [uid for uid in uids if rows[uid].status != "Sent"] == [uids[17]]
    assert "sender name contains a line break" in rows[uids[17]].error


def test_a_line_break_in_a_remote_file_name_adds_no_header_and_sends_every_email(alice, web, processes):
    disposition = "attachment; filename*=UTF-8''a%0D%0ABcc%3A%20x%40evil.test"
    routes = {"/f": Reply(200, b"%PDF-1.7", {"Content-Type": "application/pdf", "Content-Disposition": disposition})}
    with SmtpSink() as sink, FakeServer(lambda r: routes.get(r.path, Reply(404))) as files:
        smtp_gateway(alice.user, sink)
        items = emails(50)
        items[17]["attachments"] = [{"type": "file", "url": f"{files.url}/f"}]
        uids = send(web, alice.key, "email", items)
        start_worker(processes, **ALLOW_LOOPBACK_FILES)
        rows = settled(uids)
    attached = [m.email for m in sink.messages if m.recipients == ["r17@example.com"]][0]
    assert sorted(sink.recipients) == sorted(f"r{i}@example.com" for i in range(50))
    assert all(rows[uid].status == "Sent" for uid in uids)
    assert attached["Bcc"] is None
    assert [p.get_filename() for p in attached.walk() if p.get_filename()] == ["aBcc_ x@evil.test"]


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:{port}/secret", "http://169.254.169.254/latest/meta-data/", "http://[64:ff9b::7f00:1]/x"],
)
def test_the_whatsapp_web_bridge_is_never_asked_to_fetch_an_internal_url(alice, web, processes, url):
    with FakeServer(lambda r: Reply(200, b"internal secret")) as internal, FakeServer(providers.waha()) as bridge:
        add_gateway(owner=alice.user, channel="whatsapp", provider="whatsapp_web", identifier="store-main",
                    config={"base_url": bridge.url}, is_default=True)  # fmt: skip
        media = {"number": "+15555550123", "message": "Look", "media": "image"}
        evil = url.format(port=internal.url.rsplit(":", 1)[1])
        uids = send(web, alice.key, "whatsapp", [{**media, "url": evil}, {"number": "+15555550124", "message": "Hi"}])
        start_worker(processes)
        rows = settled(uids)
    refused, fine = rows[uids[0]], rows[uids[1]]
    assert (refused.status, fine.status) == ("Failed", "Sent")
    assert refused.error.startswith("Media URL refused:") and "non-public" in refused.error
    assert [r.path for r in bridge.requests] == ["/api/sendText"]
    assert internal.requests == []


class DrippingFiles:
    """An HTTP server on loopback that sends its headers, then one body byte every second, for ever."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/slow.pdf"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self.drip, args=(conn,), daemon=True).start()

    def drip(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nContent-Length: 100000\r\n\r\n")
            while not self.stop.wait(1.0):
                try:
                    conn.sendall(b"x")
                except OSError:
                    return

    def __enter__(self) -> DrippingFiles:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)
        self.listener.close()


def test_a_dripping_file_server_is_cut_at_the_fetch_deadline_and_the_worker_moves_on(alice, web, processes):
    with SmtpSink() as sink, DrippingFiles() as files:
        smtp_gateway(alice.user, sink)
        start_worker(processes, XSENDER_FETCH_TIMEOUT="3", **ALLOW_LOOPBACK_FILES)
        started = time.monotonic()
        slow = send(web, alice.key, "email", [{**emails(1)[0], "attachments": [{"type": "file", "url": files.url}]}])
        later = send(web, alice.key, "email", [{"email": "next@example.com", "subject": "Hi", "message": "Hello"}])
        rows = settled(slow + later, timeout=30)
        elapsed = time.monotonic() - started
    assert (rows[slow[0]].status, rows[slow[0]].error) == ("Failed", "Attachment not fetched: Fetch took too long.")
    assert (rows[later[0]].status, sink.recipients) == ("Sent", ["next@example.com"])
    assert elapsed < 15


def test_an_attachment_shared_by_a_bulk_send_is_fetched_once(alice, web, processes):
    with (
        SmtpSink() as sink,
        FakeServer(lambda r: Reply(200, b"%PDF" * 1000, {"Content-Type": "application/pdf"})) as files,
    ):
        smtp_gateway(alice.user, sink)
        uids = send(web, alice.key, "email", emails(30, attachments=[{"type": "file", "url": f"{files.url}/inv.pdf"}]))
        start_worker(processes, **ALLOW_LOOPBACK_FILES)
        rows = settled(uids)
    assert all(m.status == "Sent" for m in rows.values())
    assert len(sink.messages) == 30
    assert len(files.requests) == 1
