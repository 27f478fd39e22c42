"""`Idempotency-Key` (IETF httpapi draft semantics): the first response to a key is replayed for 24 hours.

The record is committed before the request runs, so a concurrent duplicate sees it in flight (409). A
different request under the same key is a 422. A record left in flight by a crashed process is settled
from the messages it created (they carry the key), or released when there are none.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from messaging.models import IdempotencyRecord, Message
from xsender.errors import Conflict, Rejected, ValidationFailed

TTL = timedelta(hours=24)
ABANDONED_AFTER = timedelta(minutes=5)


@dataclass
class Outcome:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False


def fingerprint(method: str, path: str, payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def _existing(user: User, key: str, digest: str, rebuild: Callable[[list[Message]], Outcome]) -> Outcome | None:
    """The stored outcome for `key`, or None when the key is free (expired or abandoned)."""
    record = IdempotencyRecord.objects.filter(user=user, key=key).first()
    if record is None:
        return None
    now = timezone.now()
    if record.created_at < now - TTL:
        record.delete()
        return None
    if record.fingerprint != digest:
        raise Rejected("This Idempotency-Key was already used with a different request.")
    if record.status_code is not None:
        return Outcome(record.status_code, record.response or {}, replayed=True)
    if record.created_at > now - ABANDONED_AFTER:
        raise Conflict("A request with this Idempotency-Key is still being processed. Retry later.")
    messages = list(Message.objects.filter(user=user, idempotency_key=key).select_related("gateway").order_by("pk"))
    if messages:
        outcome = rebuild(messages)
        _finish(record, outcome)
        outcome.replayed = True
        return outcome
    record.delete()
    return None


def _finish(record: IdempotencyRecord, outcome: Outcome) -> None:
    if outcome.status_code >= 500:
        record.delete()  # a server error is not an answer: the client may retry with the same key
        return
    IdempotencyRecord.objects.filter(pk=record.pk).update(status_code=outcome.status_code, response=outcome.body)


def run_idempotent(
    *,
    user: User,
    key: str,
    digest: str,
    action: Callable[[], Outcome],
    rebuild: Callable[[list[Message]], Outcome],
) -> Outcome:
    """Runs `action` once per (user, key) and replays its outcome to later calls with the same request."""
    if len(key) > 255 or not key.strip():
        raise ValidationFailed.single("Idempotency-Key", "The Idempotency-Key header must be 1 to 255 characters.")
    for _ in range(3):
        stored = _existing(user, key, digest, rebuild)
        if stored is not None:
            return stored
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(user=user, key=key, fingerprint=digest)
            break
        except IntegrityError:
            continue  # someone else took the key between our read and insert: read it again
    else:
        raise Conflict("A request with this Idempotency-Key is still being processed. Retry later.")
    try:
        outcome = action()
    except BaseException:
        record.delete()
        raise
    _finish(record, outcome)
    return outcome
