"""Deliver: claim a batch, hand it to the gateway's backend, record every result.

A message is handed over at most once unless its gateway says otherwise: rows are claimed with a
conditional UPDATE (`Pending → Processing`, stamped with this run's claim token), and `handoff_at` is
written before the provider is called, so a run killed mid-call leaves evidence the sweeps can read.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from gateways.backends.base import Backend, BackendError, SendResult
from gateways.models import Gateway
from messaging.bulk import claim_rows, update_results
from messaging.models import Message, MessageEvent, Status
from messaging.services import refund_failed

logger = logging.getLogger(__name__)

# Messages are claimed, sent and recorded a chunk at a time: a killed worker leaves at most one chunk in doubt.
CHUNK = 50


def claim(*, gateway_id: int, message_ids: list[int], handoff: bool = True) -> list[Message]:
    """Takes the still-pending, due messages among `message_ids`; another run can never take the same rows.

    With `handoff` the rows are also stamped as being handed to the provider now: if this run dies before
    recording their results, the sweeps know their outcome is unknown.
    """
    token = uuid.uuid4()
    now = timezone.now()
    changes = {
        "status": Status.PROCESSING,
        "claim_token": token,
        "processing_at": now,
        "lease_expires_at": now + timedelta(seconds=settings.XSENDER_LEASE_SECONDS),
        "attempts": 1,  # an increment
        "handoff_at": now if handoff else None,
        "updated_at": now,
    }
    claimed = claim_rows(gateway_id=gateway_id, message_ids=message_ids, changes=changes)
    if claimed is not None:
        return claimed
    Message.objects.filter(pk__in=message_ids, gateway_id=gateway_id, status=Status.PENDING).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    ).update(**{**changes, "attempts": F("attempts") + 1})
    return list(Message.objects.filter(pk__in=message_ids, claim_token=token).order_by("pk"))


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, settings.XSENDER_RETRY_BACKOFF * 2 ** max(0, attempts - 1)))


def _apply(message: Message, result: SendResult, now: timezone.datetime) -> str:
    """Sets the outcome of one result on `message`; returns the event kind."""
    message.claim_token = None
    message.lease_expires_at = None
    message.updated_at = now
    message.gateway_response = result.raw or {}
    if result.ok:
        message.status, message.sent_at = Status.SENT, now
        message.provider_message_id, message.error = result.provider_message_id or "", ""
        return "sent"
    message.error = result.error[:2000]
    if result.transient and message.attempts < settings.XSENDER_MAX_ATTEMPTS:
        message.status, message.handoff_at = Status.PENDING, None
        message.next_attempt_at = now + backoff(message.attempts)
        return "retry"
    message.status, message.failed_at = Status.FAILED, now
    return "failed"


def record_results(messages: list[Message], results: list[SendResult]) -> list[Message]:
    """Writes the outcome of a chunk (one UPDATE, one INSERT of events for failures) and refunds failures."""
    by_uid = {str(r.uid): r for r in results}
    now = timezone.now()
    events = []
    for message in messages:
        result = by_uid.get(str(message.uid)) or SendResult(
            uid=message.uid, ok=False, transient=True, error="The gateway returned no result for this message."
        )
        kind = _apply(message, result, now)
        if kind != "sent":  # a send is recorded by sent_at; events keep what went wrong, and later tracking
            events.append(MessageEvent(message=message, kind=kind, at=now, payload={"error": message.error}))
    with transaction.atomic():
        update_results(messages)
        if events:
            MessageEvent.objects.bulk_create(events)
        refund_failed(m for m in messages if m.status == Status.FAILED)
    return messages


def _batch_failure(messages: list[Message], error: str, permanent: bool) -> list[SendResult]:
    return [SendResult(uid=m.uid, ok=False, transient=not permanent, error=error) for m in messages]


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
        if not gateway.retry_unknown_outcome:
            error += " Not resent, to avoid a duplicate."
        return _batch_failure(chunk, error, not gateway.retry_unknown_outcome), BackendError(error, permanent=False)


def _close_connection() -> None:
    connection.close()


class ResultWriter:
    """Writes each chunk's results on a thread of its own (own database connection) while the next chunk is
    being sent, so the provider connection never waits for the database.

    Inside a caller's transaction (a test, a management shell) the results are written in line instead: they
    must belong to that transaction. After a crash the chunk whose results were still being written is
    among those the sweeps find in doubt ("Outcome unknown"): it was sent, so it is never sent again.
    """

    def __init__(self) -> None:
        self.inline = connection.in_atomic_block
        self.executor = None if self.inline else ThreadPoolExecutor(max_workers=1, thread_name_prefix="results")
        self.futures: list[Future[Any]] = []

    def write(self, messages: list[Message], results: list[SendResult]) -> None:
        if not messages:
            return
        if self.executor is None:
            record_results(messages, results)
        else:
            self.futures.append(self.executor.submit(record_results, messages, results))

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
            chunk = claim(gateway_id=gateway.pk, message_ids=message_ids)
            if not chunk:
                continue
            results, stop = _send_chunk(backend, gateway, chunk)
            writer.write(chunk, results)
            sent += sum(1 for r in results if r.ok)
            if stop is not None:
                # What no lane has taken yet was never handed over: it fails with the gateway, or waits to retry.
                rest = claim(gateway_id=gateway.pk, message_ids=batch.stop(), handoff=False)
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
    writer = ResultWriter()
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
