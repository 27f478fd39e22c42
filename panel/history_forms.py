"""The history's filters, read from the query string (GET: a filtered list has a URL to share or export)."""

from __future__ import annotations

from django import forms

from accounts.models import Channel, User
from gateways.selectors import visible_gateways
from messaging.models import Source, Status
from messaging.selectors import HistoryFilter

ANY = [("", "Any")]


class HistoryFilterForm(forms.Form):
    channel = forms.ChoiceField(choices=ANY + list(Channel.choices), required=False)
    status = forms.ChoiceField(choices=ANY + list(Status.choices), required=False)
    gateway = forms.ChoiceField(choices=ANY, required=False)
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    search = forms.CharField(
        required=False,
        max_length=320,
        label="Recipient or uid",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "name@example.com, +15555550123 or a uid"}),
    )
    source = forms.ChoiceField(choices=ANY + list(Source.choices), required=False)

    def __init__(self, data: object, *, user: User) -> None:
        super().__init__(data)
        gateways = visible_gateways(user).only("uid", "identifier", "channel").order_by("channel", "identifier")
        self.gateway_ids = {str(g.uid): g.pk for g in gateways}
        self.fields["gateway"].choices = ANY + [(str(g.uid), f"{g.identifier} ({g.channel})") for g in gateways]

    def clean(self) -> dict[str, object]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return data

    def wanted(self) -> HistoryFilter:
        data = self.cleaned_data
        return HistoryFilter(
            channel=data.get("channel") or "",
            status=data.get("status") or "",
            gateway=self.gateway_ids.get(data.get("gateway") or ""),
            since=data.get("since"),
            until=data.get("until"),
            search=data.get("search") or "",
            source=data.get("source") or "",
        )
