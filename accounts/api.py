"""`GET /api/me`: who the key belongs to, its plan and balances (a cheap authenticated probe)."""

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.services import balances
from xsender.api import XSenderAPIView, ok

ME = inline_serializer(
    "Me",
    {"success": serializers.BooleanField(), "message": serializers.CharField(), "data": serializers.DictField()},
)


class MeView(XSenderAPIView):
    @extend_schema(responses={200: ME}, tags=["account"])
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
