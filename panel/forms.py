from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest

from accounts.models import User
from accounts.signin import panel_failed_text, record_failure
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

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.error_messages = {**self.error_messages, "invalid_login": panel_failed_text()}
        self.error_messages["inactive"] = self.error_messages["invalid_login"]

    def confirm_login_allowed(self, user: User) -> None:
        if user.is_staff or user.is_superuser:
            record_failure(self.request, self.cleaned_data.get("username", ""))
            raise self.get_invalid_login_error()
        super().confirm_login_allowed(user)
