"""Importing contacts from a CSV or XLSX file: reading it, mapping its columns, and running the import in chunks.

The run (run_import) claims its ImportJob with a lease, then takes the file's rows in chunks of CHUNK. Each chunk
is one transaction: its new contacts copied (COPY) into a temporary staging table and inserted from it with one
INSERT … ON CONFLICT DO NOTHING that also joins them to the job's list and tags; for the rows that met a contact,
one lookup by email and by phone and one UPDATE … FROM unnest that joins them too; and the job's checkpoint
(`rows_processed`, counts, report) advanced — so a worker killed at any point leaves the job at its last committed
chunk, and the next run (the scheduler's sweep once the lease ends) skips the rows already counted: no contact is
made twice. A row that cannot be imported is skipped with its reason; it never fails the import.

Three threads share the work (each step measured on a 2-core machine, docs/performance.md): one reads and checks
the next chunk (Python) while two connections write — chunk i's statements run while chunk i-1 commits (its
deferred foreign-key checks, half of a chunk's database time). The chunks still commit in the file's order, each
with its checkpoint, and each looks up existing contacts only once the one before it committed: the same result
as one step after the other.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import logging
import os
import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from itertools import islice
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from contacts import values
from contacts.models import CustomField, ImportJob
from xsender.errors import ValidationFailed
from xsender.public_ids import ALPHABET, LENGTH
from xsender.spreadsheet import from_spreadsheet

logger = logging.getLogger(__name__)
MAX_ROWS = 1_000_000
MAX_COLUMNS = 100
CHUNK = 5_000
REPORT_LIMIT = 1_000
LEASE = timedelta(minutes=5)  # a run renews it with every chunk; a run silent for longer is taken as dead
PASSES = 3
FIELDS = ("email", "phone", "first_name", "last_name", "company", "time_zone")
ALIASES = {"timezone": "time_zone"}  # a column named so maps to the field by default too


# Random bytes 0–247 read as base 62 digits (248 = 4 × 62: every digit equally likely); 248–255 are dropped.
_DIGITS = bytes.maketrans(bytes(range(248)), (ALPHABET * 4).encode())
_DROPPED = bytes(range(248, 256))
SHARED = 4  # of a chunk's ids' 22 digits, drawn once for the chunk


def _public_ids(count: int) -> list[str]:
    """`count` contact ids of xsender.public_ids' shape (22 uniformly random base 62 digits), a hundred times faster
    than new_public_id: one urandom call, bytes mapped to digits by one translate. The first SHARED digits are
    drawn once for all `count`: a chunk's ids then sit side by side in the unique index of public ids instead of
    on thousands of random pages (each a full-page image in the WAL after a checkpoint: measured, 3,900 of them
    for 5,000 rows and 28 MB of WAL, against 200 and 6 MB). Every id still has 131 random bits, and 107 of them
    are its own: knowing one id of an import does not help guess another."""
    digits = b""
    while len(digits) < SHARED + count * (LENGTH - SHARED):
        digits += os.urandom(count * LENGTH + 64).translate(_DIGITS, _DROPPED)
    text = digits.decode()
    prefix, own = "contact_" + text[:SHARED], LENGTH - SHARED
    return [prefix + text[SHARED + i * own : SHARED + (i + 1) * own] for i in range(count)]


class FileRefused(ValidationFailed):
    def __init__(self, message: str) -> None:
        super().__init__([{"field": "file", "message": message}], message=message)


# ---------------------------------------------------------------- reading


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a number typed in a spreadsheet cell (15555550123.0)
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10] if not getattr(value, "hour", 0) else value.isoformat()
    return str(value)


def is_xlsx(filename: str) -> bool:
    return filename.lower().endswith(".xlsx")


def check_file(filename: str) -> None:
    if not filename.lower().endswith((".csv", ".txt", ".xlsx")):
        raise FileRefused("Upload a .csv or .xlsx file.")


def sniff_delimiter(sample: bytes) -> str:
    try:
        return csv.Sniffer().sniff(sample[:4096].decode("utf-8-sig", "ignore"), delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def _lines(filename: str, data: bytes, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(row number in the file, cells) for every row, the header first. `data` is gzip-compressed."""
    if is_xlsx(filename):
        from openpyxl import load_workbook  # imported when a spreadsheet arrives: a large module

        try:
            book = load_workbook(io.BytesIO(gzip.decompress(data)), read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 — any unreadable spreadsheet is the same answer
            raise FileRefused(f"This is not a readable XLSX file ({type(exc).__name__}).") from None
        for number, row in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1):
            yield number, [_text(v) for v in row]
        return
    text = io.TextIOWrapper(gzip.GzipFile(fileobj=io.BytesIO(data)), encoding="utf-8-sig", newline="")
    reader = csv.reader(text, delimiter=delimiter or ",")
    try:
        for cells in reader:
            yield reader.line_num, cells
    except UnicodeDecodeError:
        raise FileRefused("The CSV file must be UTF-8 encoded.") from None


