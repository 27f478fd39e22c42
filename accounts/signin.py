"""Sign-in to the admin and the tenant panel: one error text whatever failed, throttled by django-axes.

- Every failure reads the same (unknown email, wrong password, suspended account, wrong or missing TOTP code,
  a staff account at the panel, a locked-out account or address), so no answer tells which part was right.
- A failure after a right password (wrong TOTP code, staff at the panel) is reported as a failed sign-in too,
  so django-axes counts it like a wrong password.
- While locked out the same page is answered with status 429; the password is not even checked.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django_otp import devices_for_user
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User


def _pause() -> str:
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    return f"{seconds // 60} minutes" if seconds >= 120 else f"{seconds} seconds"


def panel_failed_text() -> str:
    return (
        f"Sign-in failed: check your email address and password. After {settings.AXES_FAILURE_LIMIT} failed "
        f"attempts, sign-in is paused for {_pause()}."
    )


def admin_failed_text() -> str:
    code = " and authentication code" if settings.XSENDER_ADMIN_2FA else ""
    return (
        f"Sign-in failed: check the email address, password{code} of your staff account. After "
        f"{settings.AXES_FAILURE_LIMIT} failed attempts, sign-in is paused for {_pause()}."
    )


def record_failure(request: HttpRequest | None, username: str) -> None:
    """Counts a sign-in refused after a right password, as django.contrib.auth does for a wrong one."""
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The account an attempt counts against (AXES_USERNAME_CALLABLE): one spelling per address."""
    raw = (credentials or {}).get("username")
    if raw is None and request is not None:
        raw = request.POST.get("username")
    name = str(raw or "").strip().lower()[:255]
    return name or None


def lockout_response(
    request: HttpRequest, response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the sign-in page exactly as for any failure (it already carries the one error
    text), with status 429."""
    if response is None:
        text = admin_failed_text() if request.path.startswith("/admin/") else panel_failed_text()
        response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response.status_code = 429
    return response


def _verified_device(user: User, token: str) -> TOTPDevice | None:
    """The user's confirmed device that accepts `token` (each device's own throttling applies)."""
    if not token.isdigit():
        return None
    # for_verify locks the devices, so that two requests cannot both spend one code or dodge its throttling.
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=True, for_verify=True):
            allowed, _ = device.verify_is_allowed()
            if allowed and device.verify_token(token):
                return device
    return None


def second_factor(user: User, token: str) -> tuple[bool, TOTPDevice | None]:
    """Whether `user` passes the second factor with `token`, and the device that accepted it. A user without a
    confirmed authenticator passes with none; with one, only a code it accepts passes."""
    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return True, None
    device = _verified_device(user, (token or "").replace(" ", "").strip())
    return device is not None, device


class AdminLoginForm(AdminAuthenticationForm):
    """The admin sign-in in one step: email, password and (with XSENDER_ADMIN_2FA) the TOTP code together.

    django-otp's own form asks for the code only after a right password and lists the user's devices then,
    which tells an attacker the password was right. Here every failure is the same error on the same page.
    """

    otp_token = forms.CharField(
        label="Authentication code",
        required=False,
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        if not settings.XSENDER_ADMIN_2FA:
            del self.fields["otp_token"]

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not username or not password:
            return self.cleaned_data  # the field errors say what is missing, whoever the account is
        user = authenticate(self.request, username=username, password=password)  # a failure is counted there
        if user is None:
            raise self.failed()
        device = None
        if user.is_active and user.is_staff and settings.XSENDER_ADMIN_2FA:
            device = _verified_device(user, (self.cleaned_data.get("otp_token") or "").strip())
        if not (user.is_active and user.is_staff) or (settings.XSENDER_ADMIN_2FA and device is None):
            record_failure(self.request, username)
            raise self.failed()
        user.otp_device = device  # django-otp marks the session verified when the user signs in
        self.user_cache = user
        return self.cleaned_data

    def failed(self) -> forms.ValidationError:
        return forms.ValidationError(admin_failed_text(), code="invalid_login")
