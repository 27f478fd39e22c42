"""Gateway admin: config edited as JSON and validated by the provider's backend, secrets masked, a test send,
removal through the service (refused while messages are queued, or forced: they fail and are refunded)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from accounts.admin import intermediate
from gateways import services
from gateways.backends import PROVIDERS, get_backend_class
from gateways.backends.base import SECRET_MASK
from gateways.models import Gateway
from xsender.errors import Conflict, ValidationFailed

# Fields fixed at creation: update_gateway cannot change them, so the change form shows them read-only.
FIXED = ("owner", "channel", "provider", "identifier")


class GatewayForm(forms.ModelForm):
    config_json = forms.CharField(
        label="Config", widget=forms.Textarea(attrs={"rows": 8, "cols": 80}), required=False,
        help_text=f"JSON; secrets show as {SECRET_MASK} and stay unchanged unless you replace them — or change where "
        "they are sent (host, port, base_url …): then enter them again. See docs/gateways.md.",
    )  # fmt: skip

    class Meta:
        model = Gateway
        fields = [*FIXED, "name", "is_default", "status", "retry_unknown_outcome", "connections", "shared_with"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            public = get_backend_class(self.instance.provider).public_config(self.instance.config)
            self.fields["config_json"].initial = json.dumps(public, indent=2)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        try:
            data["config"] = json.loads(data.get("config_json") or "{}")
        except json.JSONDecodeError as exc:
            raise forms.ValidationError({"config_json": f"Not valid JSON: {exc.msg}."}) from None
        owner = data["owner"] if "owner" in data else self.instance.owner
        try:
            if self.instance.pk:
                services.check_config_change(gateway=self.instance, config=data["config"])
            elif self.errors:  # still say what is wrong with the config
                provider = data.get("provider", "")
                if provider in PROVIDERS:
                    get_backend_class(provider).validate_config(data["config"])
            else:
                services.check_gateway(
                    owner=owner, channel=data.get("channel", ""), provider=data.get("provider", ""),
                    identifier=data.get("identifier", ""), config=data["config"],
                )  # fmt: skip
            services.check_shares(owner=owner, users=data.get("shared_with") or [])
        except ValidationFailed as exc:
            self._add_domain_errors(exc)
        return data

    def _add_domain_errors(self, exc: ValidationFailed) -> None:
        for error in exc.errors or [{"field": "", "message": exc.message}]:
            name, _, key = str(error.get("field", "")).partition(".")
            message = str(error.get("message", exc.message))
            if name == "config" and key:
                message = f"{key}: {message}"
            field = {"config": "config_json", "share_with": "shared_with"}.get(name, name)
            self.add_error(field if field in self.fields else None, message)


class TestSendForm(forms.Form):
    to = forms.CharField(label="Send a test to", help_text="An email address, or a number in international format.")


class ForcedRemovalForm(forms.Form):
    confirm = forms.BooleanField(
        label="Fail their queued messages (the senders are refunded) and remove the gateways",
        help_text="Messages already sent keep their history.",
    )


@admin.register(Gateway)
class GatewayAdmin(admin.ModelAdmin):
    form = GatewayForm
    list_display = (
        "identifier", "channel", "provider", "owner_display", "is_default", "status", "connection_state", "created_at",
    )  # fmt: skip
    list_filter = ("channel", "provider", "status", "is_default", ("owner", admin.EmptyFieldListFilter))
    search_fields = ("identifier", "name", "owner__email")
    list_select_related = ("owner",)
    autocomplete_fields = ("owner",)
    filter_horizontal = ("shared_with",)
    readonly_fields = ("uid", "created_at", "connection_state", "connection_state_at")
    actions = ["send_test", "remove_selected", "remove_forced"]

    @admin.display(description="Owner")
    def owner_display(self, obj: Gateway) -> str:
        return obj.owner.email if obj.owner_id else "admin"

    def get_readonly_fields(self, request: HttpRequest, obj: Gateway | None = None) -> tuple[str, ...]:
        return (*self.readonly_fields, *FIXED) if obj is not None else tuple(self.readonly_fields)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # removal goes through the service: the actions below
        return actions

    def save_model(self, request: HttpRequest, obj: Gateway, form: GatewayForm, change: bool) -> None:
        data = form.cleaned_data
        if change:
            fields = ("name", "is_default", "status", "retry_unknown_outcome", "connections")
            stored = set(obj.config or {})
            services.update_gateway(gateway=obj, config=data["config"], **{f: data[f] for f in fields})
            self._report_cleared(request, obj, stored)
            return
        created = services.add_gateway(
            owner=data["owner"], channel=data["channel"], provider=data["provider"], identifier=data["identifier"],
            name=data["name"], config=data["config"], is_default=data["is_default"],
            retry_unknown_outcome=data["retry_unknown_outcome"], connections=data["connections"],
        )  # fmt: skip
        obj.pk, obj.uid = created.pk, created.uid

    def _report_cleared(self, request: HttpRequest, gateway: Gateway, stored: set[str]) -> None:
        cleared = sorted(
            k for k in get_backend_class(gateway.provider).secret_keys if k in stored - set(gateway.config)
        )
        if cleared:
            text = f"{gateway.identifier}: {', '.join(cleared)} cleared with the endpoint change; enter it again if needed."
            self.message_user(request, text, messages.WARNING)

    def save_related(self, request: HttpRequest, form: GatewayForm, formsets: Any, change: bool) -> None:
        gateway = Gateway.objects.get(pk=form.instance.pk)
        services.set_gateway_shares(gateway=gateway, users=form.cleaned_data.get("shared_with") or [])

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except Conflict as exc:  # the delete view's transaction is rolled back: nothing was removed
            self.message_user(request, f"Not removed: {exc.message}", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:gateways_gateway_change", args=[object_id]))

    def delete_model(self, request: HttpRequest, obj: Gateway) -> None:
        services.remove_gateway(gateway=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Gateway]) -> None:
        for gateway in queryset:
            services.remove_gateway(gateway=gateway)

    @admin.action(description="Remove selected gateways", permissions=["delete"])
    def remove_selected(self, request: HttpRequest, queryset: QuerySet[Gateway]) -> None:
        self._remove(request, queryset, force=False)

    @admin.action(description="Remove, failing its queued messages", permissions=["delete"])
    def remove_forced(self, request: HttpRequest, queryset: QuerySet[Gateway]) -> HttpResponse | None:
        form, page = intermediate(self, request, queryset, ForcedRemovalForm, "Remove, failing queued messages")
        if form is None:
            return page
        self._remove(request, queryset, force=True)
        return None

    def _remove(self, request: HttpRequest, queryset: QuerySet[Gateway], *, force: bool) -> None:
        removed = []
        for gateway in queryset:
            try:
                services.remove_gateway(gateway=gateway, force=force)
            except Conflict as exc:
                self.message_user(request, f"Gateway {gateway.identifier} not removed: {exc.message}", messages.ERROR)
            else:
                removed.append(gateway)
        if removed:
            self.log_deletions(request, removed)
            self.message_user(request, f"Removed {', '.join(g.identifier for g in removed)}.")

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