def headers_of(filename: str, data: bytes, delimiter: str) -> list[str]:
    """The names of the file's columns (its first row); FileRefused when it has none or too many."""
    first = next(_lines(filename, data, delimiter), None)
    names = [c.strip() for c in first[1]] if first else []
    while names and not names[-1]:
        names.pop()
    if not names:
        raise FileRefused("The file is empty: its first row must name the columns.")
    if len(names) > MAX_COLUMNS:
        raise FileRefused(f"At most {MAX_COLUMNS} columns.")
    return names


def data_rows(job: ImportJob) -> Iterator[tuple[int, list[str]]]:
    """The file's rows after the header, blank ones left out (they are not counted either)."""
    lines = _lines(job.filename, bytes(job.data), job.delimiter)
    next(lines, None)
    return ((n, cells) for n, cells in lines if "".join(cells).strip())  # a cell not blank: one C call a row


# ---------------------------------------------------------------- mapping


def _plain(header: str) -> str:
    """The field a column is named after: case and spaces ignored, aliases followed."""
    key = header.strip().lower().replace(" ", "_")
    return ALIASES.get(key, key)


def check_mapping(*, headers: list[str], mapping: dict[str, str] | None, fields: list[CustomField]) -> dict[str, str]:
    """Column → target (email, phone, first_name, last_name, company, time_zone, custom.<field id>), by default
    the columns named like a target (case and spaces ignored; `timezone` too; custom fields by name). Raises
    ValidationFailed naming `mapping.<column>` or `mapping`."""
    by_key = {f.public_id: f for f in fields} | {f.name.lower(): f for f in fields}
    if mapping is None:
        plain = {_plain(h): h for h in headers}
        mapping = {plain[f]: f for f in FIELDS if f in plain}
        mapping |= {h: f"custom.{by_key[h.lower()].public_id}" for h in headers if h.lower() in by_key}
    clean, errors = {}, []
    for column, target in mapping.items():
        key = target.removeprefix("custom.")
        if column not in headers:
            errors.append({"field": f"mapping.{column}", "message": "The file has no such column."})
        elif target in FIELDS:
            clean[column] = target
        elif target.startswith("custom.") and (key in by_key or key.lower() in by_key):
            clean[column] = f"custom.{(by_key.get(key) or by_key[key.lower()]).public_id}"
        elif target:
            errors.append({"field": f"mapping.{column}", "message": f"Unknown field {target!r}."})
    targets = list(clean.values())
    for column, target in clean.items():
        if targets.count(target) > 1:
            errors.append({"field": f"mapping.{column}", "message": f"Another column is mapped to {target}."})
    if not errors and not {"email", "phone"} & set(targets):
        errors.append({"field": "mapping", "message": "Map a column to email or phone."})
    if errors:
        raise ValidationFailed(errors, message=errors[0]["message"])
    return clean


# ---------------------------------------------------------------- rows to contacts


@dataclass
class Entry:
    """One contact to write, from one or more rows of the chunk (the same email or phone merges)."""

    rows: list[int]
    email: str
    phone: str
    names: dict[str, str]
    custom: dict[str, Any]
    contact_id: int | None = None


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)


class _Skip(Exception):
    pass


