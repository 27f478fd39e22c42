"""Imports contacts from a CSV or XLSX file for a tenant, in this process (the panel's imports run in the
background through the same service and the same chunked run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from accounts import services as accounts
from contacts import services
from contacts.imports import run_import
from xsender.commands import XSenderCommand
from xsender.errors import DomainError, ValidationFailed

REPORT_LINES = 20


def column_map(value: str) -> tuple[str, str]:
    column, sep, target = value.partition("=")
    if not sep or not column.strip():
        raise ValidationFailed.single("map", f"--map {value!r}: write COLUMN=FIELD (email, phone, custom.Age …).")
    return column.strip(), target.strip()


class Command(XSenderCommand):
    help = "Import contacts from a CSV or XLSX file (first row: column names) into a tenant's audience."

    def add_command_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="A .csv (UTF-8) or .xlsx file.")
        parser.add_argument("--user", required=True, metavar="EMAIL", help="The tenant.")
        parser.add_argument("--list", default="", metavar="LIST_ID", help="Put every contact in this list.")
        parser.add_argument("--tag", action="append", default=[], metavar="NAME", help="Tag every contact (repeat).")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help="Column to email, phone, first_name, last_name, company, time_zone or custom.<field>; default: the "
            "columns named so. An empty FIELD leaves the column out.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Not one transaction (XSenderCommand's): each chunk commits, so an interrupted import keeps its work.
        try:
            text, data = self.run(**options)
        except DomainError as exc:
            raise CommandError(_message(exc)) from None
        self.stdout.write(json.dumps(data, default=str) if options["json"] else text)

    def run(self, **options: Any) -> tuple[str, dict[str, Any]]:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        user = accounts.get_user(options["user"])
        mapping = dict(column_map(m) for m in options["map"]) or None
        job = services.start_import(
            owner=user, filename=path.name, data=path.read_bytes(), mapping=mapping,
            list_id=options["list"], tags=options["tag"], enqueue=False,
        )  # fmt: skip
        job = run_import(job.pk) or job
        data = {
            "import": job.public_id, "status": job.status, "error": job.error, "rows": job.rows_total,
            "created": job.rows_created, "updated": job.rows_updated, "skipped": job.rows_skipped,
            "report": job.report,
        }  # fmt: skip
        lines = [
            f"Import {job.public_id}: {job.status}. {job.rows_total or 0} rows: {job.rows_created} created, "
            f"{job.rows_updated} updated, {job.rows_skipped} skipped." + (f" {job.error}" if job.error else "")
        ]
        lines += [f"  row {r['row']}: {r['reason']}" for r in job.report[:REPORT_LINES]]
        if job.rows_skipped > REPORT_LINES:
            lines.append(f"  … and {job.rows_skipped - REPORT_LINES} more skipped rows.")
        return "\n".join(lines), data


def _message(exc: DomainError) -> str:
    errors = getattr(exc, "errors", [])
    if errors:
        return "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return exc.message
