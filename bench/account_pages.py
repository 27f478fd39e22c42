"""The admin overview and the credits ledger with millions of rows: their time and their plans.

Run: `python -m bench.account_pages` (full: 2,000,000 messages over the last 30 days across 101 tenants and 100
gateways, a year of daily counts, 1,000,000 ledger entries of which 600,000 in one tenant's accounts), or
`python -m bench.account_pages --small` (a fiftieth of it: checks that the bench works). Uses its own database
(xsender_bench_account) and Redis db 12; writes bench/results/account-pages.json and the plans to
bench/results/account-pages-plans.txt.

Rows are generated inside PostgreSQL (INSERT … SELECT over generate_series), messages in id order of time as the
send path writes them. The times are the functions' own (`panel.overview.admin_overview`,
`accounts.selectors.ledger_page`) in one process, without the page's template.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from typing import Any

os.environ.setdefault("BENCH_DB", "xsender_bench_account")
os.environ.setdefault("BENCH_REDIS", "redis://127.0.0.1:6379/12")

from bench.__main__ import ROOT, recreate_database  # noqa: E402

RUNS = 30
DATA_SQL = """
INSERT INTO accounts_user (password, is_superuser, email, name, is_staff, is_active, date_joined, session_epoch)
SELECT '!', false, 'tenant' || g || '@example.com', '', false, true, now(), 0 FROM generate_series(1, 101) g;
INSERT INTO gateways_gateway (uid, owner_id, channel, provider, identifier, name, config, is_default, status,
    retry_unknown_outcome, connections, created_at, last_error, connection_state)
SELECT gen_random_uuid(), u.id, 'sms', 'console', 'gw' || u.id, '', '', true, 'active', false, 2, now(), '', ''
FROM accounts_user u ORDER BY u.id;
INSERT INTO messaging_message (uid, user_id, by_admin, channel, gateway_id, recipient, subject, body, sender_name,
    sms_type, media, media_url, attachments, status, priority, provider_message_id, gateway_response, error,
    attempts, cost, source, idempotency_key, device_sim, created_at, updated_at)
SELECT gen_random_uuid(), u.first + (g % 101), false, 'sms', gw.first + (g % 101), '+15555550123', '', 'Hi', '',
    'plain', '', '', '[]', CASE WHEN g % 20 = 0 THEN 'Failed' ELSE 'Sent' END, 5, '', '{}', '', 1, 1, 'api', '', '',
    now() - interval '30 days' + (g * interval '30 days' / @messages), now()
FROM generate_series(1, @messages) g, (SELECT min(id) AS first FROM accounts_user) u,
    (SELECT min(id) AS first FROM gateways_gateway) gw;
INSERT INTO messaging_dailycount (user_id, day, channel, kind, shard, count)
SELECT u.id, d::date, 'sms', k, s, 100 FROM accounts_user u,
    generate_series(now() - interval '364 days', now(), interval '1 day') d,
    unnest(ARRAY['accepted', 'sent', 'failed']) k, generate_series(0, 7) s;
INSERT INTO accounts_creditaccount (user_id, channel, balance, unlimited, updated_at, low_credit_threshold)
SELECT u.id, c, 1000, false, now(), 0 FROM accounts_user u, unnest(ARRAY['email', 'sms', 'whatsapp']) c;
INSERT INTO accounts_creditentry (account_id, delta, reason, note, created_at)
SELECT a.first + (g % 303), -1, 'send', '', now() - g * interval '1 second'
FROM generate_series(1, @spread) g, (SELECT min(id) AS first FROM accounts_creditaccount) a;
INSERT INTO accounts_creditentry (account_id, delta, reason, note, created_at)
SELECT a.first + (g % 3), -1, 'send', '', now() - g * interval '1 second'
FROM generate_series(1, @heavy) g, (SELECT min(id) AS first FROM accounts_creditaccount) a;
VACUUM ANALYZE;
"""


def load(scale: int) -> None:
    from django.db import connection

    params = {"messages": 2_000_000 // scale, "spread": 400_000 // scale, "heavy": 600_000 // scale}
    with connection.cursor() as cursor:
        for statement in filter(str.strip, DATA_SQL.split(";")):
            for name, value in params.items():  # whole numbers of ours; no parameters, so `%` stays SQL's modulo
                statement = statement.replace(f"@{name}", str(value))
            cursor.execute(statement)


def timed(call: Any) -> dict[str, float]:
    call()  # warm: connections, prepared statements
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(sorted(times)[int(RUNS * 0.95) - 1], 1)}


def plans() -> str:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from accounts.selectors import LedgerFilter, ledger_page
    from panel.overview import admin_overview

    heavy = User.objects.order_by("id").first()
    out = []
    for name, call in (
        ("admin_overview", admin_overview),
        ("ledger_page", lambda: ledger_page(user=heavy, wanted=LedgerFilter())),
    ):
        with CaptureQueriesContext(connection) as queries:
            call()
        for query in queries.captured_queries:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + query["sql"])
                out.append(f"== {name}\n{query['sql']}\n" + "\n".join(row[0] for row in cursor.fetchall()))
    return "\n\n".join(out)


def main() -> None:
    small = "--small" in sys.argv
    recreate_database()
    import django

    django.setup()
    from accounts.models import User
    from accounts.selectors import LedgerFilter, ledger_page
    from panel.overview import admin_overview

    started = time.perf_counter()
    load(50 if small else 1)
    heavy = User.objects.order_by("id").first()
    first = ledger_page(user=heavy, wanted=LedgerFilter())
    results = {
        "scale": "small" if small else "full",
        "load_seconds": round(time.perf_counter() - started, 1),
        "admin_overview": timed(admin_overview),
        "ledger_first_page": timed(lambda: ledger_page(user=heavy, wanted=LedgerFilter())),
        "ledger_next_page": timed(lambda: ledger_page(user=heavy, wanted=LedgerFilter(), after=first.next)),
        "ledger_filtered_page": timed(
            lambda: ledger_page(user=heavy, wanted=LedgerFilter(channel="sms", reason="send"))
        ),
    }
    (ROOT / "bench" / "results" / "account-pages.json").write_text(json.dumps(results, indent=2) + "\n")
    (ROOT / "bench" / "results" / "account-pages-plans.txt").write_text(plans() + "\n")
    for name, value in results.items():
        print(f"{name:>22}: {value}")


if __name__ == "__main__":
    main()