def parse_row(cells: list[str], plan: list[tuple[int, str]], fields: dict[str, CustomField]) -> dict[str, Any]:
    """The row's values by target, checked; _Skip with the reason for a row that cannot be imported."""
    row: dict[str, Any] = {"email": "", "phone": "", "names": {}, "custom": {}}
    for index, target in plan:
        cell = from_spreadsheet(cells[index].strip()) if index < len(cells) else ""  # our export's quote off
        if not cell:
            continue
        try:
            if target == "email":
                row["email"] = values.check_email(cell)
            elif target == "phone":
                row["phone"] = values.check_phone(cell)
            elif target == "time_zone":
                row["names"][target] = values.check_time_zone(cell)
            elif target in FIELDS:
                row["names"][target] = values.check_text(cell, target)
            else:
                custom = fields[target.removeprefix("custom.")]
                row["custom"][custom.public_id] = values.typed_value(custom, cell)
        except ValidationFailed as exc:
            raise _Skip(f"{target}: {exc.message}") from None
        except ValueError:
            raise _Skip(f"{custom.name}: {values.value_error(custom)}") from None
    if not row["email"] and not row["phone"]:
        raise _Skip("No email address or phone number.")
    return row


def merge_rows(rows: list[tuple[int, dict[str, Any]]], outcome: Outcome) -> list[Entry]:
    """One entry per contact of the chunk: a later row with the email or phone of an earlier one merges into it
    (its non-empty values win); one that has the email of one and the phone of another is skipped."""
    entries: list[Entry] = []
    by_email: dict[str, Entry] = {}
    by_phone: dict[str, Entry] = {}
    for number, row in rows:
        first = by_email.get(row["email"]) if row["email"] else None
        second = by_phone.get(row["phone"]) if row["phone"] else None
        if first and second and first is not second:
            outcome.skipped.append((number, "The phone number belongs to another row's contact in the file."))
            continue
        entry = first or second
        if entry is None:
            entry = Entry([number], row["email"], row["phone"], row["names"], row["custom"])
            entries.append(entry)
        else:
            entry.rows.append(number)
            entry.email, entry.phone = row["email"] or entry.email, row["phone"] or entry.phone
            entry.names |= row["names"]
            entry.custom |= row["custom"]
        for index, key in ((by_email, entry.email), (by_phone, entry.phone)):
            if key:
                index[key] = entry
    return entries


# ---------------------------------------------------------------- the chunk's SQL

