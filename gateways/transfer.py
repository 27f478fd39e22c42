"""Settings export and import: plans, gateways and site settings as one JSON document, round-trippable."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts import services as accounts
from accounts.models import Plan, SiteSetting, User
from gateways import services
from gateways.backends import PROVIDERS
from gateways.backends.base import SECRET_MASK
from gateways.models import Gateway
from gateways.selectors import gateway_summary
from xsender.errors import ValidationFailed

VERSION = 1
PLAN_FIELDS = (
    "slug",
    "name",
    "email_credits",
    "sms_credits",
    "whatsapp_credits",
    "rate_limit_per_minute",
    "duration_days",
)


def export_settings(*, with_secrets: bool = False) -> dict[str, Any]:
    plans = [
        {**{f: getattr(p, f) for f in PLAN_FIELDS}, "allowed_channels": p.allowed_channels, "is_active": p.is_active}
        for p in Plan.objects.order_by("slug")
    ]
    gateways = []
    for gateway in (
        Gateway.objects.select_related("owner").prefetch_related("shared_with").order_by("owner__email", "identifier")
    ):
        summary = gateway_summary(gateway)
        summary.pop("uid")
        if with_secrets:
            summary["config"] = gateway.config
        gateways.append(summary)
    settings = [{"key": s.key, "value": s.value} for s in SiteSetting.objects.order_by("key")]
    return {"version": VERSION, "plans": plans, "gateways": gateways, "settings": settings}


def _user(email: str | None, field: str) -> User | None:
    if email is None:
        return None
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        raise ValidationFailed.single(field, f"Unknown user {email!r}: create the user before importing.")
    return user


def _import_gateway(index: int, item: dict[str, Any]) -> None:
    """Adds or updates one gateway; a masked secret keeps the stored one unless the endpoint changes."""
    field = f"gateways.{index}"
    if item["provider"] not in PROVIDERS:
        known = ", ".join(sorted(PROVIDERS))
        raise ValidationFailed.single(f"{field}.provider", f"Unknown provider {item['provider']!r}; known: {known}.")
    owner = _user(item.get("owner"), f"{field}.owner")
    existing = Gateway.objects.filter(owner=owner, identifier=item["identifier"]).first()
    config = dict(item.get("config") or {})
    masked = [k for k, v in config.items() if v == SECRET_MASK]
    if masked and existing is None:
        raise ValidationFailed.single(f"{field}.config.{masked[0]}", "Secret is masked: export with --with-secrets.")
    if existing is not None:
        services.update_gateway(
            gateway=existing, name=item.get("name", ""), config=config, is_default=item.get("is_default", False),
            status=item.get("status", Gateway.Status.ACTIVE), retry_unknown_outcome=item.get("retry_unknown_outcome", False),
            connections=item.get("connections", existing.connections),
        )  # fmt: skip
        gateway = existing
    else:
        gateway = services.add_gateway(
            owner=owner, channel=item["channel"], provider=item["provider"], identifier=item["identifier"],
            name=item.get("name", ""), config=config, is_default=item.get("is_default", False),
            retry_unknown_outcome=item.get("retry_unknown_outcome", False), connections=item.get("connections", 2),
        )  # fmt: skip
    shares = [_user(email, f"{field}.shared_with") for email in item.get("shared_with", [])]
    if shares:
        services.share_gateway(gateway=gateway, users=shares)


@transaction.atomic
def import_settings(*, document: Any) -> dict[str, int]:
    """Applies an exported document: everything or nothing. Raises ValidationFailed naming the bad entry."""
    if not isinstance(document, dict) or document.get("version") != VERSION:
        raise ValidationFailed.single("version", f"Not an XSender settings export (version {VERSION} expected).")
    try:
        for plan in document.get("plans", []):
            data = accounts.PlanInput(**{f: plan[f] for f in PLAN_FIELDS})
            accounts.upsert_plan(
                data=data, allowed_channels=plan.get("allowed_channels"), is_active=plan.get("is_active", True)
            )
        for index, item in enumerate(document.get("gateways", [])):
            _import_gateway(index, item)
        for setting in document.get("settings", []):
            accounts.set_site_setting(key=setting["key"], value=setting["value"])
    except (KeyError, TypeError) as exc:
        raise ValidationFailed.single("document", f"Malformed export: missing or wrong field {exc}.") from None
    return {k: len(document.get(k, [])) for k in ("plans", "gateways", "settings")}
