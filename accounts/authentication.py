"""`Api-key` header authentication for the XSender dialect (never from the query string)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated

from accounts.models import ApiKey, User
from accounts.services import authenticate_api_key
from xsender.throttling import record_failure


class ApiKeyAuthentication(BaseAuthentication):
    """Past `XSENDER_API_KEY_FAILURE_LIMIT` wrong keys a minute from one address, that address gets 429: its
    wrong keys here, its valid ones at the plan's throttle (xsender.throttling.PlanRateThrottle, in the same
    Redis round trip as the plan's rate). Only failures count."""

    header = "Api-key"

    def authenticate(self, request: Any) -> tuple[User, ApiKey] | None:
        raw = request.META.get("HTTP_API_KEY", "").strip()
        if not raw:
            raise NotAuthenticated("Missing Api-key header.")
        key = authenticate_api_key(raw)
        if key is None:
            record_failure(request, "api-key", settings.XSENDER_API_KEY_FAILURE_LIMIT)
            raise AuthenticationFailed("Invalid or revoked API key.")
        return key.user, key

    def authenticate_header(self, request: Any) -> str:
        return self.header


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "Api-key"}
