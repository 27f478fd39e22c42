"""The audience at scale: segment counts over 1,000,000 contacts of one tenant, and the import's rows per second.

Run: `python -m bench.contacts` (1,000,000 contacts generated in SQL; an import of 1,000,000 rows, issue 13's
size — `--import-rows N` for another, `--no-import` for the segment counts only) or `python -m bench.contacts --small`
(a fiftieth: checks that the bench works).
Uses its own database (xsender_bench_contacts) and Redis db 15; writes bench/results/contacts.json.

Contacts are generated inside PostgreSQL (INSERT … SELECT over generate_series) with typed custom values (Age: a
number, Plan: a choice), a tag on one in ten and a list holding one in two; then VACUUM ANALYZE, what autovacuum
does on a live installation after such a load (the visibility map lets counts read indexes only). The segment times
are `contacts.selectors.segment_count` in one process (p50, p95 and max of RUNS, with the load average). The import
is `contacts.services.start_import` + `contacts.imports.run_import` in this process (what a worker runs) of a CSV of
new contacts into another tenant, into a list, with a tag.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from typing import Any

os.environ.setdefault("BENCH_DB", "xsender_bench_contacts")
os.environ.setdefault("BENCH_REDIS", "redis://127.0.0.1:6379/15")

from bench.__main__ import ROOT, recreate_database  # noqa: E402

RUNS = 30
DATA_SQL = """
INSERT INTO contacts_contact (public_id, owner_id, email, phone, first_name, last_name, company, custom, email_status,
    sms_status, whatsapp_status, created_at, updated_at)
SELECT 'contact_' || substr(md5(g::text), 1, 22), @owner, 'p' || g || '@example.com',
    CASE WHEN g % 2 = 0 THEN '+1415' || lpad(g::text, 7, '0') ELSE '' END, 'First' || g, 'Last' || g, 'Acme',
    jsonb_build_object('@age', g % 90, '@plan', CASE WHEN g % 3 = 0 THEN 'pro' ELSE 'free' END),
    CASE WHEN g % 50 = 0 THEN 'unsubscribed' ELSE 'subscribed' END, 'subscribed', 'subscribed', now(), now()
FROM generate_series(1, @contacts) g;
INSERT INTO contacts_contact_tags (contact_id, tag_id)
SELECT id, @tag FROM contacts_contact WHERE owner_id = @owner AND id % 10 = 0;
INSERT INTO contacts_contact_lists (contact_id, contactlist_id)
SELECT id, @list FROM contacts_contact WHERE owner_id = @owner AND id % 2 = 0;
VACUUM ANALYZE;
"""


def timed(call: Any) -> dict[str, float]:
    call()  # warm
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[round(0.95 * len(times)) - 1], 1),
        "max_ms": round(times[-1], 1),
        "load_average": round(os.getloadavg()[0], 1),
    }


def load(owner: Any, contacts: int) -> dict[str, Any]:
    from django.db import connection

    from contacts import services

    age = services.create_custom_field(owner=owner, name="Age", type="number")
    plan = services.create_custom_field(owner=owner, name="Plan", type="choice", choices=["free", "pro"])
    tag = services.get_or_create_tag(owner=owner, name="vip")
    customers = services.create_list(owner=owner, name="Customers")
    params = {
        "owner": owner.pk, "age": age.public_id, "plan": plan.public_id, "tag": tag.pk, "list": customers.pk,
        "contacts": contacts,
    }  # fmt: skip
    with connection.cursor() as cursor:
        for statement in filter(str.strip, DATA_SQL.split(";")):
            for name, value in params.items():  # our own values; no parameters, so `%` stays SQL's modulo
                statement = statement.replace(f"@{name}", str(value))
            cursor.execute(statement)
    return {"age": age, "plan": plan, "tag": tag, "list": customers}


SEGMENTS = {
    "tag has vip": [{"field": "tag", "op": "has", "value": "vip"}],
    "custom Age > 60 (number)": [{"field": "custom.Age", "op": "greater_than", "value": 60}],
    "Plan = pro AND tag vip AND email subscribed": [
        {"field": "custom.Plan", "op": "equals", "value": "pro"},
        {"field": "tag", "op": "has", "value": "vip"},
        {"field": "status", "channel": "email", "op": "equals", "value": "subscribed"},
    ],
}


def segments(owner: Any, made: dict[str, Any]) -> dict[str, Any]:
    from contacts import selectors, services

    out = {}
    customers = {"list in Customers": [{"field": "list", "op": "in", "value": made["list"].public_id}]}
    for name, rules in {**SEGMENTS, **customers}.items():
        segment = services.create_segment(owner=owner, name=name, rules=rules)
        out[name] = {"count": selectors.segment_count(segment), **timed(lambda s=segment: selectors.segment_count(s))}
    return out


def run_import(rows: int) -> dict[str, Any]:
    from accounts import services as accounts
    from contacts import imports, services

    user, _ = accounts.create_user(email="importer@example.com", name="Importer", plan=None)
    services.create_custom_field(owner=user, name="Age", type="number")
    target = services.create_list(owner=user, name="Imported")
    lines = ["email,first_name,last_name,phone,Age"]
    lines += [f"i{n}@example.com,First{n},Last{n},+1646{n:07d},{n % 90}" for n in range(rows)]
    data = ("\n".join(lines) + "\n").encode()
    start = time.perf_counter()
    job = services.start_import(
        owner=user, filename="bench.csv", data=data, list_id=target.public_id, tags=["imported"], enqueue=False
    )
    job = imports.run_import(job.pk)
    seconds = time.perf_counter() - start
    assert job is not None and job.rows_created == rows, (job and job.rows_created, job and job.report[:3])
    return {"rows": rows, "seconds": round(seconds, 1), "rows_per_second": round(rows / seconds)}


def main() -> None:
    small = "--small" in sys.argv
    import_rows = int(sys.argv[sys.argv.index("--import-rows") + 1]) if "--import-rows" in sys.argv else 1_000_000
    contacts = 1_000_000 // (50 if small else 1)
    import_rows //= 50 if small else 1
    recreate_database()
    import django

    django.setup()
    from accounts import services as accounts

    owner, _ = accounts.create_user(email="tenant@example.com", name="Tenant", plan=None)
    started = time.perf_counter()
    made = load(owner, contacts)
    results = {
        "machine": {"cpus": os.cpu_count()},
        "contacts": contacts,
        "load_seconds": round(time.perf_counter() - started, 1),
        "segment_count": segments(owner, made),
        "import": None if "--no-import" in sys.argv else run_import(import_rows),
    }
    (ROOT / "bench" / "results" / "contacts.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"{contacts:,} contacts of one tenant (loaded in {results['load_seconds']} s)")
    print(f"{'segment count':<46} {'contacts':>9} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'load':>5}")
    for name, value in results["segment_count"].items():
        times = f"{value['p50_ms']:>8} {value['p95_ms']:>8} {value['max_ms']:>8} {value['load_average']:>5}"
        print(f"{name:<46} {value['count']:>9,} {times}")
    imported = results["import"]
    if imported:
        print(f"import of {imported['rows']:,} rows: {imported['seconds']} s, {imported['rows_per_second']:,} rows/s")


if __name__ == "__main__":
    main()
