"""Gateways (Email, SMS, WhatsApp): the tenant's own gateways — add and edit with a form per provider (built from the
same config schemas as `xsender:gateway:add`), default per channel, connections, a test message, removal (refused
while messages are queued, or forced after a confirmation) — and the admin gateways shared with them, read-only.
A WhatsApp Web (WAHA) gateway shows its session's state and, while it waits to be linked, the QR code to scan.
Android phones are added from Devices."""

from __future__ import annotations

import base64
from typing import Any

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.models import CHANNELS, Channel
from gateways import services
from gateways.backends import get_backend_class
from gateways.models import Gateway
from gateways.selectors import own_gateway, own_gateways, shared_gateways
from messaging.validation import normalise_number
from panel.access import tenant_required
from panel.gateway_forms import ForcedRemovalForm, GatewayForm, TestSendForm, tenant_providers
from xsender.errors import Conflict, NotFound, ValidationFailed


def _own(request: HttpRequest, uid: Any) -> Gateway:
    try:
        return own_gateway(user=request.user, uid=uid)
    except NotFound as exc:
        raise Http404(exc.message) from None


def _editable(request: HttpRequest, uid: Any) -> Gateway:
    gateway = _own(request, uid)
    if gateway.provider == "android":  # a phone's gateway is managed from Devices
        raise Http404("Android gateways are managed from Devices.")
    return gateway


@tenant_required
def gateway_list(request: HttpRequest) -> HttpResponse:
    channel = request.GET.get("channel", "")
    channel = channel if channel in CHANNELS else ""
    own, shared = own_gateways(request.user), shared_gateways(request.user)
    if channel:
        own, shared = own.filter(channel=channel), shared.filter(channel=channel)
    context = {
        "channel": channel,
        "channel_label": Channel(channel).label if channel else "",
        "channels": [(c, Channel(c).label) for c in ([channel] if channel else CHANNELS)],
        "own": list(own.order_by("channel", "identifier")),
        "shared": list(shared.order_by("channel", "identifier")),
    }
    return render(request, "panel/gateways.html", context)


@tenant_required
def add_gateway(request: HttpRequest) -> HttpResponse:
    """?channel=…&provider=…: without a known pair, the choice of provider; with one, its form."""
    channel, provider = request.GET.get("channel", ""), request.GET.get("provider", "")
    if channel not in CHANNELS or provider not in tenant_providers(channel):
        choices = [(c, Channel(c).label, tenant_providers(c)) for c in CHANNELS if not channel or c == channel]
        return render(request, "panel/gateway_providers.html", {"choices": choices})
    form = GatewayForm(request.POST or None, provider=provider)
    if request.method == "POST" and form.is_valid():
        try:
            gateway = services.add_gateway(owner=request.user, channel=channel, provider=provider,
                                           config=form.config(), **_common(form))  # fmt: skip
        except ValidationFailed as exc:
            form.add_domain_errors(exc)
        else:
            messages.success(request, f"Gateway {gateway.identifier} added. Send it a test message to check it.")
            return redirect("panel:gateway", uid=gateway.uid)
    context = {"form": form, "channel": channel, "provider": provider, "gateway": None}
    return render(request, "panel/gateway_form.html", context, status=400 if form.errors else 200)


def _common(form: GatewayForm) -> dict[str, Any]:
    fields = ("identifier", "name", "is_default", "connections", "retry_unknown_outcome")
    common = {name: form.cleaned_data[name] for name in fields if name in form.cleaned_data}
    if form.gateway is not None:
        common["status"] = form.cleaned_data["status"]
    return common


@tenant_required
def gateway_detail(request: HttpRequest, uid: Any) -> HttpResponse:
    """The gateway's settings (edit), its test send and its removal."""
    gateway = _editable(request, uid)
    form = GatewayForm(request.POST or None, provider=gateway.provider, gateway=gateway)
    if request.method == "POST" and form.is_valid():
        stored = set(gateway.config or {})
        try:
            services.update_gateway(gateway=gateway, config=form.config(), **_common(form))
        except ValidationFailed as exc:
            form.add_domain_errors(exc)
        else:
            _report_cleared(request, gateway, stored)
            messages.success(request, f"Gateway {gateway.identifier} saved.")
            return redirect("panel:gateway", uid=gateway.uid)
    return _detail(request, gateway, form=form, status=400 if form.errors else 200)


