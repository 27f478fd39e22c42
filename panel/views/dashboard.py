"""Dashboard: credits, counts per channel and status (today, 7 and 30 days), the 30-day chart, the latest
failures, devices and gateways.

Counts come from the daily counts (messaging.selectors.daily_counts), never from counting messages: the page
costs the same queries with ten messages or a million.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.models import CHANNELS, Channel, CreditAccount, User
from devices.models import AndroidDevice
from gateways.selectors import visible_gateways
from messaging.counts import KINDS
from messaging.selectors import daily_counts, latest_failures
from panel.access import tenant_required
from panel.charts import Series, line_chart

DAYS = 30
PERIODS = (("today", 1), ("7 days", 7), ("30 days", 30))
CHARTED = ("sent", "delivered", "failed")


@dataclass
class ChannelOverview:
    channel: str
    label: str
    balance: int | None = None  # None: no credit account yet
    unlimited: bool = False
    counts: list[tuple[str, list[int]]] = field(default_factory=list)  # kind → [today, 7 days, 30 days]
    chart: str = ""


def _counts(user: User, today: date) -> dict[str, ChannelOverview]:
    days = [today - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
    found = daily_counts(user=user, since=days[0])
    overview = {channel: ChannelOverview(channel, Channel(channel).label) for channel in CHANNELS}
    for channel, view in overview.items():
        for kind in KINDS:
            daily = [found.get((day, channel, kind), 0) for day in days]
            view.counts.append((kind, [sum(daily[-n:]) for _, n in PERIODS]))
        lines = [Series(kind, [found.get((day, channel, kind), 0) for day in days]) for kind in CHARTED]
        labels = [day.strftime("%b %d") for day in days]
        view.chart = line_chart(title=f"{view.label}: sent, delivered and failed per day", labels=labels, series=lines)
    return overview


def _credits(user: User, overview: dict[str, ChannelOverview]) -> None:
    for account in CreditAccount.objects.filter(user=user):
        if account.channel in overview:
            overview[account.channel].balance, overview[account.channel].unlimited = account.balance, account.unlimited


def _devices(user: User) -> dict[str, int]:
    phones = list(AndroidDevice.objects.for_tenant(user).filter(is_active=True).only("is_active", "last_seen_at"))
    online = sum(1 for phone in phones if phone.online)
    return {"online": online, "offline": len(phones) - online}


def overview(user: User) -> dict[str, Any]:
    channels = _counts(user, timezone.localdate())
    _credits(user, channels)
    gateways = visible_gateways(user).only(
        "uid", "identifier", "name", "channel", "provider", "status", "owner", "last_error", "last_error_at"
    )
    return {
        "channels": list(channels.values()),
        "quiet": not any(sum(values) for view in channels.values() for _, values in view.counts),
        "periods": [name for name, _ in PERIODS],
        "plan": user.plan,
        "plan_expires_at": user.plan_expires_at,
        "failures": latest_failures(user=user),
        "devices": _devices(user),
        "gateways": list(gateways.order_by("channel", "identifier")),
    }


@tenant_required
def home(request: HttpRequest) -> HttpResponse:
    template = "panel/_dashboard.html" if request.headers.get("HX-Request") else "panel/dashboard.html"
    return render(request, template, overview(request.user))
