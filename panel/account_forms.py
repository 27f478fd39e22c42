"""Forms of the panel's API keys, Credits and Account pages and of the password reset. They shape input; the
accounts services check it and write (their errors shown at the field they name)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import PasswordChangeForm, PasswordResetForm, SetPasswordForm

from accounts import services
from accounts.models import Channel, CreditEntry, User
from accounts.selectors import LedgerFilter
from xsender.errors import ValidationFailed


class DomainErrorsMixin:
    def add_domain_errors(self, exc: ValidationFailed) -> None:
        for error in exc.errors or [{"field": "", "message": exc.message}]:
            field = str(error.get("field", ""))
            self.add_error(field if field in self.fields else None, str(error.get("message", exc.message)))  # type: ignore[attr-defined]


class KeyNameForm(DomainErrorsMixin, forms.Form):
    name = forms.CharField(max_length=100, help_text="What the key is for, e.g. “billing server”.")


class LedgerFilterForm(forms.Form):
    channel = forms.ChoiceField(required=False, choices=[("", "All channels"), *Channel.choices])
    reason = forms.ChoiceField(required=False, choices=[("", "All reasons"), *CreditEntry.Reason.choices])
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end date is before the start date.")
        return data

    def wanted(self) -> LedgerFilter:
        data = self.cleaned_data
        return LedgerFilter(
            channel=data.get("channel") or "", reason=data.get("reason") or "", since=data.get("since"),
            until=data.get("until"),
        )  # fmt: skip


class ProfileForm(DomainErrorsMixin, forms.Form):
    name = forms.CharField(max_length=150, required=False)


class EmailChangeForm(DomainErrorsMixin, forms.Form):
    email = forms.EmailField(label="New email address", max_length=254)
    password = forms.CharField(
        label="Current password", strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )  # fmt: skip


class PanelPasswordChangeForm(PasswordChangeForm):
    """Django's form (old password, the new one twice, AUTH_PASSWORD_VALIDATORS); the change goes through the
    accounts service."""

    def save(self, commit: bool = True) -> User:
        return services.set_user_password(user=self.user, password=self.cleaned_data["new_password1"])


class TotpConfirmForm(DomainErrorsMixin, forms.Form):
    token = forms.CharField(
        label="Code from your app", max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )  # fmt: skip


class PasswordConfirmForm(DomainErrorsMixin, forms.Form):
    password = forms.CharField(
        label="Current password", strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )  # fmt: skip


class PanelPasswordResetForm(PasswordResetForm):
    """Django's reset form for tenants only (staff keep the admin's own way), its link built on XSENDER_BASE_URL
    (never on the request's Host header). Whether or not the address has an account, the answer is the same."""

    def get_users(self, email: str) -> Iterator[User]:
        """Active tenants with this address — also those created without a password (`xsender:user:create`
        without --password): the link is how they choose their first one."""
        email = email.strip()
        users = User.objects.filter(email__iexact=email, is_active=True, is_staff=False, is_superuser=False)
        # As Django's own form does: the database's case-insensitive match must also be Unicode's (the mail goes to
        # the stored address, never to the one typed).
        return (user for user in users if _folded(user.email) == _folded(email))

    def save(self, **kwargs: Any) -> None:
        context = {**(kwargs.pop("extra_email_context", None) or {}), "base_url": settings.XSENDER_BASE_URL.rstrip("/")}
        super().save(extra_email_context=context, **kwargs)


class PanelSetPasswordForm(SetPasswordForm):
    """The new password after a reset: Django's validators, saved through the accounts service."""

    def save(self, commit: bool = True) -> User:
        return services.set_user_password(user=self.user, password=self.cleaned_data["new_password1"])


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()
