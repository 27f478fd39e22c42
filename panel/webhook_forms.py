"""Forms of the panel's Webhooks page: an endpoint, and the low-credit thresholds that raise credit.low."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import CHANNELS, Channel
from webhooks.choices import EVENT_TYPES
from webhooks.models import Endpoint
from xsender.errors import ValidationFailed


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="URL",
        max_length=2048,
        help_text="Where events are posted (https). It must be reachable from the internet.",
    )
    description = forms.CharField(max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label="Events", choices=[(t, t) for t in EVENT_TYPES], widget=forms.CheckboxSelectMultiple,
        initial=list(EVENT_TYPES),
    )  # fmt: skip
    enabled = forms.BooleanField(required=False, initial=True)

    @classmethod
    def of(cls, endpoint: Endpoint, data: Any = None) -> EndpointForm:
        initial = {"url": endpoint.url, "description": endpoint.description, "enabled": endpoint.enabled,
                   "event_types": endpoint.event_types}  # fmt: skip
        return cls(data, initial=initial)

    def add_domain_errors(self, exc: ValidationFailed) -> None:
        """The service's field errors, shown at their fields."""
        for error in exc.errors or [{"field": "", "message": exc.message}]:
            field = str(error.get("field", ""))
            self.add_error(field if field in self.fields else None, str(error.get("message", exc.message)))


class CreditAlertsForm(forms.Form):
    """Per channel: below how many credits a debit raises credit.low (0: never)."""

    def __init__(self, *args: Any, thresholds: dict[str, int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for channel in CHANNELS:
            self.fields[channel] = forms.IntegerField(
                label=f"{Channel(channel).label} below", min_value=0, max_value=10**9,
                initial=thresholds.get(channel, 0), help_text="credits (0: no alert)",
            )  # fmt: skip
