"""`GET /api/me`: who the key belongs to, its plan and balances (a cheap authenticated probe)."""

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from accounts.services import balances
from xsender.api import XSenderAPIView, ok


class MeView(XSenderAPIView):
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
