"""Webhooks: the tenant's endpoints (add, edit, remove, rotate the secret), each endpoint's deliveries with every
attempt (resend, send a test event), the notice when one was switched off for failing, and the low-credit
thresholds that raise credit.low."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import services as accounts
from accounts.models import CHANNELS, CreditAccount
from panel.access import tenant_required
from panel.webhook_forms import CreditAlertsForm, EndpointForm
from webhooks import selectors, services
from webhooks.models import Endpoint
from xsender.errors import NotFound, ValidationFailed


def _own_endpoint(request: HttpRequest, uid: Any) -> Endpoint:
    try:
        return selectors.endpoint_of(user=request.user, uid=uid)
    except NotFound as exc:
        raise Http404(exc.message) from None


def _thresholds(request: HttpRequest) -> dict[str, int]:
    rows = CreditAccount.objects.filter(user=request.user).values_list("channel", "low_credit_threshold")
    return dict(rows)


def _secret_page(request: HttpRequest, endpoint: Endpoint, secret: str, rotated: bool) -> HttpResponse:
    response = render(
        request, "panel/webhook_secret.html", {"endpoint": endpoint, "secret": secret, "rotated": rotated}
    )
    response["Cache-Control"] = "no-store"  # the page holds the secret: no browser or proxy keeps a copy
    return response


@tenant_required
def webhook_list(request: HttpRequest) -> HttpResponse:
    context = {
        "endpoints": selectors.endpoints_of(request.user),
        "disabled": selectors.disabled_endpoints(request.user),
        "alerts": CreditAlertsForm(thresholds=_thresholds(request)),
    }
    return render(request, "panel/webhooks.html", context)


@tenant_required
def add_webhook(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = services.add_endpoint(owner=request.user, **form.cleaned_data)
        except ValidationFailed as exc:
            form.add_domain_errors(exc)
        else:
            return _secret_page(request, endpoint, secret, rotated=False)
    return render(request, "panel/webhook_form.html", {"form": form, "endpoint": None})


@tenant_required
def webhook_detail(request: HttpRequest, uid: Any) -> HttpResponse:
    endpoint = _own_endpoint(request, uid)
    context = {"endpoint": endpoint, "deliveries": selectors.recent_deliveries(endpoint)}
    return render(request, "panel/webhook.html", context)


@tenant_required
def edit_webhook(request: HttpRequest, uid: Any) -> HttpResponse:
    endpoint = _own_endpoint(request, uid)
    form = EndpointForm.of(endpoint, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_endpoint(endpoint=endpoint, **form.cleaned_data)
        except ValidationFailed as exc:
            form.add_domain_errors(exc)
        else:
            messages.success(request, "Endpoint saved.")
            return redirect("panel:webhook", uid=endpoint.uid)
    return render(request, "panel/webhook_form.html", {"form": form, "endpoint": endpoint})


@tenant_required
@require_POST
def delete_webhook(request: HttpRequest, uid: Any) -> HttpResponse:
    endpoint = _own_endpoint(request, uid)
    services.remove_endpoint(endpoint=endpoint)
    messages.success(request, f"Endpoint {endpoint.url} removed.")
    return redirect("panel:webhooks")


@tenant_required
@require_POST
def rotate_webhook_secret(request: HttpRequest, uid: Any) -> HttpResponse:
    endpoint = _own_endpoint(request, uid)
    return _secret_page(request, endpoint, services.rotate_secret(endpoint=endpoint), rotated=True)


@tenant_required
@require_POST
def test_webhook(request: HttpRequest, uid: Any) -> HttpResponse:
    endpoint = _own_endpoint(request, uid)
    services.send_test_event(endpoint=endpoint)
    messages.success(request, "Test event queued: it appears below once sent.")
    return redirect("panel:webhook", uid=endpoint.uid)


@tenant_required
@require_POST
def resend_webhook(request: HttpRequest, uid: Any, pk: int) -> HttpResponse:
    endpoint = _own_endpoint(request, uid)
    try:
        delivery = selectors.delivery_of(endpoint=endpoint, pk=pk)
    except NotFound as exc:
        raise Http404(exc.message) from None
    services.resend_delivery(delivery=delivery)
    messages.success(request, f"{delivery.type} {delivery.event_id} queued again (same webhook-id).")
    return redirect("panel:webhook", uid=endpoint.uid)


@tenant_required
@require_POST
def credit_alerts(request: HttpRequest) -> HttpResponse:
    form = CreditAlertsForm(request.POST, thresholds=_thresholds(request))
    if not form.is_valid():
        context = {"endpoints": selectors.endpoints_of(request.user), "alerts": form,
                   "disabled": selectors.disabled_endpoints(request.user)}  # fmt: skip
        return render(request, "panel/webhooks.html", context, status=400)
    for channel in CHANNELS:
        accounts.set_low_credit_threshold(user=request.user, channel=channel, threshold=form.cleaned_data[channel])
    messages.success(request, "Low-credit alerts saved.")
    return redirect("panel:webhooks")
