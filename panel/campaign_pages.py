"""What the Campaigns pages show beside their forms: the review's recipient count, cost and balance (as the
services compute them when the campaign starts), and the report's rows and its timeline as a server-rendered
SVG chart (panel.charts: no chart library, no script)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts import services as accounts
from accounts.models import UNLIMITED
from campaigns import fanout
from campaigns.models import Campaign
from campaigns.reports import COUNTS, RATES, SERIES, CampaignReport
from panel.charts import Series, line_chart


@dataclass(frozen=True)
class Estimate:
    recipients: int
    unit_cost: int
    cost: int
    balance: int  # UNLIMITED (-1) for an unlimited account
    unlimited: bool

    @property
    def shortfall(self) -> int:
        return 0 if self.unlimited else max(0, self.cost - self.balance)


def estimate(campaign: Campaign) -> Estimate:
    """The audience as fanout.audience resolves it now (fanout.audience_count: one COUNT in SQL, segments
    included), the estimated cost (SMS: the template's own segments; a contact's data may add some when rendered)
    and the owner's balance for the channel."""
    recipients = fanout.audience_count(campaign)
    unit = fanout.unit_cost(campaign.template)
    balance = accounts.balances(campaign.owner)[campaign.channel]
    unlimited = balance == UNLIMITED or campaign.owner.is_superuser
    return Estimate(recipients, unit, recipients * unit, balance, unlimited)


LABELS = {
    "targeted": "Targeted",
    "skipped": "Skipped",
    "messages": "Messages",
    "queued": "Queued",
    "sent": "Sent",
    "delivered": "Delivered",
    "opened": "Opened (unique)",
    "clicked": "Clicked (unique)",
    "bounced": "Bounced",
    "complained": "Complained",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "unsubscribed": "Unsubscribed",
    "opens_total": "Opens (total)",
    "clicks_total": "Clicks (total)",
}


@dataclass(frozen=True)
class Row:
    name: str
    label: str
    value: int


@dataclass(frozen=True)
class Rate:
    name: str
    label: str
    percent: str  # "—" when its denominator is 0
    of: str


def count_rows(report: CampaignReport) -> list[Row]:
    return [Row(name, LABELS[name], report.counts[name]) for name in COUNTS]


def rate_rows(report: CampaignReport) -> list[Rate]:
    rows = []
    for name, value in report.rates.items():
        part, whole = RATES[name]
        percent = "—" if value is None else f"{value * 100:.1f} %"
        rows.append(Rate(name, name.replace("_", " ").capitalize(), percent, f"{LABELS[part]} / {LABELS[whole]}"))
    return rows


def timeline_chart(report: CampaignReport) -> str:
    """The timeline's buckets (hours, then days) as an SVG line chart; "" when nothing has happened yet. A single
    bucket gets a zero point an hour before it (nothing happened before the start), so that it draws a line."""
    if not report.timeline:
        return ""
    zone = timezone.get_current_timezone()
    starts = [b.start for b in report.timeline]
    values = {kind: [b.counts[kind] for b in report.timeline] for kind in SERIES}
    if len(starts) == 1:
        starts.insert(0, starts[0] - timedelta(hours=1))
        values = {kind: [0, *counts] for kind, counts in values.items()}
    hourly = report.timeline[-1].hours == 1
    labels = [timezone.localtime(start, zone).strftime("%d %b %H:%M" if hourly else "%d %b") for start in starts]
    series = [Series(kind, values[kind]) for kind in SERIES]
    return line_chart(title=f"Messages over time ({settings.TIME_ZONE})", labels=labels, series=series)
