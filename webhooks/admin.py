"""Webhook endpoints in Django admin: registered and changed through the service (the address rules apply), the
signing secret shown once (on creation and rotation, never in a flash message), each endpoint's deliveries with
every attempt, "resend" and "send a test event". An endpoint without an owner is the admin's: it receives the
admin key's traffic."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from webhooks import services
from webhooks.choices import EVENT_TYPES
from webhooks.models import Attempt, Delivery, Endpoint
from xsender.errors import ValidationFailed


class EndpointForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        choices=[(t, t) for t in EVENT_TYPES], widget=forms.CheckboxSelectMultiple, initial=list(EVENT_TYPES)
    )

    class Meta:
        model = Endpoint
        fields = ["user", "url", "description", "event_types", "enabled"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        try:
            services.check_endpoint(
                owner=data.get("user"), url=data.get("url", ""), event_types=data.get("event_types", []),
                description=data.get("description", ""),
            )  # fmt: skip
        except ValidationFailed as exc:
            for error in exc.errors:
                field = str(error.get("field", ""))
                self.add_error(field if field in self.fields else None, str(error.get("message", exc.message)))
        return data


def _secret_page(modeladmin: admin.ModelAdmin, request: HttpRequest, issued: list[tuple[Endpoint, str]]) -> Any:
    context = {**modeladmin.admin_site.each_context(request), "title": "Signing secrets", "issued": issued,
               "opts": modeladmin.model._meta}  # fmt: skip
    response = TemplateResponse(request, "admin/webhooks_secrets.html", context)
    response["Cache-Control"] = "no-store"  # the page holds secrets: no browser or proxy keeps a copy
    return response


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ("url", "owner", "enabled", "types", "failing_since", "disabled_reason", "deliveries_link")
    list_filter = ("enabled",)
    search_fields = ("url", "description", "user__email")
    readonly_fields = ("uid", "failing_since", "disabled_reason", "created_at", "deliveries_link")
    actions = ["rotate", "send_test"]

    @admin.display(description="owner")
    def owner(self, endpoint: Endpoint) -> str:
        return endpoint.user.email if endpoint.user else "admin (admin-key traffic)"

    @admin.display(description="events")
    def types(self, endpoint: Endpoint) -> str:
        return "all" if len(endpoint.event_types) == len(EVENT_TYPES) else ", ".join(endpoint.event_types)

    @admin.display(description="deliveries")
    def deliveries_link(self, endpoint: Endpoint) -> str:
        url = reverse("admin:webhooks_delivery_changelist") + f"?endpoint__id__exact={endpoint.pk}"
        return format_html('<a href="{}">Deliveries and attempts</a>', url)

    def save_model(self, request: HttpRequest, obj: Endpoint, form: forms.ModelForm, change: bool) -> None:
        data = form.cleaned_data
        fields = {k: data[k] for k in ("url", "event_types", "description", "enabled")}
        if change:  # the stored endpoint, not the form's copy: re-enabling one switched off must be seen as such
            services.update_endpoint(endpoint=Endpoint.objects.get(pk=obj.pk), **fields)
            return
        endpoint, secret = services.add_endpoint(owner=data.get("user"), **fields)
        obj.pk, obj.uid = endpoint.pk, endpoint.uid
        obj._state.adding = False
        request._webhook_secret = (endpoint, secret)  # type: ignore[attr-defined]

    def response_add(self, request: HttpRequest, obj: Endpoint, post_url_continue: str | None = None) -> HttpResponse:
        issued = getattr(request, "_webhook_secret", None)
        if issued is None:
            return super().response_add(request, obj, post_url_continue)
        return _secret_page(self, request, [issued])

    def delete_model(self, request: HttpRequest, obj: Endpoint) -> None:
        services.remove_endpoint(endpoint=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        for endpoint in queryset:
            services.remove_endpoint(endpoint=endpoint)

    @admin.action(description="Rotate the signing secret (shows the new one once)", permissions=["change"])
    def rotate(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> HttpResponse:
        return _secret_page(self, request, [(e, services.rotate_secret(endpoint=e)) for e in queryset])

    @admin.action(description="Send a test event", permissions=["change"])
    def send_test(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        for endpoint in queryset:
            services.send_test_event(endpoint=endpoint)
        self.message_user(request, "Test events queued: see each endpoint's deliveries.")


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    fields = readonly_fields = ("at", "status_code", "duration_ms", "error", "response")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("event_id", "type", "endpoint", "status", "attempts", "last_status_code", "last_error",
                    "created_at", "next_attempt_at")  # fmt: skip
    list_filter = ("status", "type")
    search_fields = ("event_id", "endpoint__url")
    list_select_related = ("endpoint",)
    readonly_fields = ("endpoint", "event_id", "type", "payload", "status", "attempts", "next_attempt_at",
                       "created_at", "last_attempt_at", "last_status_code", "last_error", "delivered_at")  # fmt: skip
    inlines = [AttemptInline]
    actions = ["resend"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Resend (same webhook-id)", permissions=["change"])
    def resend(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        for delivery in queryset:
            services.resend_delivery(delivery=delivery)
        self.message_user(request, f"{queryset.count()} event(s) queued again.")
