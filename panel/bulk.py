"""Bulk send from a file: read a CSV or XLSX upload, keep it for the review, map its columns to an item's fields,
fill `{{ column }}` placeholders, and check every row before anything is sent.

The upload is kept in Redis (shared by every web process, expiring after an hour) under a key that names its
owner, so another tenant's token finds nothing. Placeholders are a plain substitution of the row's value (no
template engine: a cell's text is never evaluated, and an inserted value is not scanned again).
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.files.uploadedfile import UploadedFile

from accounts.models import User
from messaging.items import EmailItem, Item, SmsItem, WhatsAppItem
from xsender.errors import FieldError
from xsender.redis import get_redis

MAX_ROWS = 10_000
MAX_COLUMNS = 50
KEEP_SECONDS = 3600
PLACEHOLDER = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")

# Per channel: each field an item takes from the file (a column, or a text with placeholders), its label, and
# the header names that map to it without asking (the API's own names first).
FIELDS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    "email": [
        ("recipient", "Recipient (email address)", ("email", "recipient", "to", "e-mail", "mail")),
        ("subject", "Subject", ("subject",)),
        ("body", "Message (HTML or text)", ("message", "body", "html", "text")),
        ("sender_name", "Sender name", ("sender_name", "sender", "from_name")),
        ("reply_to", "Reply-to", ("reply_to", "reply-to", "replyto")),
    ],
    "sms": [
        ("recipient", "Recipient (phone number)", ("number", "phone", "mobile", "recipient", "to")),
        ("body", "Message", ("body", "message", "text")),
    ],
    "whatsapp": [
        ("recipient", "Recipient (phone number)", ("number", "phone", "mobile", "whatsapp", "recipient", "to")),
        ("body", "Message or caption", ("message", "body", "text", "caption")),
        ("media_url", "Media URL", ("url", "media_url")),
    ],
}
REQUIRED = {"recipient"}


class FileRefused(Exception):
    """The upload cannot be read as a table of at most MAX_ROWS rows; the message says why."""


@dataclass
class Upload:
    channel: str
    filename: str
    headers: list[str]
    rows: list[list[str]]
    token: str = field(default_factory=lambda: secrets.token_urlsafe(16))


# ---------------------------------------------------------------- reading the file


def _headers(raw: Iterable[Any]) -> list[str]:
    names: list[str] = []
    for position, value in enumerate(raw, start=1):
        name = _text(value).strip() or f"column {position}"
        while name in names:
            name += "_"
        names.append(name)
    return names


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a number typed in a spreadsheet cell (15555550123.0)
    return str(value)


def _table(lines: Iterator[Iterable[Any]]) -> tuple[list[str], list[list[str]]]:
    try:
        headers = _headers(next(lines))
    except StopIteration:
        raise FileRefused("The file is empty: its first row must name the columns.") from None
    if len(headers) > MAX_COLUMNS:
        raise FileRefused(f"At most {MAX_COLUMNS} columns.")
    rows = []
    for line in lines:
        cells = [_text(v) for v in line][: len(headers)]
        if not any(c.strip() for c in cells):
            continue  # blank lines (a spreadsheet's trailing rows)
        if len(rows) == MAX_ROWS:
            raise FileRefused(f"At most {MAX_ROWS:,} rows per file; split it into several.")
        rows.append(cells + [""] * (len(headers) - len(cells)))
    if not rows:
        raise FileRefused("The file has a header row but no recipients.")
    return headers, rows


def _csv_lines(data: bytes) -> Iterator[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRefused("The CSV file must be UTF-8 encoded.") from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return csv.reader(io.StringIO(text), dialect)


def _xlsx_lines(upload: UploadedFile) -> Iterator[tuple[Any, ...]]:
    from openpyxl import load_workbook  # imported when a spreadsheet arrives: a large module

    try:
        book = load_workbook(upload, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 — any unreadable spreadsheet is the same answer to the tenant
        raise FileRefused(f"This is not a readable XLSX file ({type(exc).__name__}).") from None
    return book.worksheets[0].iter_rows(values_only=True)


def read_upload(*, channel: str, upload: UploadedFile) -> Upload:
    """The table in `upload` (CSV, or the first sheet of an XLSX); raises FileRefused."""
    name = upload.name or "upload"
    if name.lower().endswith(".xlsx"):
        headers, rows = _table(iter(_xlsx_lines(upload)))
    elif name.lower().endswith((".csv", ".txt")):
        headers, rows = _table(iter(_csv_lines(upload.read())))
    else:
        raise FileRefused("Upload a .csv or .xlsx file.")
    return Upload(channel=channel, filename=name[:200], headers=headers, rows=rows)


# ---------------------------------------------------------------- keeping it for the review


def _key(user: User, token: str) -> str:
    return f"panel:bulk:{user.pk}:{token}"


def keep(*, user: User, upload: Upload) -> str:
    payload = {"channel": upload.channel, "filename": upload.filename, "headers": upload.headers, "rows": upload.rows}
    get_redis().set(_key(user, upload.token), zlib.compress(json.dumps(payload).encode()), ex=KEEP_SECONDS)
    return upload.token


def kept(*, user: User, token: str) -> Upload | None:
    """The user's upload `token`, or None (expired, sent already, or not theirs)."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{10,64}", token or ""):
        return None
    raw = get_redis().get(_key(user, token))
    if raw is None:
        return None
    data = json.loads(zlib.decompress(raw))
    return Upload(data["channel"], data["filename"], data["headers"], data["rows"], token=token)


