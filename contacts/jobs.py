"""RQ entry points of the audience: contact imports run on the `low` queue (bulk work), woken after commit.

The ImportJob row is the truth and the queue only a wake-up: a lost or duplicated job is harmless (the run claims
the row with a lease), and the scheduler's sweep (registered in contacts.apps) wakes imports whose run was lost.
A run of more than one chunk opens two database connections besides the worker's own (contacts.imports._Lanes),
closed when it ends.
"""

from __future__ import annotations

import django_rq
from django.db import transaction

from contacts.imports import lost_imports, run_import
from xsender.redis import get_redis

QUEUE = "low"
JOB_TIMEOUT = 3 * 3600  # 1,000,000 rows take 50–70 s on 2 shared cores; a slow disk or a busy database, longer


def import_job(job_id: int) -> None:
    run_import(job_id)


def enqueue_import(job_id: int) -> None:
    """Queues the import's run once the current transaction commits (a job never outruns its row)."""

    def enqueue() -> None:
        queue = django_rq.get_queue(QUEUE, connection=get_redis())
        queue.enqueue(import_job, job_id, job_timeout=JOB_TIMEOUT, result_ttl=0)

    transaction.on_commit(enqueue)


def wake_lost_imports() -> dict[str, int]:
    """The scheduler's sweep: queues again every import whose wake-up was lost or whose worker died."""
    lost = lost_imports()
    for job_id in lost:
        enqueue_import(job_id)
    return {"imports_woken": len(lost)} if lost else {}
