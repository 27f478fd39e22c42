"""Deliver: drain a gateway's due Pending messages, hand them to its backend, record every result.

A message is handed over at most once unless its gateway says otherwise: rows are claimed with a
conditional UPDATE (`Pending → Processing`, stamped with this run's claim token), and `handoff_at` is
written before the provider is called, so a run killed mid-call leaves evidence the sweeps can read.

A run is not tied to the request that created its messages: it takes whatever is due on its gateway,
highest priority first (an OTP accepted while a bulk send drains goes out in the next chunk), a chunk at a
time, for at most one slice of time; the caller (messaging.jobs) decides what follows.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection

from gateways.backends.base import Backend, BackendError, SendResult
from gateways.models import MAX_CONNECTIONS, Gateway
from gateways.services import record_gateway_error
from messaging import transitions
from messaging.models import Message

logger = logging.getLogger(__name__)

# Messages are claimed, sent and recorded a chunk at a time: a killed worker leaves at most one chunk per lane
# in doubt.
CHUNK = 50
WRITE_AHEAD = 2  # chunks sent but not yet written, per run
_pools: dict[str, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _pool(name: str, size: int) -> ThreadPoolExecutor:
    """A worker process's long-lived threads (lanes, the result writer): each keeps its database connection
    from one run to the next instead of opening a new one per run."""
    with _pools_lock:
        if name not in _pools:
            _pools[name] = ThreadPoolExecutor(max_workers=size, thread_name_prefix=name)
        return _pools[name]


def close_pools() -> None:
    """Ends the long-lived threads and their database connections (at shutdown, and between test sessions)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        size = pool._max_workers
        barrier = threading.Barrier(size)  # every thread takes exactly one of these tasks
        for future in [pool.submit(_close_own_connection, barrier) for _ in range(size)]:
            future.result()
        pool.shutdown()


def _close_own_connection(barrier: threading.Barrier) -> None:
    connection.close()
    barrier.wait(timeout=10)


def _in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    close_old_connections()  # a connection the database dropped since the last run is replaced
    return fn(*args)


def record_results(gateway: Gateway, messages: list[Message], results: list[SendResult]) -> list[Message]:
    """Writes a chunk's outcomes (messaging.transitions decides each move, refund and retry)."""
    return transitions.record_send_results(gateway=gateway, messages=messages, results=results)


def _batch_failure(messages: list[Message], error: str, permanent: bool, unknown: bool = False) -> list[SendResult]:
    return [SendResult(uid=m.uid, ok=False, transient=not permanent, unknown=unknown, error=error) for m in messages]


def _send_chunk(
    backend: Backend, gateway: Gateway, chunk: list[Message]
) -> tuple[list[SendResult], BackendError | None]:
    """Returns (results, error that stops the batch). An exception we cannot classify leaves the outcome unknown."""
    try:
        return backend.send(chunk), None
    except BackendError as exc:
        return _batch_failure(chunk, exc.message, exc.permanent), exc
    except Exception as exc:  # noqa: BLE001 — a provider call that blew up: we cannot tell what was sent
        logger.exception("Gateway %s raised while sending; outcome unknown", gateway.identifier)
        error = f"Outcome unknown: the gateway call failed ({type(exc).__name__})."
        return _batch_failure(chunk, error, permanent=False, unknown=True), BackendError(error, permanent=False)


class ResultWriter:
    """Writes each chunk's results on the process's writer thread while the next chunk is being sent, so the
    provider connection never waits for the database.

    Inside a caller's transaction (a test, a management shell) the results are written in line instead: they
    must belong to that transaction. After a crash the chunk whose results were still being written is
    among those the sweeps find in doubt ("Outcome unknown"): it was sent, so it is never sent again.
    """

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.inline = connection.in_atomic_block
        self.futures: list[Future[Any]] = []
        self.lock = threading.Lock()  # lanes write from their own threads

    def write(self, messages: list[Message], results: list[SendResult]) -> None:
        if not messages:
            return
        if self.inline:
            record_results(self.gateway, messages, results)
            return
        # At most WRITE_AHEAD chunks wait for the writer: a provider faster than the database (the console) must
        # not pile up a backlog of writes that holds the worker long past its slice when the run ends.
        with self.lock:
            waiting = [f for f in self.futures if not f.done()]
        while len(waiting) >= WRITE_AHEAD:
            waiting.pop(0).result()
        future = _pool("results", 1).submit(_in_thread, record_results, self.gateway, messages, results)
        with self.lock:
            self.futures.append(future)

    def close(self) -> None:
        for future in self.futures:
            future.result()  # re-raises a failed write here, in the job


