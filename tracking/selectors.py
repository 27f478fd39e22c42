"""Which gateways a webhook request may speak for, and which backend verifies and parses it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from gateways.backends.base import Backend, WebhookEvent
from gateways.backends.esp_webhooks import VIEWS
from gateways.models import Gateway

# URL (kind, provider) → gateway provider.
ROUTES: dict[tuple[str, str], str] = {
    **{("email", esp): "esp" for esp in VIEWS},
    ("sms", "twilio"): "twilio",
    ("whatsapp", "cloud"): "whatsapp_cloud",
    ("whatsapp", "web"): "whatsapp_web",
}
# Providers with a site-wide URL (the admin's gateways); a WhatsApp Web bridge has one URL per gateway.
SITE_WIDE = {"esp", "twilio", "whatsapp_cloud"}
MAX_SITE_GATEWAYS = 50  # the admin's gateways tried against one site-wide request


@dataclass
class Target:
    """The gateways a request may speak for. `shared`: one verification (site-wide ESP secrets from settings)
    stands for all of them; otherwise each gateway's own secret is tried."""

    scope: str
    home: Gateway | None
    candidates: list[tuple[Gateway, Backend]]
    shared: Backend | None = None
    parser: Backend | None = field(default=None, init=False)

    def verify(self, request: Any) -> list[Gateway] | None:
        """The gateways whose secrets verify `request`, or None when none does."""
        if self.shared is not None:
            self.parser = self.shared if self.shared.verify(request) else None
            return [g for g, _ in self.candidates] if self.parser else None
        verified = [(g, b) for g, b in self.candidates if b.verify(request)]
        if not verified:
            return None
        self.parser = verified[0][1]
        self.home = self.home or verified[0][0]
        return [g for g, _ in verified]

    def parse(self, request: Any) -> list[WebhookEvent]:
        assert self.parser is not None  # verify() first
        return self.parser.parse_events(request)

    def challenge(self, request: Any) -> str | None:
        for _, backend in self.candidates:
            answer = backend.answer_challenge(request)
            if answer is not None:
                return answer
        return None


def _backend(gateway: Gateway, site_wide: bool) -> Backend:
    backend = gateway.backend()
    backend.site_wide = site_wide
    return backend


def webhook_target(*, kind: str, provider: str, gateway_uid: uuid.UUID | None) -> Target | None:
    """The target of /api/webhook/{kind}/{provider}[/{gateway_uid}], or None (404)."""
    name = ROUTES.get((kind, provider))
    if name is None:
        return None
    if gateway_uid is not None:
        gateway = Gateway.objects.filter(uid=gateway_uid, provider=name).select_related("owner").first()
        if gateway is None or (name == "esp" and (gateway.config or {}).get("esp") != provider):
            return None
        return Target(scope=f"gateway:{gateway.uid}", home=gateway, candidates=[(gateway, _backend(gateway, False))])
    if name not in SITE_WIDE:
        return None
    admin = list(Gateway.objects.filter(owner__isnull=True, provider=name).order_by("pk")[:MAX_SITE_GATEWAYS])
    if name == "esp":
        mine = [g for g in admin if (g.config or {}).get("esp") == provider]
        probe = Gateway(provider="esp", channel="email", identifier=f"site-{provider}", config={"esp": provider})
        return Target(scope=f"site:{provider}", home=None, candidates=[(g, g.backend()) for g in mine],
                      shared=_backend(probe, True))  # fmt: skip
    return Target(scope=f"site:{provider}", home=None, candidates=[(g, _backend(g, True)) for g in admin])
