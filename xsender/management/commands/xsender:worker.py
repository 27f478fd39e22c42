"""Runs an RQ worker on every XSender queue, once Redis answers (it may still be starting under `make run`)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from xsender.redis import get_redis
from xsender.startup import settle

QUEUES = ("high", "default", "low", "webhooks")


class Command(BaseCommand):
    help = "Run a delivery worker on the high, default, low and webhooks queues (in that order of priority)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--burst", action="store_true", help="Exit when the queues are empty.")
        parser.add_argument("--wait", type=float, default=30.0, help="Seconds to wait for Redis at start.")
        parser.add_argument(
            "--fork",
            action="store_true",
            help="Run each job in a forked work-horse (RQ's default) instead of in the worker process.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        deadline = time.monotonic() + options["wait"]
        while True:
            try:
                get_redis().ping()
                break
            except Exception as exc:  # noqa: BLE001 — any connection failure: wait and retry
                if time.monotonic() > deadline:
                    raise CommandError(f"Redis is not reachable: {type(exc).__name__}. Check REDIS_URL.") from None
                time.sleep(0.3)
        # Jobs carry whole batches, are short and hold no state: running them in-process spares a fork and a
        # new database connection per job. Timeouts still apply (SIGALRM), and a failing job fails alone.
        worker_class = "rq.worker.Worker" if options["fork"] else "rq.worker.SimpleWorker"
        settle()
        call_command("rqworker", *QUEUES, burst=options["burst"], worker_class=worker_class)
