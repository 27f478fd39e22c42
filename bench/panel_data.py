"""Data for the panel bench: tenants, their gateways, millions of messages generated inside PostgreSQL, and the
daily counts that match them (as the send path and transitions would have kept them)."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

PASSWORD = "bench-panel-passphrase-42"
BATCH = 250_000
# Cumulative shares of the statuses (a month of real traffic: mostly delivered, a few percent failed or waiting).
STATUSES = (
    (0.40, "Delivered"), (0.60, "Sent"), (0.68, "Opened"), (0.71, "Clicked"), (0.75, "Failed"), (0.76, "Bounced"),
    (0.762, "Complained"), (0.77, "Cancelled"), (0.78, "Scheduled"), (0.785, "Pending"), (0.79, "Processing"),
    (1.0, "Delivered"),
)  # fmt: skip
SENT = ("Sent", "Delivered", "Opened", "Clicked", "Bounced", "Complained")
# Which daily-count kinds a message in each status has passed through.
KINDS = {
    "Sent": ["sent"], "Delivered": ["sent", "delivered"], "Opened": ["sent", "delivered", "opened"],
    "Clicked": ["sent", "delivered", "opened", "clicked"], "Bounced": ["sent", "bounced"],
    "Complained": ["sent", "delivered", "complained"], "Failed": ["failed"], "Cancelled": ["cancelled"],
}  # fmt: skip


def _tenants(others: int) -> tuple[Any, list[Any]]:
    from accounts import services as accounts

    plan = accounts.create_plan(
        data=accounts.PlanInput(slug="bench", name="Bench", email_credits=-1, sms_credits=-1, whatsapp_credits=-1)
    )
    main, _ = accounts.create_user(email="bench-panel@example.com", password=PASSWORD, plan=plan)
    rest = [accounts.create_user(email=f"tenant{n}@example.com", plan=plan)[0] for n in range(others)]
    return main, rest


def _gateways(users: list[Any]) -> dict[str, list[int]]:
    from gateways.services import add_gateway

    found: dict[str, list[int]] = {"email": [], "sms": [], "whatsapp": []}
    for user in users:
        for channel in found:
            gateway = add_gateway(
                owner=user, channel=channel, provider="console", identifier=f"{channel}-console", is_default=True
            )
            found[channel].append(gateway.pk)
    return found


def _expressions() -> dict[str, str]:
    """SQL of the columns the bench varies, over the generated row `s` (i, ch, st, ts, usr, gw)."""
    status = "CASE " + " ".join(f"WHEN s.st = '{st}' THEN TRUE" for st in SENT) + " ELSE FALSE END"
    return {
        "uid": "gen_random_uuid()", "user_id": "s.usr", "channel": "s.ch", "gateway_id": "s.gw", "status": "s.st",
        "recipient": "CASE WHEN s.ch = 'email' THEN 'person' || (s.i %% 50000) || '@example.com' "
                     "ELSE '+1555' || lpad((s.i %% 10000000)::text, 7, '0') END",
        "subject": "CASE WHEN s.ch = 'email' THEN 'Order ' || s.i ELSE '' END",
        "body": "'Hello, your code is ' || (s.i %% 1000000)",
        "sms_type": "CASE WHEN s.ch = 'sms' THEN 'plain' ELSE '' END",
        "created_at": "s.ts", "updated_at": "s.ts",
        "queued_at": "CASE WHEN s.st = 'Scheduled' THEN NULL ELSE s.ts END",
        "schedule_at": "CASE WHEN s.st = 'Scheduled' THEN now() + (s.i %% 72) * interval '1 hour' END",
        "processing_at": f"CASE WHEN {status} OR s.st IN ('Failed', 'Processing') THEN s.ts + interval '1 second' END",
        "handoff_at": f"CASE WHEN {status} OR s.st IN ('Failed', 'Processing') THEN s.ts + interval '1 second' END",
        "sent_at": f"CASE WHEN {status} THEN s.ts + interval '2 seconds' END",
        "delivered_at": "CASE WHEN s.st IN ('Delivered', 'Opened', 'Clicked', 'Complained') THEN s.ts + interval '5 seconds' END",
        "opened_at": "CASE WHEN s.st IN ('Opened', 'Clicked') THEN s.ts + interval '1 hour' END",
        "clicked_at": "CASE WHEN s.st = 'Clicked' THEN s.ts + interval '2 hours' END",
        "failed_at": "CASE WHEN s.st IN ('Failed', 'Bounced') THEN s.ts + interval '2 seconds' END",
        "lease_expires_at": "CASE WHEN s.st = 'Processing' THEN now() + interval '5 minutes' END",
        "provider_message_id": f"CASE WHEN {status} THEN 'provider-' || s.i ELSE '' END",
        "error": "CASE WHEN s.st = 'Failed' THEN '550 5.1.1 Recipient address rejected' "
                 "WHEN s.st = 'Bounced' THEN 'Hard bounce: mailbox does not exist' ELSE '' END",
        "attempts": "CASE WHEN s.st IN ('Scheduled', 'Pending', 'Cancelled') THEN 0 ELSE 1 END",
        "cost": "1", "priority": "5", "source": "CASE WHEN s.i %% 10 = 0 THEN 'panel' ELSE 'api' END",
    }  # fmt: skip


def _columns() -> tuple[list[str], list[Any]]:
    """Every column of messaging_message: the bench's expression, or a parameter holding the field's default."""
    from messaging.models import Message

    expressions = _expressions()
    columns, values, params = [], [], []
    for field in Message._meta.concrete_fields:
        if field.column == "id":
            continue
        columns.append(field.column)
        if field.column in expressions:
            values.append(expressions[field.column])
        elif field.null:
            values.append("NULL")
        else:
            default = field.get_default()
            values.append("%s::jsonb" if field.get_internal_type() == "JSONField" else "%s")
            params.append(json.dumps(default) if field.get_internal_type() == "JSONField" else default)
    return [", ".join(columns), ", ".join(values)], params


def _status_case() -> str:
    return "CASE " + " ".join(f"WHEN r < {share} THEN '{name}'" for share, name in STATUSES) + " END"


def _insert(rows: int, users: list[int], gateways: dict[str, list[int]], days: int, offset: int) -> None:
    from django.db import connection

    (columns, values), params = _columns()
    generated = (
        "SELECT i, ch, st, ts, usr, (CASE ch WHEN 'email' THEN %s::bigint[] WHEN 'sms' THEN %s::bigint[] "
        "ELSE %s::bigint[] END)[k] AS gw FROM ("
        f"SELECT i, k, (%s::bigint[])[k] AS usr, {_status_case()} AS st, "
        "CASE WHEN c < 0.5 THEN 'email' WHEN c < 0.85 THEN 'sms' ELSE 'whatsapp' END AS ch, "
        f"now() - random() * interval '{days} days' AS ts "
        "FROM (SELECT i, random() AS r, random() AS c, 1 + (i %% %s::int) AS k FROM generate_series(%s::int, %s::int) i) g) s"
    )
    sql = f"INSERT INTO messaging_message ({columns}) SELECT {values} FROM ({generated}) s"  # noqa: S608
    head = [gateways["email"], gateways["sms"], gateways["whatsapp"], users, len(users), offset + 1, offset + rows]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *head])


def _daily_counts() -> None:
    from django.conf import settings
    from django.db import connection

    cases = " ".join(f"WHEN '{st}' THEN ARRAY{kinds}" for st, kinds in KINDS.items())
    sql = (
        "INSERT INTO messaging_dailycount (user_id, day, channel, kind, shard, count) "
        "SELECT user_id, day, channel, kind, s, n / 8 + CASE WHEN s < n %% 8 THEN 1 ELSE 0 END FROM ("
        "SELECT m.user_id, (m.created_at AT TIME ZONE %s)::date AS day, m.channel, k.kind, count(*) AS n "
        f"FROM messaging_message m CROSS JOIN LATERAL unnest(ARRAY['accepted'] || CASE m.status {cases} "
        "ELSE ARRAY[]::text[] END) AS k(kind) GROUP BY 1, 2, 3, 4) a CROSS JOIN generate_series(0, 7) s "
        "WHERE n / 8 + CASE WHEN s < n %% 8 THEN 1 ELSE 0 END > 0"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [settings.TIME_ZONE])


def load(*, tenant_rows: int, other_rows: int, others: int, days: int = 35) -> dict[str, Any]:
    """Creates the tenants and their messages; returns what the bench asks for (the tenant, uids, a week)."""
    from django.db import connection
    from django.utils import timezone

    began = time.perf_counter()
    main, rest = _tenants(others)
    main_gateways = _gateways([main])
    rest_gateways = _gateways(rest)
    for offset in range(0, tenant_rows, BATCH):
        _insert(min(BATCH, tenant_rows - offset), [main.pk], main_gateways, days, offset)
    for offset in range(0, other_rows, BATCH):
        _insert(min(BATCH, other_rows - offset), [u.pk for u in rest], rest_gateways, days, tenant_rows + offset)
    _daily_counts()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE messaging_message")
        cursor.execute("VACUUM ANALYZE messaging_dailycount")
        cursor.execute("SELECT uid FROM messaging_message WHERE user_id = %s ORDER BY random() LIMIT 200", [main.pk])
        uids = [str(row[0]) for row in cursor.fetchall()]
    today = timezone.localdate()
    week = ((today - timedelta(days=14)).isoformat(), (today - timedelta(days=8)).isoformat())
    print(f"  loaded {tenant_rows + other_rows:,} messages in {time.perf_counter() - began:.0f} s", flush=True)
    return {"email": main.email, "user_id": main.pk, "uids": uids, "week": week}
