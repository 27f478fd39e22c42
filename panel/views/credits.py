"""Credits & plan: the balance of each channel, the plan's limits (channels, credits, rate limit, expiry), and the
ledger — every grant, charge, refund, top-up and adjustment — filtered by channel, reason and dates, in keyset
pages, and as a streamed CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.models import CHANNELS, UNLIMITED, Channel, CreditAccount, User
from accounts.selectors import LedgerCursor, LedgerFilter, ledger_page, ledger_rows
from panel.access import tenant_required
from panel.account_forms import LedgerFilterForm
from xsender.spreadsheet import spreadsheet_safe

PAGE_SIZE = 50
EXPORT_CHUNK = 5000
EXPORT_COLUMNS = ("created_at", "channel", "delta", "reason", "note", "message_uid")


def _balances(user: User) -> list[dict[str, object]]:
    accounts = {a.channel: a for a in CreditAccount.objects.filter(user=user)}
    plan = user.plan
    rows = []
    for channel in CHANNELS:
        account = accounts.get(channel)
        rows.append({
            "channel": Channel(channel).label,
            "unlimited": bool(account and account.unlimited),
            "balance": account.balance if account else 0,
            "allowed": plan is None or channel in plan.allowed_channels,
            "grant": plan.grant_for(channel) if plan else None,
        })  # fmt: skip
    return rows


@tenant_required
def credits_page(request: HttpRequest) -> HttpResponse:
    form = LedgerFilterForm(request.GET)
    page = None
    if form.is_valid():
        after = LedgerCursor.decode(request.GET.get("after", ""))
        page = ledger_page(user=request.user, wanted=form.wanted(), after=after, size=PAGE_SIZE)
    params = {k: v for k, v in request.GET.items() if k != "after" and v}
    query = urlencode(params)
    context = {
        "form": form,
        "page": page,
        "balances": _balances(request.user),
        "plan": request.user.plan,
        "expires_at": request.user.plan_expires_at,
        "expired": bool(request.user.plan_expires_at and request.user.plan_expires_at <= timezone.now()),
        "rate_limit": request.user.rate_limit,
        "unlimited": UNLIMITED,
        "query": query,
        "next_query": urlencode({**params, "after": page.next.encode()}) if page and page.next else "",
        "first_page": not request.GET.get("after"),
        "filtered": bool(params),
    }
    template = "panel/_ledger.html" if request.headers.get("HX-Request") else "panel/credits.html"
    return render(request, template, context, status=200 if form.is_valid() else 400)


@tenant_required
def export_ledger(request: HttpRequest) -> HttpResponse:
    form = LedgerFilterForm(request.GET)
    if not form.is_valid():
        return credits_page(request)  # the form's errors, in place
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(_csv_lines(request.user, form.wanted()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="xsender-credits-{stamp}.csv"'
    return response


def _csv_lines(user: User, wanted: LedgerFilter) -> Iterator[str]:
    """The filtered ledger as CSV, read a keyset chunk at a time (never all rows held, no long transaction)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    zone = timezone.get_current_timezone()
    after = None
    while True:
        rows = ledger_rows(user=user, wanted=wanted, after=after, limit=EXPORT_CHUNK)
        for row in rows:
            writer.writerow((
                row["created_at"].astimezone(zone).isoformat(), row["channel"], row["delta"], row["reason"],
                spreadsheet_safe(row["note"]), row["message_uid"] or "",
            ))  # fmt: skip
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < EXPORT_CHUNK:
            return
        after = LedgerCursor(rows[-1]["created_at"], rows[-1]["id"])
