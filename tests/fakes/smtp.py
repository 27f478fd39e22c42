"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives.

`SmtpSink(delay=0, refuse={addr: "550 ..."})` collects each message (`.messages`: envelope sender, recipients,
parsed email) and counts connections (`.connections`). Use as a context manager; `.port` is its port.
`delays=[4.0]` holds the first DATA replies that long (then `delay`); `data_reply="550 …"` answers every DATA
with that refusal (the message is still recorded as received).
Run as a process: `python -m tests.fakes.smtp --port N --out FILE` (one JSON line per message).
"""

from __future__ import annotations

import argparse
import asyncio
import email
import json
import threading
from dataclasses import dataclass, field
from email.message import Message as ParsedEmail
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


@dataclass
class Received:
    sender: str
    recipients: list[str]
    email: ParsedEmail


@dataclass
class SmtpSink:
    delay: float = 0.0
    refuse: dict[str, str] = field(default_factory=dict)
    delays: list[float] = field(default_factory=list)
    data_reply: str = ""
    out: str | None = None
    port: int = 0
    messages: list[Received] = field(default_factory=list)
    connections: int = 0
    replies: int = 0  # DATA answers given (after their delay)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port or _free_port())
        self.port = self.controller.port

    @property
    def recipients(self) -> list[str]:
        return [r for m in self.messages for r in m.recipients]

    async def handle_EHLO(
        self, server: SMTP, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:  # noqa: N802
        with self.lock:
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]) -> str:  # noqa: N802
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            delay = self.delays.pop(0) if self.delays else self.delay
        if delay:
            await asyncio.sleep(delay)  # other connections go on meanwhile, as with a real server
        received = Received(envelope.mail_from, list(envelope.rcpt_tos), email.message_from_bytes(envelope.content))
        with self.lock:
            self.replies += 1
            self.messages.append(received)
            if self.out:
                with open(self.out, "a") as handle:
                    handle.write(json.dumps({"from": received.sender, "to": received.recipients}) + "\n")
        return self.data_reply or "250 Message accepted for delivery"

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.controller.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", default=None)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    with SmtpSink(delay=args.delay, out=args.out, port=args.port):
        print(f"SMTP sink on 127.0.0.1:{args.port}", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
