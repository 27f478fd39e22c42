"""Deliver: claim a batch, hand it to the gateway's backend, record every result.

A message is handed over at most once unless its gateway says otherwise: rows are claimed with a
conditional UPDATE (`Pending → Processing`, stamped with this run's claim token), and `handoff_at` is
written before the provider is called, so a run killed mid-call leaves evidence the sweeps can read.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.db import connection

from gateways.backends.base import Backend, BackendError, SendResult
from gateways.models import Gateway
from messaging import transitions
from messaging.models import Message

logger = logging.getLogger(__name__)

# Messages are claimed, sent and recorded a chunk at a time: a killed worker leaves at most one chunk in doubt.
CHUNK = 50


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


def _close_connection() -> None:
    connection.close()


class ResultWriter:
    """Writes each chunk's results on a thread of its own (own database connection) while the next chunk is
    being sent, so the provider connection never waits for the database.

    Inside a caller's transaction (a test, a management shell) the results are written in line instead: they
    must belong to that transaction. After a crash the chunk whose results were still being written is
    among those the sweeps find in doubt ("Outcome unknown"): it was sent, so it is never sent again.
    """

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.inline = connection.in_atomic_block
        self.executor = None if self.inline else ThreadPoolExecutor(max_workers=1, thread_name_prefix="results")
        self.futures: list[Future[Any]] = []

    def write(self, messages: list[Message], results: list[SendResult]) -> None:
        if not messages:
            return
        if self.executor is None:
            record_results(self.gateway, messages, results)
        else:
            self.futures.append(self.executor.submit(record_results, self.gateway, messages, results))

    def close(self) -> None:
        if self.executor is None:
            return
        try:
            for future in self.futures:
                future.result()  # re-raises a failed write here, in the job
        finally:
            self.executor.submit(_close_connection).result()  # the writer thread's own connection
            self.executor.shutdown()


class _Batch:
    """The chunks of one batch, handed out to its sender lanes one at a time; the first gateway-wide failure
    stops the hand-out and returns what was never taken."""

    def __init__(self, message_ids: list[int]) -> None:
        self.chunks = deque(message_ids[start : start + CHUNK] for start in range(0, len(message_ids), CHUNK))
        self.lock = threading.Lock()
        self.stopped = False

    def take(self) -> list[int] | None:
        with self.lock:
            return None if self.stopped or not self.chunks else self.chunks.popleft()

    def stop(self) -> list[int]:
        with self.lock:
            self.stopped = True
            rest = [pk for chunk in self.chunks for pk in chunk]
            self.chunks.clear()
            return rest


def _lane(gateway: Gateway, batch: _Batch, writer: ResultWriter) -> int:
    """One sender: its own provider connection, taking chunks until the batch is done; returns how many it sent."""
    backend = gateway.backend()
    sent = 0
    try:
        while (message_ids := batch.take()) is not None:
            chunk = transitions.claim_for_worker(gateway_id=gateway.pk, message_ids=message_ids)
            if not chunk:
                continue
            results, stop = _send_chunk(backend, gateway, chunk)
            writer.write(chunk, results)
            sent += sum(1 for r in results if r.ok)
            if stop is not None:
                # What no lane has taken yet was never handed over: it fails with the gateway, or waits to retry.
                rest = transitions.claim_for_worker(gateway_id=gateway.pk, message_ids=batch.stop(), handoff=False)
                writer.write(rest, _batch_failure(rest, stop.message, stop.permanent))
    finally:
        backend.close()
    return sent


def _thread_lane(gateway: Gateway, batch: _Batch, writer: ResultWriter) -> int:
    try:
        return _lane(gateway, batch, writer)
    finally:
        connection.close()  # this thread's own database connection


def deliver_batch(*, gateway_id: int, message_ids: list[int]) -> int:
    """Delivers the claimable messages among `message_ids` through gateway `gateway_id`; returns how many were sent.

    Works chunk by chunk: claim a chunk (stamped as handed over), send it, record it (on a writer thread).
    Up to `gateway.connections` lanes do this at once, each over its own provider connection, so one worker
    keeps the provider busy while it waits for answers. A run that dies leaves at most the chunks its lanes
    were sending and writing in doubt; the rest of its batch is still Pending for another run.
    """
    gateway = Gateway.objects.filter(pk=gateway_id).first()
    if gateway is None:
        return 0
    batch = _Batch(message_ids)
    writer = ResultWriter(gateway)
    lanes = 1 if writer.inline else max(1, min(gateway.connections, len(batch.chunks)))
    try:
        if lanes == 1:
            return _lane(gateway, batch, writer)
        with ThreadPoolExecutor(max_workers=lanes - 1, thread_name_prefix="lane") as pool:
            others = [pool.submit(_thread_lane, gateway, batch, writer) for _ in range(lanes - 1)]
            sent = _lane(gateway, batch, writer)
            return sent + sum(future.result() for future in others)
    finally:
        writer.close()
