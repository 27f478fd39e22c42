"""The tenant panel: Gateway → Android SMS → Devices (list, add with a QR code, profile, revoke)."""

from __future__ import annotations

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from devices import services
from devices.models import AndroidDevice
from panel.forms import ProfileForm


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("panel:devices")


@login_required
def devices(request: HttpRequest) -> HttpResponse:
    rows = AndroidDevice.objects.filter(user=request.user).prefetch_related("sims").order_by("-created_at")
    return render(request, "panel/devices.html", {"devices": rows})


@login_required
@require_POST
def add_device(request: HttpRequest) -> HttpResponse:
    row, token = services.create_pairing_token(user=request.user)
    image = qrcode.make(services.pairing_payload(token), image_factory=qrcode.image.svg.SvgPathImage)
    return render(
        request,
        "panel/add_device.html",
        {"token": token, "expires_at": row.expires_at, "qr_svg": image.to_string(encoding="unicode")},
    )


@login_required
@require_POST
def revoke_device(request: HttpRequest, uid: str) -> HttpResponse:
    device = services.revoke_device(user=request.user, device_uid=uid)
    messages.success(request, f"{device} was revoked: its session token no longer works.")
    return redirect("panel:devices")


@login_required
def device_profile(request: HttpRequest, uid: str) -> HttpResponse:
    device = get_object_or_404(AndroidDevice, user=request.user, uid=uid)
    form = ProfileForm(
        request.POST or None,
        initial={
            "poll_interval": device.poll_interval,
            "daily_quota": device.daily_quota,
            "lease_seconds": device.lease_seconds,
        },
    )
    if request.method == "POST" and form.is_valid():
        services.update_profile(device=device, **form.cleaned_data)
        messages.success(request, f"Profile of {device} saved; the phone gets it when it next registers.")
        return redirect("panel:devices")
    return render(request, "panel/profile.html", {"device": device, "form": form})