_MATCH = """
SELECT i.n,
    (SELECT c.id FROM contacts_contact c WHERE c.owner_id = %(owner)s AND c.email = i.email AND c.email <> ''),
    (SELECT c.id FROM contacts_contact c WHERE c.owner_id = %(owner)s AND c.phone = i.phone AND c.phone <> '')
FROM unnest(%(n)s::int[], %(email)s::text[], %(phone)s::text[]) AS i(n, email, phone)
"""
# The contacts a statement wrote (`written`) join the job's list and tags in that statement (`joined_…`).
# A field left empty keeps the stored value; custom values merge (identify_contact's rules).
_UPDATE = """
WITH written AS (
    UPDATE contacts_contact c SET
        email = CASE WHEN v.email <> '' THEN v.email ELSE c.email END,
        phone = CASE WHEN v.phone <> '' THEN v.phone ELSE c.phone END,
        first_name = coalesce(v.first_name, c.first_name),
        last_name = coalesce(v.last_name, c.last_name),
        company = coalesce(v.company, c.company),
        time_zone = coalesce(v.time_zone, c.time_zone),
        custom = c.custom || v.custom::jsonb,
        updated_at = %(now)s
    FROM unnest(%(id)s::bigint[], %(email)s::text[], %(phone)s::text[], %(first_name)s::text[],
        %(last_name)s::text[], %(company)s::text[], %(time_zone)s::text[], %(custom)s::text[])
        AS v(id, email, phone, first_name, last_name, company, time_zone, custom)
    WHERE c.id = v.id AND c.owner_id = %(owner)s
    RETURNING c.id
),
joined_list AS (
    INSERT INTO contacts_contact_lists (contact_id, contactlist_id)
    SELECT w.id, l.id FROM written w, contacts_contactlist l WHERE l.id = %(list)s AND l.owner_id = %(owner)s
    ON CONFLICT DO NOTHING
),
joined_tags AS (
    INSERT INTO contacts_contact_tags (contact_id, tag_id)
    SELECT w.id, t.id FROM written w, contacts_tag t WHERE t.id = ANY(%(tags)s::bigint[]) AND t.owner_id = %(owner)s
    ON CONFLICT DO NOTHING
)
SELECT count(*) FROM written
"""
# The chunk's new contacts are copied (COPY: no quoting of each value in Python) into a temporary table of the
# session, then inserted from it — and it emptied — in one statement. Staging is one round trip (no parameters:
# several statements may go together). `synchronous_commit` is off for the chunk's transaction: its COMMIT
# returns before its WAL is flushed, which the WAL writer does meanwhile. A crash of the database server may lose
# the last chunks committed so, each with its own checkpoint (atomically): the run resumes before them, and
# nothing is lost or made twice. A worker's crash changes nothing (the server has the commit).
_STAGE = """
SET LOCAL synchronous_commit TO off;
CREATE TEMPORARY TABLE IF NOT EXISTS contacts_import_stage (public_id text, email text, phone text,
    first_name text, last_name text, company text, time_zone text, custom jsonb) ON COMMIT DELETE ROWS
"""
_STAGE_COPY = (
    "COPY contacts_import_stage (public_id, email, phone, first_name, last_name, company, time_zone, custom) FROM STDIN"
)
_INSERT = """
WITH staged AS (DELETE FROM contacts_import_stage RETURNING *),
written AS (
    INSERT INTO contacts_contact (public_id, owner_id, email, phone, first_name, last_name, company, time_zone,
        custom, email_status, sms_status, whatsapp_status, created_at, updated_at)
    SELECT v.public_id, %(owner)s, v.email, v.phone, coalesce(v.first_name, ''), coalesce(v.last_name, ''),
        coalesce(v.company, ''), coalesce(v.time_zone, ''), v.custom, 'subscribed', 'subscribed', 'subscribed',
        %(now)s, %(now)s
    FROM staged v
    ON CONFLICT DO NOTHING
    RETURNING public_id, id
),
joined_list AS (
    INSERT INTO contacts_contact_lists (contact_id, contactlist_id)
    SELECT w.id, l.id FROM written w, contacts_contactlist l WHERE l.id = %(list)s AND l.owner_id = %(owner)s
),
joined_tags AS (
    INSERT INTO contacts_contact_tags (contact_id, tag_id)
    SELECT w.id, t.id FROM written w, contacts_tag t WHERE t.id = ANY(%(tags)s::bigint[]) AND t.owner_id = %(owner)s
)
SELECT public_id, id FROM written
"""
# The memberships of contacts this statement made need no ON CONFLICT: nobody else can see those contacts yet,
# and each pair comes once (one list row, each tag row once however often the array names it). Without it their
# rows skip the unique indexes' look-ups before the insert and the speculative insertion's extra WAL record.


def _columns(entries: list[Entry]) -> dict[str, list[Any]]:
    return {
        "email": [e.email for e in entries],
        "phone": [e.phone for e in entries],
        **{name: [e.names.get(name) for e in entries] for name in FIELDS[2:]},
        "custom": [json.dumps(e.custom) for e in entries],
    }


def _match(cursor: Any, owner: User, entries: list[Entry], outcome: Outcome) -> tuple[list[Entry], list[Entry]]:
    """(entries of existing contacts, new ones); an entry whose email and phone are two contacts' is skipped."""
    params = {"owner": owner.pk, "n": list(range(len(entries))), **_columns(entries)}
    cursor.execute(_MATCH, {k: params[k] for k in ("owner", "n", "email", "phone")})
    existing, new, taken = [], [], set()
    for n, by_email, by_phone in cursor.fetchall():
        entry = entries[n]
        if by_email and by_phone and by_email != by_phone:
            outcome.skipped += [(row, "The phone number belongs to another contact.") for row in entry.rows]
        elif (by_email or by_phone) in taken:
            new.append(entry)  # two entries for one contact (found by email, and by phone): next pass
        elif by_email or by_phone:
            entry.contact_id = by_email or by_phone
            taken.add(entry.contact_id)
            existing.append(entry)
        else:
            new.append(entry)
    return existing, new


