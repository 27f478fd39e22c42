"""Runs an RQ worker on every XSender queue, and keeps running it through Redis outages.

RQ's own loop retries a lost Redis only while it waits for a job; a connection error anywhere else (the
heartbeat after a job, registering the worker, recording a result) ends `work()`. Here the loop is started
again once Redis answers. Nothing is lost meanwhile: the messages are rows in the database, and the
scheduler re-enqueues those whose wake-up Redis lost.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_rq.utils import reset_db_connections
from django_rq.workers import get_worker
from rq.logutils import setup_loghandlers
from rq.worker import SimpleWorker, Worker

from xsender.redis import get_redis
from xsender.startup import settle

logger = logging.getLogger("xsender.worker")
QUEUES = ("high", "low", "webhooks")
REDIS_POLL_SECONDS = 0.5


class _StopAware:
    """Remembers a stop request (SIGTERM, SIGINT), so that the end of the work loop it causes is not restarted."""

    stop_requested = False
    # RQ doubles its wait between reconnection attempts up to a minute; a few seconds is enough here.
    max_connection_wait_time = 4.0

    def request_stop(self, signum: int, frame: Any) -> None:
        self.stop_requested = True
        super().request_stop(signum, frame)  # type: ignore[misc]

    def teardown(self) -> None:
        try:
            super().teardown()  # type: ignore[misc]
        finally:
            # RQ's teardown stops at its first Redis error (recording the worker's end); the command listener
            # it would have stopped next must not keep reconnecting, for ever, on behalf of a finished loop.
            listener = getattr(self, "pubsub_thread", None)
            if listener is not None and listener.is_alive():
                listener.stop()


class ResilientSimpleWorker(_StopAware, SimpleWorker):
    pass


class ResilientWorker(_StopAware, Worker):
    pass


def redis_answers() -> bool:
    try:
        return bool(get_redis().ping())
    except Exception:  # noqa: BLE001 — any failure means "not yet"
        return False


class Command(BaseCommand):
    help = "Run a delivery worker on the high, low and webhooks queues (in that order of priority)."

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
        while not redis_answers():
            if time.monotonic() > deadline:
                raise CommandError("Redis is not reachable. Check REDIS_URL.")
            time.sleep(0.3)
        # Jobs carry whole batches, are short and hold no state: running them in-process spares a fork and a
        # new database connection per job. Timeouts still apply (SIGALRM), and a failing job fails alone.
        worker_class = ResilientWorker if options["fork"] else ResilientSimpleWorker
        level = "DEBUG" if options["verbosity"] >= 2 else "WARNING" if options["verbosity"] == 0 else "INFO"
        setup_loghandlers(level)
        settle()
        self._stop = threading.Event()
        while not self._stop.is_set():
            worker = None
            try:
                worker = get_worker(*QUEUES, worker_class=worker_class)
                reset_db_connections()
                worker.work(burst=options["burst"], logging_level=level)
            except Exception as exc:  # noqa: BLE001 — RQ's teardown talks to Redis too; the kind is logged
                logger.warning("The work loop stopped on %s.", type(exc).__name__)
            # RQ installed its own handlers for the loop that just ended; a signal from now on is ours.
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self._stop.set())
            if options["burst"] or (worker is not None and worker.stop_requested):
                return
            self._wait_for_redis()

    def _wait_for_redis(self) -> None:
        """Waits (at least one poll, so that a failing loop never spins) until Redis answers or a stop signal."""
        logger.warning("The work loop ended; it starts again as soon as Redis answers.")
        while not self._stop.wait(REDIS_POLL_SECONDS):
            if redis_answers():
                logger.warning("Redis answers: the work loop starts again.")
                return
