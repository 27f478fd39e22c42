"""A campaign's report (campaigns.reports: the same numbers, rates and CSV files as the panel's campaign page)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from campaigns import reports
from campaigns.management.common import CampaignCommand, campaign_line, iso


def write_csv(path: str, lines: Iterable[str]) -> None:
    try:
        with Path(path).open("w", encoding="utf-8", newline="") as out:
            out.writelines(lines)
    except OSError as exc:
        raise CommandError(f"Cannot write {path}: {exc.strerror}.") from None


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.2f} %"


class Command(CampaignCommand):
    help = (
        "A campaign's report: targeted, sent, delivered, opened, clicked (per link), bounced, complained, "
        "unsubscribed, failed, with rates; --csv and --recipients-csv write the panel's two CSV files."
    )

    def add_command_arguments(self, parser: CommandParser) -> None:
        super().add_command_arguments(parser)
        parser.add_argument("--csv", metavar="FILE", help="Write the report as CSV (section, name, value, extra).")
        parser.add_argument(
            "--recipients-csv", metavar="FILE",
            help="Write each recipient's outcome as CSV (" + ", ".join(reports.OUTCOME_HEADER) + ").",
        )  # fmt: skip

    def run(self, **options: Any) -> tuple[str, dict[str, Any]]:
        user, campaign = self.campaign(options)
        report = reports.campaign_report(owner=user, campaign=campaign)
        if options["csv"]:
            write_csv(options["csv"], reports.csv_lines(reports.report_rows(report)))
        if options["recipients_csv"]:
            rows = reports.recipient_rows(owner=user, campaign=campaign)
            write_csv(options["recipients_csv"], reports.csv_lines(rows))
        data = {
            "campaign": campaign.public_id, "name": campaign.name, "channel": campaign.channel,
            "status": campaign.status, "counts": report.counts, "rates": report.rates,
            "links": [{"url": link.url, "unique": link.unique, "total": link.total} for link in report.links],
            "timeline": [{"start": iso(b.start), "hours": b.hours, **b.counts} for b in report.timeline],
            "csv": options["csv"], "recipients_csv": options["recipients_csv"],
        }  # fmt: skip
        return self.text(report, options), data

    def text(self, report: reports.CampaignReport, options: dict[str, Any]) -> str:
        lines = [campaign_line(report.campaign), ""]
        lines += [f"  {name:<14} {report.counts[name]}" for name in reports.COUNTS]
        lines.append("")
        for name, rate in report.rates.items():
            part, whole = reports.RATES[name]
            lines.append(f"  {name:<20} {percent(rate):>9}   ({part} / {whole})")
        if report.links:
            lines += ["", "  Clicks per link (unique / total):"]
            lines += [
                f"    {link.unique:>6} / {link.total:<6} {link.url or '(link not named)'}" for link in report.links
            ]
        if options["csv"]:
            lines.append(f"Report written to {options['csv']}.")
        if options["recipients_csv"]:
            lines.append(f"Recipients written to {options['recipients_csv']}.")
        return "\n".join(lines)