def _stage(cursor: Any, ids: list[str], entries: list[Entry]) -> None:
    """The entries into the session's staging table (empty: the insert that reads it empties it, a rollback too)."""
    cursor.execute(_STAGE)
    with cursor.cursor.copy(_STAGE_COPY) as copy:  # psycopg's own cursor: Django's has no COPY
        for public_id, e in zip(ids, entries, strict=True):
            names = e.names
            copy.write_row(
                (public_id, e.email, e.phone, names.get("first_name"), names.get("last_name"), names.get("company"),
                 names.get("time_zone"), json.dumps(e.custom))
            )  # fmt: skip


def _insert(cursor: Any, job: ImportJob, entries: list[Entry], outcome: Outcome, now: Any) -> list[Entry]:
    """Inserts the entries (and joins them to the job's list and tags); returns those that met a contact of the
    tenant with their email or phone. The unique indexes decide (ON CONFLICT), not a lookup: a new tenant's
    planner statistics cannot mislead it."""
    ids = _public_ids(len(entries))
    _stage(cursor, ids, entries)
    cursor.execute(_INSERT, {"owner": job.owner_id, "now": now, **_members(job)})
    inserted = dict(cursor.fetchall())
    left = []
    for public_id, entry in zip(ids, entries, strict=True):
        if public_id in inserted:
            outcome.created += 1
            outcome.updated += len(entry.rows) - 1
        else:
            left.append(entry)
    return left


def _members(job: ImportJob) -> dict[str, Any]:
    return {"list": job.contact_list_id, "tags": job.tag_ids}


def _write(cursor: Any, job: ImportJob, entries: list[Entry], outcome: Outcome, settle: Callable[[], None]) -> None:
    """Upserts the chunk's entries, joining them to the job's list and tags: inserts them, then merges those whose
    email or phone a contact has into it; an entry whose contact went meanwhile is tried again (PASSES).
    `settle()` returns once the previous chunk is committed (_Lanes): the lookup must see it."""
    now, owner = timezone.now(), job.owner
    for _ in range(PASSES):
        entries = _insert(cursor, job, entries, outcome, now) if entries else []
        if not entries:
            return
        settle()
        existing, entries = _match(cursor, owner, entries, outcome)
        if existing:
            ids = [e.contact_id for e in existing]
            params = {"owner": owner.pk, "now": now, "id": ids, **_columns(existing), **_members(job)}
            cursor.execute(_UPDATE, params)
            outcome.updated += sum(len(e.rows) for e in existing)
    outcome.skipped += [
        (row, "The contact changed during the import; import the row again.") for e in entries for row in e.rows
    ]


# ---------------------------------------------------------------- the run


class LostClaim(Exception):
    """Another run holds the job now (this one stalled past its lease)."""


def _claim(job_id: int) -> uuid.UUID | None:
    token, now = uuid.uuid4(), timezone.now()
    free = Q(status=ImportJob.Status.QUEUED) | Q(status=ImportJob.Status.RUNNING, lease_expires_at__lt=now)
    taken = ImportJob.objects.filter(free, pk=job_id).update(
        status=ImportJob.Status.RUNNING, claim_token=token, lease_expires_at=now + LEASE
    )
    return token if taken else None


def _checkpoint(job: ImportJob, token: uuid.UUID, rows: int, outcome: Outcome) -> None:
    """Advances the job past the chunk (in the chunk's transaction); LostClaim when another run holds it."""
    room = max(0, REPORT_LIMIT - len(job.report))
    job.report += [{"row": row, "reason": reason} for row, reason in sorted(outcome.skipped)[:room]]
    job.rows_processed += rows
    job.rows_created += outcome.created
    job.rows_updated += outcome.updated
    job.rows_skipped += len(outcome.skipped)
    changed = ImportJob.objects.filter(pk=job.pk, claim_token=token).update(
        rows_processed=job.rows_processed, rows_created=job.rows_created, rows_updated=job.rows_updated,
        rows_skipped=job.rows_skipped, report=job.report, lease_expires_at=timezone.now() + LEASE,
    )  # fmt: skip
    if not changed:
        raise LostClaim


