"""The provider registry. A new provider = one module, one line here, one test file."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateways.backends.base import Backend

PROVIDERS: dict[str, str] = {
    "console": "gateways.backends.console.ConsoleBackend",
    "smtp": "gateways.backends.smtp.SmtpBackend",
    "esp": "gateways.backends.esp.EspBackend",
    "twilio": "gateways.backends.twilio.TwilioBackend",
    "whatsapp_cloud": "gateways.backends.whatsapp_cloud.WhatsAppCloudBackend",
    "whatsapp_web": "gateways.backends.whatsapp_web.WhatsAppWebBackend",
    "android": "gateways.backends.android.AndroidBackend",
}


def get_backend_class(provider: str) -> type[Backend]:
    try:
        path = PROVIDERS[provider]
    except KeyError:
        raise LookupError(f"Unknown provider {provider!r}; known: {', '.join(sorted(PROVIDERS))}.") from None
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)


# Gateways whose messages are not pushed by workers but claimed by devices.
PULL_PROVIDERS = ("android",)


def pull_providers() -> tuple[str, ...]:
    return PULL_PROVIDERS
