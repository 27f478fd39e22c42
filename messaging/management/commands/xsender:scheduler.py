"""The scheduler loop: releases due scheduled messages, re-enqueues lost wake-ups, recovers expired leases, then
runs the sweeps registered by the apps above messaging (xsender.sweeps: webhook deliveries, phones gone offline)."""

from __future__ import annotations

import json
import logging
import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from messaging.sweeps import run_sweeps
from xsender import sweeps

logger = logging.getLogger("xsender.scheduler")


class Command(BaseCommand):
    help = "Run the scheduler loop (safe to run more than one). --once runs one pass and prints what it did."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run one pass, print its counts as JSON, exit.")
        parser.add_argument("--interval", type=float, default=settings.XSENDER_SCHEDULER_INTERVAL, help="Seconds.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            self.stdout.write(json.dumps({**run_sweeps(), **sweeps.run_registered()}))
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write(f"Scheduler running every {options['interval']}s (Ctrl-C to stop).")
        while not stop.is_set():
            try:
                close_old_connections()
                counts = {**run_sweeps(), **sweeps.run_registered()}  # then the apps' above messaging
                if any(counts.values()):
                    logger.info("scheduler pass: %s", counts)
            except Exception:  # noqa: BLE001 — a failed pass (database restarting…) must not end the loop
                logger.exception("scheduler pass failed; retrying")
            stop.wait(options["interval"])