def parse_chunk(rows: list[tuple[int, list[str]]], plan: Any, fields: Any) -> tuple[list[Entry], Outcome]:
    """The chunk's rows checked and merged into entries; the skipped ones in the outcome. No query."""
    outcome = Outcome()
    parsed = []
    for number, cells in rows:
        try:
            parsed.append((number, parse_row(cells, plan, fields)))
        except _Skip as skip:
            outcome.skipped.append((number, str(skip)))
    return merge_rows(parsed, outcome), outcome


def write_chunk(
    job: ImportJob, token: uuid.UUID, rows: int, entries: list[Entry], outcome: Outcome, turn: _Turn | None = None
) -> None:
    """The chunk's entries upserted, joined to the list and tags, and the checkpoint advanced past its `rows` —
    all in one transaction, in a constant number of statements: three and a COPY for new contacts (staging, the
    insert, the checkpoint); two more when some existed (the lookup, the update); more if contacts changed meanwhile.
    With a `turn` (_Lanes), the chunk keeps its place among chunks written by other connections."""
    if turn is None:
        with transaction.atomic(), connection.cursor() as cursor:
            _write(cursor, job, entries, outcome, lambda: None)
            _checkpoint(job, token, rows, outcome)
        return
    turn.wait_written()
    with transaction.atomic(), connection.cursor() as cursor:
        _write(cursor, job, entries, outcome, turn.wait_committed)
        turn.written()
        turn.wait_committed()
        _checkpoint(job, token, rows, outcome)
    turn.committed()


def import_chunk(job: ImportJob, token: uuid.UUID, rows: list[tuple[int, list[str]]], plan: Any, fields: Any) -> None:
    entries, outcome = parse_chunk(rows, plan, fields)
    write_chunk(job, token, len(rows), entries, outcome)


def _finish(job: ImportJob, token: uuid.UUID, status: str, error: str = "") -> None:
    ImportJob.objects.filter(pk=job.pk, claim_token=token).update(
        status=status, error=error, data=b"", claim_token=None, lease_expires_at=None, finished_at=timezone.now()
    )


def _prepare(job: ImportJob, token: uuid.UUID) -> None:
    if job.rows_total is None:
        job.rows_total = sum(1 for _ in data_rows(job))
        if job.rows_total > MAX_ROWS:
            raise FileRefused(f"At most {MAX_ROWS:,} rows per import; split the file.")
        ImportJob.objects.filter(pk=job.pk, claim_token=token).update(
            rows_total=job.rows_total, started_at=timezone.now()
        )


class _Stopped(Exception):
    pass


def _parsed_chunks(job: ImportJob, plan: Any, fields: Any) -> Iterator[tuple[int, list[Entry], Outcome]]:
    """(rows read, entries, outcome) of each chunk after the last committed one: the file read and the rows
    checked and merged — no query, so another thread may run it while this one writes the previous chunk."""
    rows = islice(data_rows(job), job.rows_processed, None)
    while chunk := list(islice(rows, CHUNK)):
        yield (len(chunk), *parse_chunk(chunk, plan, fields))


