"""Send: the Email, SMS and WhatsApp forms, the SMS counter, and the bulk send from a CSV or XLSX file.

Everything goes through messaging.services.accept_messages with typed items (source "panel"): the same checks,
charges and routing as the API. A refusal is shown on the field it names, and then nothing was stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from messaging.models import Source
from messaging.segments import sms_encoding, sms_segments
from messaging.services import accept_messages
from messaging.validation import item_errors
from panel import bulk
from panel.access import tenant_required
from panel.bulk_forms import ReviewForm, UploadForm
from panel.send_forms import FORMS, split_recipients
from xsender.errors import DomainError, ValidationFailed

TABS = (("email", "Email"), ("sms", "SMS"), ("whatsapp", "WhatsApp"), ("bulk", "Bulk from a file"))


@tenant_required
def send_index(request: HttpRequest) -> HttpResponse:
    return redirect("panel:send-email")


def _send_form(request: HttpRequest, channel: str) -> HttpResponse:
    form = FORMS[channel](request.POST or None, user=request.user)
    if request.method == "POST" and request.POST.get("action") != "count" and form.is_valid():
        try:
            sent = accept_messages(principal=request.user, channel=channel, items=form.items(), source=Source.PANEL)
        except DomainError as exc:
            form.show_error(exc)
        else:
            what = "message" if len(sent) == 1 else "messages"
            messages.success(request, f"{len(sent)} {channel} {what} accepted ({sum(m.cost for m in sent)} credits).")
            return redirect(reverse("panel:history") + f"?channel={channel}&source=panel")
    context = {
        "form": form,
        "channel": channel,
        "tabs": TABS,
        "counter": _counter(request.POST) if channel == "sms" else None,
    }
    return render(request, "panel/send.html", context)


@tenant_required
def send_email(request: HttpRequest) -> HttpResponse:
    return _send_form(request, "email")


@tenant_required
def send_sms(request: HttpRequest) -> HttpResponse:
    return _send_form(request, "sms")


@tenant_required
def send_whatsapp(request: HttpRequest) -> HttpResponse:
    return _send_form(request, "whatsapp")


def _counter(data: Any) -> dict[str, Any]:
    """What an SMS costs as the send path counts it (messaging.segments): per recipient, and in all."""
    body = (data.get("body") or "") if data else ""
    recipients = len(split_recipients(data.get("recipients", ""))) if data else 0
    segments = sms_segments(body) if body else 0
    return {
        "characters": len(body),
        "encoding": sms_encoding(body) if body else "GSM-7",
        "segments": segments,
        "recipients": recipients,
        "cost": segments * max(recipients, 1),
    }


@tenant_required
@require_POST
def sms_counter(request: HttpRequest) -> HttpResponse:
    return render(request, "panel/_sms_counter.html", {"counter": _counter(request.POST)})


# ---------------------------------------------------------------- bulk from a file


@tenant_required
def bulk_upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            upload = bulk.read_upload(channel=form.cleaned_data["channel"], upload=form.cleaned_data["file"])
        except bulk.FileRefused as exc:
            form.add_error("file", str(exc))
        else:
            bulk.keep(user=request.user, upload=upload)
            review = ReviewForm.first(user=request.user, upload=upload)
            return _review_page(request, review, upload, check=True)
    return render(request, "panel/bulk_upload.html", {"form": form, "tabs": TABS, "channel": "bulk"})


@tenant_required
@require_POST
def bulk_review(request: HttpRequest) -> HttpResponse:
    upload = bulk.kept(user=request.user, token=request.POST.get("token", ""))
    if upload is None:
        messages.error(request, "That upload has expired or was sent already: upload the file again.")
        return redirect("panel:send-bulk")
    review = ReviewForm(request.POST, user=request.user, upload=upload)
    if request.POST.get("action") == "send" and review.is_valid():
        return _bulk_send(request, review, upload)
    return _review_page(request, review, upload, check=True)


SHOWN_ERRORS = 100
PREVIEW_ROWS = 10


def _checked(review: ReviewForm, upload: bulk.Upload) -> tuple[list[Any], list[bulk.RowError]]:
    """Every row as an item, and every row's errors by the send path's own rules (no database)."""
    mapping = review.mapping()
    items = bulk.items_of(upload, mapping)
    _, errors = item_errors(upload.channel, items, max_items=bulk.MAX_ROWS)
    return items, bulk.row_errors(upload, mapping, errors)


def _review_page(
    request: HttpRequest,
    review: ReviewForm,
    upload: bulk.Upload,
    *,
    check: bool,
    refused: Sequence[bulk.RowError] = (),
) -> HttpResponse:
    items, errors = _checked(review, upload) if check and review.is_valid() else ([], [])
    errors = [*refused, *errors]
    context = {
        "form": review,
        "upload": upload,
        "preview": items[:PREVIEW_ROWS],
        "errors": errors[:SHOWN_ERRORS],
        "error_count": len(errors),
        "ready": review.is_valid() and not errors,
        "tabs": TABS,
        "channel": "bulk",
    }
    return render(request, "panel/bulk_review.html", context, status=200)


def _bulk_send(request: HttpRequest, review: ReviewForm, upload: bulk.Upload) -> HttpResponse:
    items, errors = _checked(review, upload)
    if errors:
        return _review_page(request, review, upload, check=True)
    try:
        sent = accept_messages(
            principal=request.user, channel=upload.channel, items=items, source=Source.PANEL, max_items=bulk.MAX_ROWS
        )
    except DomainError as exc:
        found = exc.errors if isinstance(exc, ValidationFailed) else [
            {"index": exc.index, "field": exc.field or "", "message": exc.message}
        ]  # fmt: skip
        refused = bulk.row_errors(upload, review.mapping(), found)
        return _review_page(request, review, upload, check=False, refused=refused)
    bulk.forget(user=request.user, token=upload.token)
    context = {"sent": sent, "cost": sum(m.cost for m in sent), "upload": upload, "tabs": TABS, "channel": "bulk"}
    return render(request, "panel/bulk_result.html", context)