@dataclass
class Drained:
    sent: int = 0
    claimed: int = 0  # messages taken in this run
    more: bool = False  # the slice ended with messages still due
    stopped: BackendError | None = None  # a gateway-wide failure ended the run


class _Drain:
    """What a run's lanes share: the deadline, and the first gateway-wide failure, which stops every lane."""

    def __init__(self, gateway: Gateway, seconds: float) -> None:
        self.gateway = gateway
        self.deadline = time.monotonic() + seconds
        self.lock = threading.Lock()
        self.outcome = Drained()
        self.empty = False

    def take(self) -> list[Message] | None:
        """The next chunk for a lane, or None when the run is over."""
        if self.outcome.stopped or self.empty:
            return None
        if time.monotonic() >= self.deadline:
            self.outcome.more = True
            return None
        chunk = transitions.claim_next(gateway_id=self.gateway.pk, limit=CHUNK)
        if len(chunk) < CHUNK:
            self.empty = True
        with self.lock:
            self.outcome.claimed += len(chunk)
        return chunk or None

    def stop(self, error: BackendError) -> bool:
        with self.lock:
            first, self.outcome.stopped = self.outcome.stopped is None, self.outcome.stopped or error
            return first


def _lane(drain: _Drain, writer: ResultWriter, first: list[Message] | None = None) -> int:
    """One sender: its own provider connection, taking chunks until the run is over; returns how many it sent."""
    gateway, sent = drain.gateway, 0
    backend = gateway.backend()
    try:
        while (chunk := first or drain.take()) is not None:
            first = None
            results, stop = _send_chunk(backend, gateway, chunk)
            writer.write(chunk, results)
            sent += sum(1 for r in results if r.ok)
            if stop is not None and drain.stop(stop):
                record_gateway_error(gateway_id=gateway.pk, error=stop.message)
                # The next of what no lane took was never handed over: it fails with the gateway or waits to retry.
                rest = transitions.claim_next(gateway_id=gateway.pk, limit=settings.XSENDER_BATCH_SIZE, handoff=False)
                writer.write(rest, _batch_failure(rest, stop.message, stop.permanent))
    finally:
        backend.close()
    return sent


def drain_gateway(*, gateway_id: int, seconds: float | None = None, gateway: Gateway | None = None) -> Drained:
    """Delivers the due Pending messages of gateway `gateway_id`, highest priority first, for at most
    `seconds` (XSENDER_DRAIN_SLICE_SECONDS); says whether messages are still due and whether the gateway failed.

    Works chunk by chunk: claim a chunk (stamped as handed over), send it, record it (on the writer thread).
    Once a chunk comes back full, up to `gateway.connections` lanes do this at once, each over its own provider
    connection, so one worker keeps the provider busy while it waits for answers. A run that dies leaves at
    most the chunks its lanes were sending and writing in doubt; the rest is still Pending for another run.
    `gateway`, when given, is the already loaded gateway `gateway_id` (a job draining it again).
    """
    gateway = gateway or Gateway.objects.filter(pk=gateway_id).first()
    if gateway is None:
        return Drained()
    drain = _Drain(gateway, settings.XSENDER_DRAIN_SLICE_SECONDS if seconds is None else seconds)
    writer = ResultWriter(gateway)
    try:
        first = drain.take()
        if first is None:
            return drain.outcome
        others = 0 if writer.inline or drain.empty else min(gateway.connections, MAX_CONNECTIONS) - 1
        lanes = [_pool("lane", MAX_CONNECTIONS).submit(_in_thread, _lane, drain, writer) for _ in range(others)]
        drain.outcome.sent = _lane(drain, writer, first) + sum(lane.result() for lane in lanes)
    finally:
        writer.close()
    return drain.outcome
