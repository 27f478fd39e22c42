"""Reads of accounts that span models."""

from __future__ import annotations

from django.db import connection

from accounts.models import ApiKey, Plan, User
from xsender.rows import Columns

_KEY, _USER, _PLAN = Columns(ApiKey, "k"), Columns(User, "u"), Columns(Plan, "p")
_KEY_WITH_OWNER = (
    f"SELECT {_KEY.sql}, {_USER.sql}, {_PLAN.sql} FROM accounts_apikey k "  # noqa: S608 — column names only
    "JOIN accounts_user u ON u.id = k.user_id LEFT JOIN accounts_plan p ON p.id = u.plan_id WHERE k.prefix = %s"
)


def key_with_owner(prefix: str) -> ApiKey | None:
    """The key with this prefix, its user and the user's plan loaded, in one prepared statement (every API
    request reads it: the ORM would compile the three-table query anew each time)."""
    with connection.cursor() as cursor:
        cursor.execute(_KEY_WITH_OWNER, [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    key_end, user_end = len(_KEY), len(_KEY) + len(_USER)
    key, user = _KEY.build(row[:key_end]), _USER.build(row[key_end:user_end])
    plan = _PLAN.build(row[user_end:]) if row[user_end] is not None else None
    user._state.fields_cache["plan"] = plan
    key._state.fields_cache["user"] = user
    return key
