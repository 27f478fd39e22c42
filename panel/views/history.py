"""History: every message of the tenant (filters, keyset pages), a message's detail, cancel, retry, CSV export."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.db import connection, transaction
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import User
from messaging.models import Message, Source, Status
from messaging.selectors import Cursor, HistoryFilter, history_export_sql, history_page, message_of
from messaging.services import accept_messages, cancel_messages
from panel.access import tenant_required
from panel.history_forms import HistoryFilterForm
from panel.retry import item_of
from xsender.errors import DomainError, NotFound

CANCELLABLE = (Status.SCHEDULED, Status.PENDING)


def _filters(request: HttpRequest) -> tuple[HistoryFilterForm, HistoryFilter | None]:
    form = HistoryFilterForm(request.GET, user=request.user)
    return form, (form.wanted() if form.is_valid() else None)


def _query(request: HttpRequest, **extra: str) -> str:
    params = {k: v for k, v in request.GET.items() if k != "after" and v}
    return urlencode({**params, **extra})


@tenant_required
def history_list(request: HttpRequest) -> HttpResponse:
    form, wanted = _filters(request)
    page = None
    if wanted is not None:
        page = history_page(user=request.user, wanted=wanted, after=Cursor.decode(request.GET.get("after", "")))
    context = {
        "form": form,
        "page": page,
        "filtered": any(v for k, v in request.GET.items() if k != "after"),
        "first_page": bool(request.GET.get("after")),
        "next_query": _query(request, after=page.next.encode()) if page and page.next else "",
        "query": _query(request),
    }
    template = "panel/_history_results.html" if request.headers.get("HX-Request") else "panel/history.html"
    return render(request, template, context)


def _own_message(request: HttpRequest, uid: Any) -> Message:
    try:
        return message_of(user=request.user, uid=uid)
    except NotFound as exc:
        raise Http404(exc.message) from None


@tenant_required
def message_detail(request: HttpRequest, uid: Any) -> HttpResponse:
    message = _own_message(request, uid)
    context = {
        "message": message,
        "events": list(message.events.all()),
        "cancellable": message.status in CANCELLABLE,
        "retryable": message.status == Status.FAILED,
        "gateway_response": json.dumps(message.gateway_response, indent=2, sort_keys=True, ensure_ascii=False),
    }
    return render(request, "panel/message.html", context)


@tenant_required
@require_POST
def cancel_message(request: HttpRequest, uid: Any) -> HttpResponse:
    message = _own_message(request, uid)
    if cancel_messages(messages=[message]):
        messages.success(request, f"Message cancelled; its {message.cost} credit(s) were refunded.")
    else:
        messages.error(request, f"This message can no longer be cancelled: it is {message_status(message)}.")
    return redirect("panel:message", uid=message.uid)


def message_status(message: Message) -> str:
    message.refresh_from_db(fields=["status"])
    return message.status


@tenant_required
@require_POST
def retry_message(request: HttpRequest, uid: Any) -> HttpResponse:
    message = _own_message(request, uid)
    if message.status != Status.FAILED:
        messages.error(request, "Only a failed message can be retried.")
        return redirect("panel:message", uid=message.uid)
    try:
        (new,) = accept_messages(
            principal=request.user, channel=message.channel, items=[item_of(message)], source=Source.PANEL
        )
    except DomainError as exc:
        messages.error(request, f"Not retried: {exc.message}")
        return redirect("panel:message", uid=message.uid)
    messages.success(request, f"Sent again as a new message ({new.cost} credit(s)).")
    return redirect("panel:message", uid=new.uid)


@tenant_required
def export_history(request: HttpRequest) -> HttpResponse:
    form, wanted = _filters(request)
    if wanted is None:
        return render(request, "panel/history.html", {"form": form, "page": None}, status=400)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(_csv_lines(request.user, wanted), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="xsender-history-{stamp}.csv"'
    return response


def _csv_lines(user: User, wanted: HistoryFilter) -> Iterator[bytes]:
    """The filtered history as CSV, written by PostgreSQL (`COPY (query) TO STDOUT`) and passed on block by block
    as it comes: no row is held, in the database or here, so memory stays flat for any count. The transaction
    sets the time zone the times are written in."""
    sql, params = history_export_sql(user=user, wanted=wanted)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('TimeZone', %s, true)", [settings.TIME_ZONE])
        with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true)", params) as copy:
            yield from (bytes(block) for block in copy)
