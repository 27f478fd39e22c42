"""Small HTTP servers on loopback that stand in for third-party APIs in tests.

`FakeServer(handler)` runs a ThreadingHTTPServer on 127.0.0.1 with a free port in a thread; it records every
request (`.requests`: method, path, headers, parsed body) and answers with `handler(request) -> Reply`.
Run as a process for system tests: `python -m tests.fakes.http twilio|graph|waha --port N [--out FILE]`
(one JSON line per request received is appended to FILE).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    raw: bytes
    body: Any


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def _parse(headers: dict[str, str], raw: bytes) -> Any:
    kind = headers.get("content-type", "")
    if "json" in kind:
        return json.loads(raw or b"null")
    if "x-www-form-urlencoded" in kind:
        return {k: v[0] if len(v) == 1 else v for k, v in parse_qs(raw.decode()).items()}
    return raw


class FakeServer:
    def __init__(self, handler: Callable[[Request], Reply], out: str | None = None, port: int = 0) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        self.out = out
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                parts = urlsplit(self.path)
                request = Request(self.command, parts.path, parse_qs(parts.query), headers, raw, _parse(headers, raw))
                fake.record(request)
                reply = fake.handler(request)
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.headers.pop("Content-Type", "application/json"))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def record(self, request: Request) -> None:
        with self.lock:
            self.requests.append(request)
            if self.out:
                body = request.body if not isinstance(request.body, bytes) else request.raw.decode(errors="replace")
                line = {"method": request.method, "path": request.path, "headers": request.headers, "body": body}
                with open(self.out, "a") as handle:
                    handle.write(json.dumps(line) + "\n")

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    from tests.fakes import providers

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=sorted(providers.HANDLERS))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    server = FakeServer(providers.HANDLERS[args.kind](), out=args.out, port=args.port)
    print(f"{args.kind} fake on {server.url}", flush=True)
    server.server.serve_forever()


if __name__ == "__main__":
    main()
