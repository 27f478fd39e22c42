"""What the Reports page shows: the tenant's own message traffic per day over a period (the last 7, 30 or 90 days,
one channel or all), from the daily counts (messaging.selectors.daily_counts: one grouped query whatever the
period or the volume; the messages table is never counted), with rates, totals, an SVG chart (panel.charts) and the
same table as CSV rows.

The daily counts include every message the tenant sent — through the API, the panel and campaigns alike; a
campaign's own numbers are on its report (campaigns.reports). Each count is the number of messages that reached
that status on that day (server time zone), so a day's rates compare moves of that day: a message accepted late on
one day and delivered the next counts as accepted on the first and as delivered on the second.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from accounts.models import CHANNELS, Channel, User
from campaigns.reports import ratios
from messaging.counts import KINDS
from messaging.selectors import daily_counts
from panel.charts import Series, line_chart

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
CHARTED = ("sent", "delivered", "opened", "clicked", "bounced", "failed")  # the styled series (panel.css)
# rate name → (numerator, denominator, label)
RATES = {
    "delivery_rate": ("delivered", "sent", "Delivery"),
    "open_rate": ("opened", "delivered", "Open"),
    "click_rate": ("clicked", "delivered", "Click"),
    "bounce_rate": ("bounced", "sent", "Bounce"),
    "failure_rate": ("failed", "accepted", "Failure"),
}
CSV_HEADER = ("day", "channel", *KINDS, *RATES)


@dataclass(frozen=True)
class Line:
    """One day's counts (or the period's totals, `day` None) and their rates."""

    day: date | None
    counts: dict[str, int]

    @property
    def values(self) -> list[int]:
        return [self.counts[kind] for kind in KINDS]

    @property
    def rates(self) -> dict[str, float | None]:
        """Each of RATES as a fraction, None when its denominator is 0. Usually 0–1; a single day may exceed 1
        (messages sent the day before and delivered that day)."""
        return ratios(self.counts, RATES)

    @property
    def percents(self) -> list[str]:
        """The rates as the page shows them: "12.5 %" (a no-break space: never split over two lines), or "—" when
        the denominator is 0."""
        return ["—" if rate is None else f"{rate * 100:.1f}\u00a0%" for rate in self.rates.values()]

    @property
    def rate_rows(self) -> list[tuple[str, str, str, str]]:
        """(name, label, percent, what it is over) for each of RATES."""
        rows = []
        for (name, (part, whole, label)), percent in zip(RATES.items(), self.percents, strict=True):
            rows.append((name, f"{label} rate", percent, f"{part.capitalize()} / {whole}"))
        return rows


@dataclass(frozen=True)
class Traffic:
    channel: str  # "" for every channel
    period: int  # days, today included
    days: list[Line]  # oldest first, one per day of the period (zeros for a day without traffic)
    total: Line

    @property
    def channel_label(self) -> str:
        return Channel(self.channel).label if self.channel else "All channels"

    @property
    def quiet(self) -> bool:
        return not any(self.total.values)


def traffic(*, user: User, today: date, period: int, channel: str = "") -> Traffic:
    """`user`'s counts per day for the `period` days ending `today`, of `channel` ("" for all), in one query."""
    days = [today - timedelta(days=n) for n in range(period - 1, -1, -1)]
    found = daily_counts(user=user, since=days[0])
    channels = [channel] if channel else list(CHANNELS)
    lines = []
    for day in days:
        lines.append(Line(day, {kind: sum(found.get((day, c, kind), 0) for c in channels) for kind in KINDS}))
    total = Line(None, {kind: sum(line.counts[kind] for line in lines) for kind in KINDS})
    return Traffic(channel=channel, period=period, days=lines, total=total)


def chart(report: Traffic) -> str:
    """The period's sent, delivered, opened, clicked, bounced and failed per day as an SVG line chart."""
    labels = [line.day.strftime("%b %d") for line in report.days if line.day]
    series = [Series(kind, [line.counts[kind] for line in report.days]) for kind in CHARTED]
    title = f"{report.channel_label}: messages per day, last {report.period} days"
    return line_chart(title=title, labels=labels, series=series)


def csv_rows(report: Traffic) -> Iterator[tuple[Any, ...]]:
    """The table as CSV rows: a header, one row per day (oldest first, ISO dates), then `total`; rates as fractions
    (empty when their denominator is 0)."""
    yield CSV_HEADER
    channel = report.channel or "all"
    for line in [*report.days, report.total]:
        rates = ["" if rate is None else rate for rate in line.rates.values()]
        yield (line.day.isoformat() if line.day else "total", channel, *line.values, *rates)
