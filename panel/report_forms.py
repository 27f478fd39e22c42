"""The Reports page's filter: the period (last 7, 30 or 90 days) and the channel (all, or one)."""

from __future__ import annotations

from django import forms
from django.http import QueryDict

from accounts.models import Channel
from panel.traffic import DEFAULT_PERIOD, PERIODS


class TrafficFilterForm(forms.Form):
    days = forms.TypedChoiceField(
        label="Period", coerce=int, choices=[(str(n), f"Last {n} days") for n in PERIODS], initial=DEFAULT_PERIOD
    )
    channel = forms.ChoiceField(required=False, choices=[("", "All channels"), *Channel.choices])

    def __init__(self, query: QueryDict) -> None:
        """Bound to the query string, the period defaulting to DEFAULT_PERIOD days (the page without a query)."""
        super().__init__({"days": query.get("days") or str(DEFAULT_PERIOD), "channel": query.get("channel", "")})
