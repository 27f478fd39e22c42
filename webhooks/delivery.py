"""Drain one endpoint: claim its due deliveries, POST them signed, record every attempt.

At least once: a claim stamps the rows' `next_attempt_at` with the end of a lease (XSENDER_WEBHOOK_LEASE_SECONDS)
and the results are written only under that stamp, so a worker killed mid-delivery leaves its rows due again
when the lease ends (the scheduler wakes the endpoint), and a run that stalled past its lease cannot overwrite
what another run recorded. Every retry carries the same `webhook-id`. After each failed attempt the delivery
waits XSENDER_WEBHOOK_RETRY_SCHEDULE[n] seconds; past the schedule it fails. An endpoint that has failed without
a single success for DISABLE_AFTER is disabled, and its owner sees why in the panel.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from webhooks.models import Attempt, Delivery, Endpoint
from webhooks.signing import Signer, live_secrets
from webhooks.transport import Answer, Target

CHUNK = 50
DISABLE_AFTER = timedelta(days=3)
DISABLED = "Disabled on {day}: every delivery failed for 3 days (last: {last})."
S = Delivery.Status


@dataclass
class Claimed:
    pk: int
    event_id: str
    body: str
    attempts: int


@dataclass
class Drained:
    delivered: int = 0
    failed: int = 0  # attempts that failed (retried or not)
    more: bool = False  # the slice ended with due deliveries left


_CLAIM = f"""
UPDATE {Delivery._meta.db_table} AS d SET next_attempt_at = %s
FROM (SELECT id FROM {Delivery._meta.db_table}
      WHERE endpoint_id = %s AND status = 'pending' AND next_attempt_at <= %s
      ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED) AS c
WHERE d.id = c.id
RETURNING d.id, d.event_id, d.payload::text, d.attempts
"""  # noqa: S608

_RECORD = f"""
UPDATE {Delivery._meta.db_table} AS d
SET status = v.status, attempts = d.attempts + 1, next_attempt_at = v.next_at, last_attempt_at = v.at,
    last_status_code = v.code, last_error = v.error, delivered_at = v.delivered_at
FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[], %s::timestamptz[], %s::int[], %s::text[],
            %s::timestamptz[]) AS v(id, status, next_at, at, code, error, delivered_at)
WHERE d.id = v.id AND d.status = 'pending' AND d.next_attempt_at = %s
RETURNING d.id
"""  # noqa: S608


def claim(*, endpoint_id: int, limit: int = CHUNK) -> tuple[list[Claimed], datetime]:
    """Takes the endpoint's next due deliveries for this run; returns them and the lease stamp they hold."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.XSENDER_WEBHOOK_LEASE_SECONDS)
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM, [lease, endpoint_id, now, limit])
        rows = [Claimed(*row) for row in cursor.fetchall()]
    rows.sort(key=lambda row: row.pk)
    return rows, lease


def retry_delay(attempts: int) -> timedelta | None:
    """The wait after the `attempts`-th failed attempt; None once the schedule is spent."""
    schedule = settings.XSENDER_WEBHOOK_RETRY_SCHEDULE
    return timedelta(seconds=schedule[attempts - 1]) if attempts <= len(schedule) else None


def _outcome(row: Claimed, answer: Answer, now: datetime) -> tuple[str, datetime, datetime | None]:
    """(status, next_attempt_at, delivered_at) after this attempt."""
    if answer.ok:
        return S.DELIVERED, now, now
    delay = retry_delay(row.attempts + 1)
    return (S.PENDING, now + delay, None) if delay is not None else (S.FAILED, now, None)


def _error(answer: Answer) -> str:
    return (answer.error or ("" if answer.ok else f"HTTP {answer.status}"))[:300]


def record(*, rows: list[Claimed], answers: list[Answer], lease: datetime) -> set[int]:
    """Writes the attempts' outcomes and their log, only for rows this run still holds; returns their ids.
    Rows without an answer (the run ran short of its lease) are given back, due now, without an attempt."""
    now = timezone.now()
    tried = rows[: len(answers)]
    columns: list[list[object]] = [[], [], [], [], [], [], []]
    for row, answer in zip(tried, answers, strict=True):
        status, next_at, delivered_at = _outcome(row, answer, now)
        values = (row.pk, status, next_at, now, answer.status, _error(answer), delivered_at)
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    with transaction.atomic():
        written: set[int] = set()
        if tried:
            with connection.cursor() as cursor:
                cursor.execute(_RECORD, [*columns, lease])
                written = {pk for (pk,) in cursor.fetchall()}
        Attempt.objects.bulk_create(
            Attempt(delivery_id=row.pk, at=now, status_code=answer.status, duration_ms=answer.duration_ms,
                    response=answer.response, error=_error(answer)[:300])
            for row, answer in zip(tried, answers, strict=True) if row.pk in written
        )  # fmt: skip
        untried = [row.pk for row in rows[len(answers) :]]
        if untried:
            Delivery.objects.filter(pk__in=untried, status=S.PENDING, next_attempt_at=lease).update(next_attempt_at=now)
    return written


def note_health(endpoint: Endpoint, answers: list[Answer]) -> None:
    """Tracks how long the endpoint has failed without a success; past DISABLE_AFTER it is disabled."""
    if not answers:
        return
    now, last = timezone.now(), answers[-1]
    if any(answer.ok for answer in answers):
        if endpoint.failing_since is not None:
            endpoint.failing_since = None
            Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
        if last.ok:
            return
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
    elif now - endpoint.failing_since >= DISABLE_AFTER:
        reason = DISABLED.format(day=f"{now:%Y-%m-%d}", last=_error(last))[:200]
        Endpoint.objects.filter(pk=endpoint.pk, enabled=True).update(enabled=False, disabled_reason=reason)
        endpoint.enabled = False


class Sender:
    """An endpoint's checked target and signer, for one drain."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.target = Target(endpoint.url)
        self.signer = Signer(live_secrets(endpoint.secrets, timezone.now()))

    def post_all(self, rows: list[Claimed], lease: datetime) -> list[Answer]:
        """POSTs `rows` in order; stops early (leaving the rest unanswered) when one more POST could outlast the
        lease, so that no row is posted by two runs at once."""
        answers = []
        lease_left = (lease - timezone.now()).total_seconds()
        started = time.monotonic()
        for row in rows:
            if time.monotonic() - started + self.target.timeout + 1 > lease_left:
                break
            body = row.body.encode()
            answers.append(self.target.post(body, self.signer.headers(row.event_id, row.body)))
        return answers

    def close(self) -> None:
        self.target.close()


def drain_endpoint(*, endpoint_id: int, seconds: float) -> Drained:
    """Delivers the endpoint's due events, a chunk at a time, for about `seconds`."""
    outcome = Drained()
    endpoint = Endpoint.objects.filter(pk=endpoint_id, enabled=True).first()
    if endpoint is None:
        return outcome  # gone or disabled: its deliveries wait (a re-enabled endpoint gets them)
    deadline = time.monotonic() + seconds
    sender = Sender(endpoint)
    try:
        while endpoint.enabled:
            rows, lease = claim(endpoint_id=endpoint.pk)
            if not rows:
                return outcome
            answers = sender.post_all(rows, lease)
            record(rows=rows, answers=answers, lease=lease)
            note_health(endpoint, answers)
            outcome.delivered += sum(answer.ok for answer in answers)
            outcome.failed += sum(not answer.ok for answer in answers)
            if time.monotonic() >= deadline or len(answers) < len(rows):
                outcome.more = True
                return outcome
    finally:
        sender.close()
    return outcome
