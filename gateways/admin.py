"""Gateway admin: config edited as JSON and validated by the provider's backend, secrets masked, a test send."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from accounts.admin import intermediate
from gateways import services
from gateways.backends import get_backend_class
from gateways.models import Gateway
from xsender.errors import ValidationFailed

MASK = "********"


class GatewayForm(forms.ModelForm):
    config_json = forms.CharField(
        label="Config", widget=forms.Textarea(attrs={"rows": 8, "cols": 80}), required=False,
        help_text="JSON; secrets show as ******** and stay unchanged unless you replace them. See docs/gateways.md.",
    )  # fmt: skip

    class Meta:
        model = Gateway
        fields = [
            "owner",
            "channel",
            "provider",
            "identifier",
            "name",
            "is_default",
            "status",
            "retry_unknown_outcome",
            "connections",
            "shared_with",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            public = get_backend_class(self.instance.provider).public_config(self.instance.config)
            self.fields["config_json"].initial = json.dumps(public, indent=2)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        try:
            config = json.loads(data.get("config_json") or "{}")
        except json.JSONDecodeError as exc:
            raise forms.ValidationError({"config_json": f"Not valid JSON: {exc.msg}."}) from None
        if self.instance.pk and isinstance(config, dict):
            config = {k: self.instance.config.get(k) if v == MASK else v for k, v in config.items()}
        provider = data.get("provider") or self.instance.provider
        try:
            data["config"] = get_backend_class(provider).validate_config(config)
        except (ValidationFailed, LookupError) as exc:
            raise forms.ValidationError({"config_json": getattr(exc, "message", str(exc))}) from None
        return data


class TestSendForm(forms.Form):
    to = forms.CharField(label="Send a test to", help_text="An email address, or a number in international format.")


@admin.register(Gateway)
class GatewayAdmin(admin.ModelAdmin):
    form = GatewayForm
    list_display = ("identifier", "channel", "provider", "owner_display", "is_default", "status", "created_at")
    list_filter = ("channel", "provider", "status", "is_default", ("owner", admin.EmptyFieldListFilter))
    search_fields = ("identifier", "name", "owner__email")
    list_select_related = ("owner",)
    autocomplete_fields = ("owner",)
    filter_horizontal = ("shared_with",)
    readonly_fields = ("uid", "created_at")
    actions = ["send_test"]

    @admin.display(description="Owner")
    def owner_display(self, obj: Gateway) -> str:
        return obj.owner.email if obj.owner_id else "admin"

    def save_model(self, request: HttpRequest, obj: Gateway, form: GatewayForm, change: bool) -> None:
        data = form.cleaned_data
        if change:
            fields = ("name", "is_default", "status", "retry_unknown_outcome", "connections")
            services.update_gateway(gateway=obj, config=data["config"], **{f: data[f] for f in fields})
            return
        created = services.add_gateway(
            owner=data["owner"], channel=data["channel"], provider=data["provider"], identifier=data["identifier"],
            name=data["name"], config=data["config"], is_default=data["is_default"],
            retry_unknown_outcome=data["retry_unknown_outcome"], connections=data["connections"],
        )  # fmt: skip
        obj.pk, obj.uid = created.pk, created.uid

    def save_related(self, request: HttpRequest, form: GatewayForm, formsets: Any, change: bool) -> None:
        form.instance = Gateway.objects.get(pk=form.instance.pk)
        super().save_related(request, form, formsets, change)

    def delete_model(self, request: HttpRequest, obj: Gateway) -> None:
        services.remove_gateway(gateway=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Gateway]) -> None:
        for gateway in queryset:
            services.remove_gateway(gateway=gateway)

    @admin.action(description="Send a test message", permissions=["change"])
    def send_test(self, request: HttpRequest, queryset: QuerySet[Gateway]) -> HttpResponse | None:
        form, page = intermediate(self, request, queryset, TestSendForm, "Send a test message")
        if form is None:
            return page
        for gateway in queryset:
            result = services.send_test_message(gateway=gateway, to=form.cleaned_data["to"])
            if result.ok:
                self.message_user(request, f"{gateway.identifier}: sent ({result.provider_message_id or 'no id'}).")
            else:
                self.message_user(request, f"{gateway.identifier}: failed — {result.error}", messages.ERROR)
        return None
