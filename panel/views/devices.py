"""Gateways → Android: the tenant's phones (list, add with a QR code, profile, revoke)."""

from __future__ import annotations

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from devices import services
from devices.models import AndroidDevice
from devices.selectors import device_of, devices_of
from panel.access import tenant_required
from panel.forms import ProfileForm
from xsender.errors import NotFound


def _own_device(request: HttpRequest, uid: str) -> AndroidDevice:
    try:
        return device_of(user=request.user, uid=uid)
    except NotFound as exc:
        raise Http404(exc.message) from None


@tenant_required
def device_list(request: HttpRequest) -> HttpResponse:
    return render(request, "panel/devices.html", {"devices": devices_of(request.user)})


@tenant_required
@require_POST
def add_device(request: HttpRequest) -> HttpResponse:
    row, token = services.create_pairing_token(user=request.user)
    image = qrcode.make(services.pairing_payload(token), image_factory=qrcode.image.svg.SvgPathImage)
    return render(
        request,
        "panel/add_device.html",
        {"token": token, "expires_at": row.expires_at, "qr_svg": image.to_string(encoding="unicode")},
    )


@tenant_required
@require_POST
def revoke_device(request: HttpRequest, uid: str) -> HttpResponse:
    device = services.logout_device(device=_own_device(request, uid))
    messages.success(request, f"{device} was revoked: its session token no longer works.")
    return redirect("panel:devices")


@tenant_required
def device_profile(request: HttpRequest, uid: str) -> HttpResponse:
    device = _own_device(request, uid)
    form = ProfileForm(request.POST or None, instance=device)
    if request.method == "POST" and form.is_valid():
        services.update_profile(device=device, **form.cleaned_data)
        messages.success(request, f"Profile of {device} saved; the phone gets it when it next registers.")
        return redirect("panel:devices")
    return render(request, "panel/profile.html", {"device": device, "form": form})
