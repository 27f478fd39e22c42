"""Helpers to post Django admin's user change form as a browser would."""

from __future__ import annotations

from typing import Any

from django.test import Client

from accounts.models import User


def user_change_data(user: User, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "email": user.email,
        "name": user.name,
        "plan": user.plan_id or "",
        "groups": [g.pk for g in user.groups.all()],
    }
    for flag in ("is_active", "is_staff", "is_superuser"):
        if getattr(user, flag):
            data[flag] = "on"
    for prefix in ("credit_accounts", "api_keys"):  # the read-only inlines: no form of theirs is posted
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0", f"{prefix}-MIN_NUM_FORMS": "0"})
        data[f"{prefix}-MAX_NUM_FORMS"] = "1000"
    for key, value in changes.items():
        if value is False:
            data.pop(key, None)
        else:
            data[key] = "on" if value is True else value
    return data


def post_user_change(client: Client, user: User, **changes: Any):
    return client.post(f"/admin/accounts/user/{user.pk}/change/", user_change_data(user, **changes), secure=True)