class _ReadAhead:
    """The items of `produce()` made by a thread of their own, at most AHEAD ready beyond the one in use: the
    next chunk is read and checked (Python) while this thread waits for PostgreSQL to write the current one (the
    driver releases the GIL meanwhile), so the two cores work at once. Items come in order; the thread's
    exception comes where its item would have (after every earlier item, as in a run without it). The thread
    never queries: Django's connection stays this thread's. Leaving the `with` stops the thread."""

    AHEAD = 1

    def __init__(self, produce: Any) -> None:
        self._queue: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=self.AHEAD)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(produce,), name="import-read-ahead", daemon=True)

    def __enter__(self) -> Iterator[Any]:
        self._thread.start()
        return self._items()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self, produce: Any) -> None:
        try:
            for item in produce():
                if not self._put((True, item)):
                    return
        except BaseException as exc:  # noqa: BLE001 — handed to the consuming thread, raised there
            self._put((False, exc))
            return
        self._put((False, None))

    def _put(self, item: tuple[bool, Any]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _items(self) -> Iterator[Any]:
        while True:
            ok, item = self._queue.get()
            if ok:
                yield item
            elif item is None:
                return
            else:
                raise item


class _Abandoned(Exception):
    """An earlier chunk of the run failed: this one rolls back (the run ends with that chunk's error)."""


class _Order:
    """The order of the chunks _Lanes writes at once: the statements of chunk i start once those of chunk i-1
    are done (no two chunks insert at the same time, so neither can wait for a row of the other that is not
    committed while that one waits for its turn); its lookup of existing contacts and its checkpoint wait until
    chunk i-1 committed — so it sees what a run writing one chunk after the other sees, and the checkpoints
    advance in the file's order: a crash leaves the job at a chunk with every earlier one committed."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.written = self.committed = -1
        self.failed = False

    def wait(self, step: str, index: int) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self.failed or getattr(self, step) >= index)
            if self.failed:
                raise _Abandoned

    def mark(self, step: str, index: int) -> None:
        with self._changed:
            setattr(self, step, index)
            self._changed.notify_all()

    def fail(self) -> None:
        with self._changed:
            self.failed = True
            self._changed.notify_all()


@dataclass
class _Turn:
    """Chunk `index`'s place in the _Order."""

    order: _Order
    index: int

    def wait_written(self) -> None:
        self.order.wait("written", self.index - 1)

    def wait_committed(self) -> None:
        self.order.wait("committed", self.index - 1)

    def written(self) -> None:
        self.order.mark("written", self.index)

    def committed(self) -> None:
        self.order.mark("committed", self.index)


class _Lanes:
    """LANES threads, each with a database connection of its own, writing chunks i, i + LANES, …: chunk i's
    staging and insert run while chunk i-1 commits, which is half of a chunk's database time (its deferred
    foreign-key checks, five a contact) — two backends busy instead of one. Each chunk is still one transaction
    with its checkpoint, committed in the file's order (_Order). The first error ends the run: later chunks roll
    back, and `close` raises it once every thread stopped."""

    LANES = 2

    def __init__(self, job: ImportJob, token: uuid.UUID) -> None:
        self._job, self._token, self._order = job, token, _Order()
        self._inboxes: list[queue.Queue[tuple[int, int, list[Entry], Outcome] | None]] = [
            queue.Queue(maxsize=1) for _ in range(self.LANES)
        ]
        self._threads = [
            threading.Thread(target=self._run, args=(inbox,), name=f"import-lane-{n}", daemon=True)
            for n, inbox in enumerate(self._inboxes)
        ]
        self._error: BaseException | None = None
        self._sent = 0
        for thread in self._threads:
            thread.start()

    def write(self, rows: int, entries: list[Entry], outcome: Outcome) -> None:
        """Hands the next chunk to its lane (waiting while that lane still writes its previous one); _Abandoned
        once a chunk failed (`close` raises its error)."""
        inbox = self._inboxes[self._sent % self.LANES]
        while not self._order.failed:
            try:
                inbox.put((self._sent, rows, entries, outcome), timeout=0.05)
                self._sent += 1
                return
            except queue.Full:
                continue
        raise _Abandoned

    def _run(self, inbox: queue.Queue) -> None:
        try:
            while (item := inbox.get()) is not None and not self._order.failed:
                index, rows, entries, outcome = item
                write_chunk(self._job, self._token, rows, entries, outcome, _Turn(self._order, index))
        except _Abandoned:
            pass
        except BaseException as exc:  # noqa: BLE001 — raised by close() in the run's thread
            self._error = self._error or exc
            self._order.fail()
        finally:
            connection.close()  # this thread's own connection

    def close(self) -> None:
        """Waits until every chunk handed over is written (or abandoned after an error); raises the first error."""
        for inbox in self._inboxes:
            while True:
                try:
                    inbox.put(None, timeout=0.05)
                    break
                except queue.Full:
                    if self._order.failed:  # the lane has stopped: what it was handed is dropped
                        with contextlib.suppress(queue.Empty):
                            inbox.get_nowait()
        for thread in self._threads:
            thread.join()
        if self._error is not None:
            raise self._error


def _chunks(
    job: ImportJob, token: uuid.UUID, plan: Any, fields: Any, stop_after: int | None, ahead: bool, lanes: bool
) -> None:
    """Writes the chunks in the file's order, each with its checkpoint. With `ahead`, the next chunk is parsed in
    another thread meanwhile (_ReadAhead); with `lanes`, chunks are written by two connections at once (_Lanes)
    — the same statements, the same checkpoints in the same order, the same result."""
    produce = partial(_parsed_chunks, job, plan, fields)
    with _ReadAhead(produce) if ahead else contextlib.nullcontext(produce()) as chunks:
        writer = _Lanes(job, token) if lanes else None
        try:
            for done, (rows, entries, outcome) in enumerate(chunks):
                if stop_after is not None and done == stop_after:
                    raise _Stopped
                if writer is None:
                    write_chunk(job, token, rows, entries, outcome)
                else:
                    writer.write(rows, entries, outcome)
        finally:
            if writer is not None:
                writer.close()


def run_import(
    job_id: int, *, stop_after_chunks: int | None = None, read_ahead: bool = True, lanes: bool = True
) -> ImportJob | None:
    """Runs (or resumes, from its last committed chunk) the import `job_id` unless another run holds it or it
    has ended. `stop_after_chunks` stops early as a killed worker would (tests). A bad file fails the job with the
    reason; an error of ours fails it too, logged. `read_ahead` parses the next chunk while one is written
    (_ReadAhead); `lanes` writes chunks on two connections at once (_Lanes) when more than one chunk is left and
    the caller holds no transaction (the chunks would be savepoints of it, which another connection cannot see).
    Either off, the run does the same work one step after the other — the same result, slower."""
    token = _claim(job_id)
    if token is None:
        return None
    job = ImportJob.objects.select_related("owner").get(pk=job_id)
    fields = {f.public_id: f for f in CustomField.objects.for_tenant(job.owner)}
    try:
        _prepare(job, token)
        headers = headers_of(job.filename, bytes(job.data), job.delimiter)
        plan = [(headers.index(c), t) for c, t in job.mapping.items() if c in headers]
        plan = [(i, t) for i, t in plan if not t.startswith("custom.") or t.removeprefix("custom.") in fields]
        lanes = lanes and not connection.in_atomic_block and job.rows_total - job.rows_processed > CHUNK
        _chunks(job, token, plan, fields, stop_after_chunks, read_ahead, lanes)
    except _Stopped:
        return job
    except LostClaim:
        return job
    except FileRefused as exc:
        _finish(job, token, ImportJob.Status.FAILED, exc.message)
        return job
    except Exception:
        logger.exception("import %s failed", job.public_id)
        _finish(job, token, ImportJob.Status.FAILED, "The import stopped on an error of ours; it is logged.")
        raise
    _finish(job, token, ImportJob.Status.DONE)
    job.refresh_from_db()
    return job


def lost_imports() -> list[int]:
    """Imports whose wake-up was lost or whose run died: queued for more than a lease, or running with their
    lease ended (the scheduler's sweep enqueues them again). A queued one is not named again for a lease."""
    now = timezone.now()
    waiting = Q(status=ImportJob.Status.QUEUED) & (
        Q(lease_expires_at__isnull=True, created_at__lt=now - LEASE) | Q(lease_expires_at__lt=now)
    )
    with transaction.atomic():
        queued = list(
            ImportJob.objects.filter(waiting).select_for_update(skip_locked=True).values_list("pk", flat=True)[:100]
        )
        ImportJob.objects.filter(pk__in=queued).update(lease_expires_at=now + LEASE)
    dead = ImportJob.objects.filter(status=ImportJob.Status.RUNNING, lease_expires_at__lt=now)
    return queued + list(dead.values_list("pk", flat=True)[:100])
