"""The form of the panel's Senders page: an address and the name shown beside it. The rules are
campaigns.senders': nothing is required here, and the service's errors (ValidationFailed, the Conflict of an address
the tenant has) are shown at the fields they name."""

from __future__ import annotations

from django import forms


class SenderForm(forms.Form):
    email = forms.CharField(
        required=False,
        strip=False,
        label="Email address",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "placeholder": "news@example.com"}),
        help_text="A confirmation link is emailed to this address; it can be a campaign's From once confirmed.",
    )
    name = forms.CharField(
        required=False,
        strip=False,
        label="Name",
        widget=forms.TextInput(attrs={"placeholder": "Alice News"}),
        help_text="Shown beside the address in your readers' mail (optional).",
    )
