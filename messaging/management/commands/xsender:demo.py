"""Creates (if absent) the demo admin, tenant, plan, API keys and console gateways, and prints how to use them.

The secrets are kept in var/demo.json (development only) so that every `make run` can print them again.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts import services as accounts
from accounts.models import CHANNELS, Plan, User
from gateways import services as gateways
from gateways.models import Gateway

DEMO_FILE = settings.VAR_DIR / "demo.json"
ADMIN_EMAIL = "admin@example.com"
TENANT_EMAIL = "demo@example.com"


def _ensure_user(email: str, *, admin: bool, plan: Plan, store: dict[str, Any]) -> None:
    user = User.objects.filter(email=email).first()
    if user is None:
        password = secrets.token_urlsafe(9)
        user, key = accounts.create_user(
            email=email,
            name="Admin" if admin else "Demo Tenant",
            password=password,
            plan=None if admin else plan,
            admin=admin,
        )
        store[email] = {"password": password, "api_key": key}
    elif email not in store:  # the secrets were lost (var/ wiped): issue fresh ones
        password = secrets.token_urlsafe(9)
        user.set_password(password)
        user.save(update_fields=["password"])
        store[email] = {"password": password, "api_key": accounts.rotate_api_key(user=user)[1]}
    owner = None if admin else user
    for channel in CHANNELS:
        identifier = f"{'admin-' if admin else ''}{channel}-console"
        if not Gateway.objects.filter(owner=owner, identifier=identifier).exists():
            gateways.add_gateway(
                owner=owner, channel=channel, provider="console", identifier=identifier, is_default=True
            )


class Command(BaseCommand):
    help = "Create the demo admin, tenant, plan, keys and console gateways if absent; print logins and a curl example."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default=settings.XSENDER_BASE_URL)

    def handle(self, *args: Any, **options: Any) -> None:
        store = json.loads(DEMO_FILE.read_text()) if DEMO_FILE.exists() else {}
        with transaction.atomic():
            plan = Plan.objects.filter(slug="demo").first() or accounts.create_plan(
                data=accounts.PlanInput(
                    slug="demo", name="Demo", email_credits=1000, sms_credits=1000, whatsapp_credits=1000
                )
            )
            _ensure_user(ADMIN_EMAIL, admin=True, plan=plan, store=store)
            _ensure_user(TENANT_EMAIL, admin=False, plan=plan, store=store)
        DEMO_FILE.parent.mkdir(parents=True, exist_ok=True)
        DEMO_FILE.write_text(json.dumps(store, indent=2))
        DEMO_FILE.chmod(0o600)
        self.stdout.write(self._banner(options["base_url"].rstrip("/"), store))

    def _banner(self, url: str, store: dict[str, Any]) -> str:
        admin, tenant = store[ADMIN_EMAIL], store[TENANT_EMAIL]
        payload = '{"contact":[{"email":"alice@example.com","subject":"Hello","message":"Hi from XSender"}]}'
        return f"""
XSender is starting on {url}

  Tenant panel   {url}/            login {TENANT_EMAIL} / {tenant["password"]}
  Django admin   {url}/admin/      login {ADMIN_EMAIL} / {admin["password"]}
  API docs       {url}/api/docs/
  Health         {url}/healthz

  Tenant API key  {tenant["api_key"]}
  Admin API key   {admin["api_key"]}   (admin scope: bypasses plan checks)

Send an email through the demo console gateway (it is printed in the worker's log):

  curl -X POST {url}/api/email/send \\
    -H "Api-key: {tenant["api_key"]}" \\
    -H "Content-Type: application/json" \\
    -d '{payload}'

Then read its status with the uid from the answer:

  curl -H "Api-key: {tenant["api_key"]}" {url}/api/get/email/UID

Press Ctrl-C to stop web, worker and scheduler.
"""