def forget(*, user: User, token: str) -> None:
    get_redis().delete(_key(user, token))


# ---------------------------------------------------------------- from rows to items


def default_mapping(channel: str, headers: list[str]) -> dict[str, str]:
    """Field → column for the headers that name a field (case and spaces ignored)."""
    plain = {h.strip().lower().replace(" ", "_"): h for h in headers}
    found = {}
    for name, _, aliases in FIELDS[channel]:
        column = next((plain[a] for a in aliases if a in plain), None)
        if column is not None:
            found[name] = column
    return found


def placeholders(text: str) -> list[str]:
    return PLACEHOLDER.findall(text or "")


def fill(text: str, row: dict[str, str]) -> str:
    """`text` with each `{{ column }}` replaced by the row's value (unknown names were refused before)."""
    return PLACEHOLDER.sub(lambda match: row.get(match.group(1), ""), text)


@dataclass
class Mapping:
    """How each row becomes an item: field → column, or field → text (with placeholders); and what every item
    shares (gateway, schedule, sms_type, media)."""

    columns: dict[str, str]
    texts: dict[str, str]
    common: dict[str, Any]

    def value(self, name: str, row: dict[str, str]) -> str:
        if self.columns.get(name):
            return row.get(self.columns[name], "")
        return fill(self.texts.get(name, ""), row)

    def source(self, name: str) -> str:
        """Where a field's value comes from, as the errors name it (a column, or the text typed in the form)."""
        return f"column {self.columns[name]!r}" if self.columns.get(name) else f"{name.replace('_', ' ')} (text)"


ITEMS: dict[str, type[EmailItem] | type[SmsItem] | type[WhatsAppItem]] = {
    "email": EmailItem,
    "sms": SmsItem,
    "whatsapp": WhatsAppItem,
}


def items_of(upload: Upload, mapping: Mapping) -> list[Item]:
    names = [name for name, _, _ in FIELDS[upload.channel]]
    kind = ITEMS[upload.channel]
    items = []
    for cells in upload.rows:
        row = dict(zip(upload.headers, cells, strict=True))
        values = {name: mapping.value(name, row) for name in names}
        items.append(kind(**values, **mapping.common))
    return items


@dataclass
class RowError:
    row: int  # as a spreadsheet numbers it: the header is row 1
    column: str
    message: str


def row_errors(upload: Upload, mapping: Mapping, errors: list[FieldError]) -> list[RowError]:
    """The send path's item errors, named by the file's row and column."""
    found = []
    for error in errors:
        index = error.get("index")
        name = (error.get("field") or "").split(".")[0]
        row = index + 2 if index is not None else 1
        column = mapping.source(name) if name in {n for n, _, _ in FIELDS[upload.channel]} else name.replace("_", " ")
        found.append(RowError(row=row, column=column, message=error["message"]))
    return found
