"""Reports: the tenant's own message traffic per day — accepted, sent, delivered, opened, clicked, bounced,
complained, failed, cancelled, with rates and totals — over the last 7, 30 or 90 days, for one channel or all, as a
table, an SVG chart and a CSV download.

Everything comes from the daily counts (panel.traffic over messaging.selectors.daily_counts): the page costs the
same queries for 7 days or 90, for ten messages or a million. They include every message the tenant sent (API,
panel, campaigns); a campaign's own numbers are on its report. Staff are sent to the admin, as on the dashboard.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from campaigns.reports import streamed_csv
from panel.access import tenant_required
from panel.report_forms import TrafficFilterForm
from panel.traffic import RATES, Traffic, chart, csv_rows, traffic


def _report(request: HttpRequest, form: TrafficFilterForm) -> Traffic:
    return traffic(
        user=request.user,
        today=timezone.localdate(),
        period=form.cleaned_data["days"],
        channel=form.cleaned_data["channel"],
    )


def _page(request: HttpRequest, form: TrafficFilterForm) -> HttpResponse:
    context: dict[str, object] = {
        "form": form,
        "rate_labels": [(label, f"{part} / {whole}") for part, whole, label in RATES.values()],
    }
    if form.is_valid():
        report = _report(request, form)
        query = urlencode({"days": report.period, "channel": report.channel})
        context |= {"report": report, "chart": chart(report), "query": query,
                    "newest_first": list(reversed(report.days))}  # fmt: skip
    template = "panel/_report.html" if request.headers.get("HX-Request") else "panel/reports.html"
    return render(request, template, context, status=200 if form.is_valid() else 400)


@tenant_required
def traffic_report(request: HttpRequest) -> HttpResponse:
    """`?days=7|30|90` (30 by default) and `?channel=email|sms|whatsapp` (all by default); anything else is a 400
    with the filter's errors."""
    return _page(request, TrafficFilterForm(request.GET))


@tenant_required
def traffic_report_csv(request: HttpRequest) -> HttpResponse:
    """The page's table as CSV, with the same filter; a bad filter shows the page with its errors."""
    form = TrafficFilterForm(request.GET)
    if not form.is_valid():
        return _page(request, form)
    report = _report(request, form)
    stamp = timezone.localdate().isoformat()
    return streamed_csv(csv_rows(report), f"xsender-traffic-{report.channel or 'all'}-{report.period}d-{stamp}.csv")
