"""`GET /api/me`: who the key belongs to, its plan and balances (a cheap authenticated probe)."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.services import balances
from xsender.api import XSenderAPIView, ok
from xsender.openapi import RATE_LIMIT_HEADERS, RETRY_AFTER, envelope, error_responses


class Credits(serializers.Serializer):
    email = serializers.IntegerField(help_text="-1: unlimited.")
    sms = serializers.IntegerField(help_text="-1: unlimited.")
    whatsapp = serializers.IntegerField(help_text="-1: unlimited.")


class Account(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField(allow_blank=True)
    admin = serializers.BooleanField(help_text="true for the admin-scope key.")
    plan = serializers.CharField(allow_null=True, help_text="The plan's slug, or null.")
    credits = Credits()
    rate_limit_per_minute = serializers.IntegerField(help_text="Requests per minute this key may make.")


class MeView(XSenderAPIView):
    @extend_schema(
        summary="The key's account",
        description="Who the key belongs to, its plan, its balances and its rate limit (a cheap authenticated probe).",
        parameters=[RETRY_AFTER, *RATE_LIMIT_HEADERS],
        responses={200: envelope("AccountEnvelope", Account()), **error_responses(401, 429)},
        tags=["account"],
    )
    def get(self, request: Request) -> Response:
        user = request.user
        data: dict[str, Any] = {
            "id": user.pk,
            "email": user.email,
            "name": user.name,
            "admin": user.is_superuser,
            "plan": user.plan.slug if user.plan_id else None,
            "credits": balances(user),
            "rate_limit_per_minute": request.auth.rate_limit,
        }
        return ok("Account details", data)
