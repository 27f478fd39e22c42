"""The panel's gateway forms, built from each provider's config schema (gateways/backends/*: `config_schema`,
`secret_keys`, `endpoint_keys`) — the same schema `xsender:gateway:add` validates against. A form only shapes input
into a config; gateways.services checks it and its errors (the same messages as the command's) are shown at the
field they name.

- secrets are write-only: never rendered back; left empty on edit they keep the stored value (sent to the service
  as the mask), unless an endpoint key changes — then the service clears them and says to enter them again;
- a tenant's gateway may only reach public addresses: its URL and host keys pass the address rules (hosts in
  XSENDER_FETCH_ALLOWED_HOSTS excepted), so nobody can point a gateway — or its test send — at the internal network.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from gateways.backends import PROVIDERS, get_backend_class
from gateways.backends.base import SECRET_MASK, Backend
from gateways.models import MAX_CONNECTIONS, Gateway
from xsender.addresses import AddressRefused, check_host, check_url
from xsender.errors import ValidationFailed

# Added elsewhere: Android gateways by pairing a phone (Devices), the console only for development.
HIDDEN_PROVIDERS = ("android",)
BOOLEAN_CHOICES = [("", "Default"), ("yes", "Yes"), ("no", "No")]
CONFIG_PREFIX = "config_"
HOST_KEYS = ("host",)  # config keys naming a host the worker connects to (URL keys end in "url")


def tenant_providers(channel: str) -> list[str]:
    """The providers a tenant may add for `channel`, in name order."""
    hidden = HIDDEN_PROVIDERS if settings.DEBUG else (*HIDDEN_PROVIDERS, "console")
    return [p for p in sorted(PROVIDERS) if p not in hidden and channel in get_backend_class(p).channels]


def _config_field(backend: type[Backend], key: str, editing: bool) -> forms.Field:
    """Never required here: a missing key is the provider's own error ("Required by smtp."), as the command says."""
    kind, required, doc = backend.config_schema[key]
    label = f"{key} (required)" if required else key
    if key in backend.secret_keys:
        keep = " Leave empty to keep the stored one." if editing else ""
        widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
        return forms.CharField(label=label, required=False, help_text=doc + keep, widget=widget)
    if kind is bool:
        return forms.ChoiceField(label=label, required=False, choices=BOOLEAN_CHOICES, help_text=doc)
    if kind is int:
        return forms.IntegerField(label=label, required=False, help_text=doc)
    return forms.CharField(label=label, required=False, help_text=doc, max_length=2048)


class GatewayForm(forms.Form):
    """A gateway of one provider: its common fields, then one field per config key of the provider's schema."""

    identifier = forms.CharField(
        max_length=100, help_text="What the API's gateway_identifier names: letters, digits, '.', '_' or '-'."
    )
    name = forms.CharField(max_length=150, required=False)
    is_default = forms.BooleanField(label="Default for its channel", required=False)
    connections = forms.IntegerField(
        min_value=1, max_value=MAX_CONNECTIONS, initial=2,
        help_text=f"Connections a worker opens to the provider at once (1–{MAX_CONNECTIONS}).",
    )  # fmt: skip
    retry_unknown_outcome = forms.BooleanField(
        label="Resend when the outcome is unknown", required=False,
        help_text="A message whose hand-off was interrupted is sent again (it may arrive twice).",
    )  # fmt: skip
    status = forms.ChoiceField(choices=Gateway.Status.choices, initial=Gateway.Status.ACTIVE)

    def __init__(self, data: Any = None, *, provider: str, gateway: Gateway | None = None) -> None:
        self.backend = get_backend_class(provider)
        self.provider = provider
        self.gateway = gateway
        super().__init__(data, initial=self._initial(gateway))
        if gateway is not None:
            del self.fields["identifier"]  # fixed at creation
        else:
            del self.fields["status"]  # a new gateway starts active
        for key in self.backend.config_schema:
            self.fields[CONFIG_PREFIX + key] = _config_field(self.backend, key, editing=gateway is not None)

    def _initial(self, gateway: Gateway | None) -> dict[str, Any]:
        if gateway is None:
            return {}
        initial: dict[str, Any] = {
            "name": gateway.name, "is_default": gateway.is_default, "connections": gateway.connections,
            "retry_unknown_outcome": gateway.retry_unknown_outcome, "status": gateway.status,
        }  # fmt: skip
        for key, value in (gateway.config or {}).items():
            if key in self.backend.secret_keys or key not in self.backend.config_schema:
                continue  # a secret is never rendered back
            initial[CONFIG_PREFIX + key] = ("yes" if value else "no") if isinstance(value, bool) else value
        return initial

    def config_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith(CONFIG_PREFIX)]

    def common_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if not name.startswith(CONFIG_PREFIX)]

    def config(self) -> dict[str, Any]:
        """The config the form describes: empty optional keys left out, an empty secret kept (the mask) on edit."""
        config: dict[str, Any] = {}
        for key in self.backend.config_schema:
            value = self.cleaned_data.get(CONFIG_PREFIX + key)
            if key in self.backend.secret_keys and not value:
                if self.gateway is not None and key in (self.gateway.config or {}):
                    config[key] = SECRET_MASK  # the service keeps the stored one (or clears it: see the module)
                continue
            if value in (None, ""):
                continue
            config[key] = {"yes": True, "no": False}[value] if self.backend.config_schema[key][0] is bool else value
        return config

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.errors:
            try:
                check_public_endpoints(self.config())
            except ValidationFailed as exc:
                self.add_domain_errors(exc)
        return data

    def add_domain_errors(self, exc: ValidationFailed) -> None:
        """The service's field errors at their fields ("config.port" → the port field), the rest above the form."""
        for error in exc.errors or [{"field": "", "message": exc.message}]:
            name, _, key = str(error.get("field", "")).partition(".")
            field = CONFIG_PREFIX + key if name == "config" and key else name
            self.add_error(field if field in self.fields else None, str(error.get("message", exc.message)))


def check_public_endpoints(config: dict[str, Any]) -> None:
    """Raises ValidationFailed unless every URL and host of a tenant's config passes the address rules."""
    for key, value in config.items():
        if not isinstance(value, str) or not value:
            continue
        try:
            if key.endswith("url"):
                check_url(value)
            elif key in HOST_KEYS:
                check_host(value, int(config.get("port") or 0))
        except AddressRefused as exc:
            raise ValidationFailed.single(f"config.{key}", exc.message) from None


class TestSendForm(forms.Form):
    to = forms.CharField(
        label="Send a test message to", max_length=320,
        help_text="An email address, or a number in international format (+15555550123).",
    )  # fmt: skip


class ForcedRemovalForm(forms.Form):
    force = forms.BooleanField(
        label="Fail the queued messages (their credits are refunded) and remove the gateway",
        help_text="Messages already sent keep their history.",
    )  # fmt: skip
