from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest

from accounts.models import User
from accounts.signin import panel_failed_text, record_failure, second_factor
from devices.models import AndroidDevice


class ProfileForm(forms.ModelForm):
    """The device profile; its bounds are the model's (devices.models.PROFILE_LIMITS)."""

    class Meta:
        model = AndroidDevice
        fields = ["poll_interval", "daily_quota", "lease_seconds"]


class PanelLoginForm(AuthenticationForm):
    """The tenant panel's sign-in: one error text whatever failed; staff accounts are refused.

    Staff sign in at /admin/, where a TOTP code is asked too: a staff password alone must not open a session
    (the panel and the admin share it).
    """

    # Asked of everyone in the same step, so that no answer tells whether the password was right (see
    # accounts/signin.py); ignored for an account without two-factor sign-in.
    otp_token = forms.CharField(
        label="Authentication code",
        required=False,
        max_length=16,
        help_text="Only if you turned on two-factor sign-in: the 6 digits your authenticator app shows.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.error_messages = {**self.error_messages, "invalid_login": panel_failed_text()}
        self.error_messages["inactive"] = self.error_messages["invalid_login"]

    def confirm_login_allowed(self, user: User) -> None:
        """Staff, and a wrong or missing code for an account with two-factor sign-in, fail like a wrong password
        (and count as failures for django-axes)."""
        if user.is_staff or user.is_superuser:
            record_failure(self.request, self.cleaned_data.get("username", ""))
            raise self.get_invalid_login_error()
        super().confirm_login_allowed(user)
        passed, device = second_factor(user, self.cleaned_data.get("otp_token") or "")
        if not passed:
            record_failure(self.request, self.cleaned_data.get("username", ""))
            raise self.get_invalid_login_error()
        if device is not None:
            user.otp_device = device  # django-otp marks the session verified when the user signs in