def _detail(
    request: HttpRequest,
    gateway: Gateway,
    *,
    form: GatewayForm | None = None,
    test_form: TestSendForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "gateway": gateway,
        "form": form or GatewayForm(provider=gateway.provider, gateway=gateway),
        "test_form": test_form or TestSendForm(),
        "bridge": gateway.provider == "whatsapp_web",
    }
    return render(request, "panel/gateway_form.html", context, status=status)


def _report_cleared(request: HttpRequest, gateway: Gateway, stored: set[str]) -> None:
    cleared = sorted(k for k in get_backend_class(gateway.provider).secret_keys if k in stored - set(gateway.config))
    if cleared:
        text = f"{', '.join(cleared)} cleared: where it is sent changed. Enter it again if the provider needs it."
        messages.warning(request, text)


@tenant_required
@require_POST
def set_default_gateway(request: HttpRequest, uid: Any) -> HttpResponse:
    gateway = services.update_gateway(gateway=_editable(request, uid), is_default=True)
    messages.success(request, f"{gateway.identifier} is now your default {Channel(gateway.channel).label} gateway.")
    return redirect(_list_url(gateway.channel))


def _list_url(channel: str) -> str:
    return f"{reverse('panel:gateways')}?channel={channel}"


def _test_recipient(gateway: Gateway, to: str) -> str:
    """The test's recipient in the form the channel needs; raises ValidationFailed (field "to")."""
    to = to.strip()
    if gateway.channel == "email":
        try:
            validate_email(to)
        except DjangoValidationError:
            raise ValidationFailed.single("to", "Enter an email address.") from None
        return to
    number = normalise_number(to)
    if number is None:
        raise ValidationFailed.single("to", "Enter a number in international format, e.g. +15555550123.")
    return number


@tenant_required
@require_POST
def test_gateway(request: HttpRequest, uid: Any) -> HttpResponse:
    """Sends one test message now, through the gateway alone (no credit charged, nothing in History)."""
    gateway = _editable(request, uid)
    form = TestSendForm(request.POST)
    if form.is_valid():
        try:
            to = _test_recipient(gateway, form.cleaned_data["to"])
        except ValidationFailed as exc:
            form.add_error("to", exc.message)
        else:
            result = services.send_test_message(gateway=gateway, to=to)
            if result.ok:
                messages.success(request, f"Test message sent to {to} through {gateway.identifier}.")
            else:
                messages.error(request, f"The test message was not sent: {result.error or 'the provider refused it.'}")
            return redirect("panel:gateway", uid=gateway.uid)
    return _detail(request, gateway, test_form=form, status=400)


@tenant_required
def remove_gateway(request: HttpRequest, uid: Any) -> HttpResponse:
    """POST removes; refused (with the count) while messages are queued, when the forced removal is offered."""
    gateway = _editable(request, uid)
    if request.method != "POST":
        return render(request, "panel/gateway_remove.html", {"gateway": gateway, "removal": None})
    form = ForcedRemovalForm(request.POST) if "force" in request.POST else None
    if form is not None and not form.is_valid():
        return render(request, "panel/gateway_remove.html", {"gateway": gateway, "removal": form}, status=400)
    try:
        services.remove_gateway(gateway=gateway, force=form is not None)
    except Conflict as exc:
        context = {"gateway": gateway, "refusal": exc.message, "removal": ForcedRemovalForm()}
        return render(request, "panel/gateway_remove.html", context, status=409)
    messages.success(request, f"Gateway {gateway.identifier} removed.")
    return redirect(_list_url(gateway.channel))


@tenant_required
def gateway_session(request: HttpRequest, uid: Any) -> HttpResponse:
    """A WhatsApp Web gateway's session on its bridge, and the QR code to link it while it waits for one (asked by
    the server, a few seconds at most). The detail page loads it with htmx; without JavaScript it is a page."""
    gateway = _editable(request, uid)
    if gateway.provider != "whatsapp_web":
        raise Http404("Only WhatsApp Web gateways have a session.")
    backend = gateway.backend()
    session = backend.session_status()
    qr = backend.qr_code() if session.needs_qr else None
    context = {"gateway": gateway, "session": session, "qr_svg": "", "qr_png": ""}
    if qr is not None and qr.raw:
        image = qrcode.make(qr.raw, image_factory=qrcode.image.svg.SvgPathImage)
        context["qr_svg"] = image.to_string(encoding="unicode")
    elif qr is not None and qr.png:
        context["qr_png"] = base64.b64encode(qr.png).decode()  # checked to be a PNG (waha_session)
    fragment = request.headers.get("HX-Request")
    return render(request, "panel/_gateway_session.html" if fragment else "panel/gateway_session.html", context)
