"""Account: profile (name), email change (with the current password), password change (Django's validators),
"sign out of all other sessions", optional two-factor sign-in (TOTP: enrol with a QR code, confirm with a first
code, turn off with the password); and the password reset by email, through the platform's own mail."""

from __future__ import annotations

import base64

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from panel.access import tenant_required
from panel.account_forms import (
    EmailChangeForm,
    PanelPasswordChangeForm,
    PanelPasswordResetForm,
    PanelSetPasswordForm,
    PasswordConfirmForm,
    ProfileForm,
    TotpConfirmForm,
)
from xsender.errors import Conflict, ValidationFailed
from xsender.middleware import client_ip
from xsender.throttling import hit

# Reset emails asked per minute: from one address, and for one account (the same answer either way).
RESET_LIMIT_PER_ADDRESS = 10
RESET_LIMIT_PER_EMAIL = 2


def _page(request: HttpRequest, status: int = 200, **forms: object) -> HttpResponse:
    user = request.user
    context = {
        "profile_form": forms.get("profile_form") or ProfileForm(initial={"name": user.name}),
        "email_form": forms.get("email_form") or EmailChangeForm(),
        "password_form": forms.get("password_form") or PanelPasswordChangeForm(user),
        "totp_off_form": forms.get("totp_off_form") or PasswordConfirmForm(),
        "totp_on": TOTPDevice.objects.filter(user=user, confirmed=True).exists(),
    }
    return render(request, "panel/account.html", context, status=status)


@tenant_required
def account_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


@tenant_required
@require_POST
def update_profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST)
    if form.is_valid():
        try:
            services.update_profile(user=request.user, name=form.cleaned_data["name"])
        except ValidationFailed as exc:
            form.add_domain_errors(exc)
        else:
            messages.success(request, "Profile saved.")
            return redirect("panel:account")
    return _page(request, status=400, profile_form=form)


@tenant_required
@require_POST
def change_email(request: HttpRequest) -> HttpResponse:
    form = EmailChangeForm(request.POST)
    if form.is_valid():
        try:
            user = services.change_email(user=request.user, **form.cleaned_data)
        except ValidationFailed as exc:
            form.add_domain_errors(exc)
        else:
            messages.success(request, f"You now sign in as {user.email}.")
            return redirect("panel:account")
    return _page(request, status=400, email_form=form)


@tenant_required
@require_POST
def change_password(request: HttpRequest) -> HttpResponse:
    """Every other session is signed out (the session hash follows the password); this one is kept."""
    form = PanelPasswordChangeForm(request.user, request.POST)
    if form.is_valid():
        user = form.save()
        update_session_auth_hash(request, user)
        messages.success(request, "Password changed. Your other sessions are signed out.")
        return redirect("panel:account")
    return _page(request, status=400, password_form=form)


@tenant_required
@require_POST
def end_other_sessions(request: HttpRequest) -> HttpResponse:
    user = services.end_sessions(user=request.user)
    update_session_auth_hash(request, user)  # this session stays
    messages.success(request, "Every other session is signed out (other browsers, other devices).")
    return redirect("panel:account")


@tenant_required
def enrol_totp(request: HttpRequest) -> HttpResponse:
    """GET starts an enrolment (a new authenticator, shown as a QR code); POST confirms it with a first code."""
    if request.method == "POST":
        return _confirm_totp(request)
    try:
        device = services.start_totp(user=request.user)
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("panel:account")
    return _enrol_page(request, device, TotpConfirmForm())


def _enrol_page(request: HttpRequest, device: TOTPDevice, form: TotpConfirmForm, status: int = 200) -> HttpResponse:
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    context = {"qr_svg": image.to_string(encoding="unicode"), "form": form, "secret": _base32(device)}
    response = render(request, "panel/totp_enrol.html", context, status=status)
    response["Cache-Control"] = "no-store"  # the page holds the authenticator's secret
    return response


def _base32(device: TOTPDevice) -> str:
    """The secret as authenticator apps take it typed in (for a phone that cannot scan the screen)."""
    return base64.b32encode(device.bin_key).decode().rstrip("=")


def _confirm_totp(request: HttpRequest) -> HttpResponse:
    form = TotpConfirmForm(request.POST)
    if form.is_valid():
        try:
            device = services.confirm_totp(user=request.user, token=form.cleaned_data["token"])
        except ValidationFailed as exc:
            form.add_domain_errors(exc)
        else:
            otp_login(request, device)  # this session is verified
            user = services.end_sessions(user=request.user)  # the others were opened without the code
            update_session_auth_hash(request, user)
            messages.success(request, "Two-factor sign-in is on: sign-in now asks for a code from your app.")
            return redirect("panel:account")
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).order_by("-id").first()
    if device is None:
        return redirect("panel:enrol-totp")
    return _enrol_page(request, device, form, status=400)


@tenant_required
@require_POST
def disable_totp(request: HttpRequest) -> HttpResponse:
    form = PasswordConfirmForm(request.POST)
    if form.is_valid():
        try:
            services.disable_totp(user=request.user, password=form.cleaned_data["password"])
        except ValidationFailed as exc:
            form.add_domain_errors(exc)
        else:
            messages.success(request, "Two-factor sign-in is off: sign-in asks for your password only.")
            return redirect("panel:account")
    return _page(request, status=400, totp_off_form=form)


# ---------------------------------------------------------------- password reset (Django's views, our forms)


class PasswordResetView(auth_views.PasswordResetView):
    """The same answer whether or not the address has an account; past a few requests a minute (per client
    address, per email address) nothing more is sent, with the same answer."""

    form_class = PanelPasswordResetForm
    template_name = "panel/password_reset.html"
    email_template_name = "email/password_reset.txt"
    subject_template_name = "email/password_reset_subject.txt"
    success_url = reverse_lazy("panel:password-reset-done")

    def form_valid(self, form: PanelPasswordResetForm) -> HttpResponse:
        email = form.cleaned_data["email"].strip().lower()
        by_address = hit(f"reset:ip:{client_ip(self.request.META)}", RESET_LIMIT_PER_ADDRESS)
        by_email = hit(f"reset:email:{email}", RESET_LIMIT_PER_EMAIL)
        if by_address.exceeded or by_email.exceeded:
            return redirect(self.success_url)
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "panel/password_reset_done.html"

    def get_context_data(self, **kwargs: object) -> dict[str, object]:
        minutes = max(1, settings.PASSWORD_RESET_TIMEOUT // 60)
        text = f"{minutes // 60} hour(s)" if minutes % 60 == 0 else f"{minutes} minutes"
        return {**super().get_context_data(**kwargs), "timeout_text": text}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = PanelSetPasswordForm
    template_name = "panel/password_reset_confirm.html"
    success_url = reverse_lazy("panel:password-reset-complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "panel/password_reset_complete.html"
