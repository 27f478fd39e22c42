"""Send-path benchmarks, in one run on PostgreSQL + Redis: `python -m bench` (or `make bench`).

(a) accept throughput through gunicorn for bulk requests of 1, 100 and 1,000 recipients, beside the raw
    PostgreSQL COPY rate of the same rows; (b) delivery throughput from Pending to Sent into an SMTP sink
    with 1 and 2 RQ workers, beside django-post-office and a bare loop of Django's SMTP backend;
(c) SQL queries per accept request for 1 and 1,000 recipients.
Prints a table and writes bench/results/send.json. Uses its own database (xsender_bench) and Redis db 14.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = os.environ.get("BENCH_DB", "xsender_bench")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "xsender.settings",
    "DATABASE_URL": f"{PG}/{DB_NAME}",
    "REDIS_URL": os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/14"),
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-secret-key-" + "b" * 40,
    "XSENDER_ENCRYPTION_KEY": "YmVuY2gtb25seS1lbmNyeXB0aW9uLWtleS14eHh4eHg=",  # required with DEBUG off
    "XSENDER_ALLOW_INSECURE_HTTP": "true",
    "SECURE_SSL_REDIRECT": "false",
    "XSENDER_ADMIN_2FA": "false",
    "XSENDER_MAX_RECIPIENTS": "1000",
    # The claims bench polls back to back from one address: it measures the server, not the per-phone limits.
    "XSENDER_DEVICE_RATE_LIMIT": "0",
    "XSENDER_DEVICE_IP_RATE_LIMIT": "0",
    "LOG_LEVEL": "WARNING",
}
os.environ.update(ENV)
sys.path.insert(0, str(ROOT))


def manage(*args: str, capture: bool = True) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=ENV, capture_output=capture, text=True, check=True
    )
    return result.stdout if capture else ""


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    manage("migrate", "-v", "0")


def main() -> None:
    from bench import accept, deliver, single

    only = set(sys.argv[1:]) or {"accept", "deliver"}  # `python -m bench deliver` runs one part
    if only - {"accept", "deliver", "single"}:
        sys.exit("usage: python -m bench [accept] [deliver] | python -m bench single")
    if "single" in only:
        return run_single(single)
    print("Setting up the bench database…", flush=True)
    recreate_database()
    import django

    django.setup()
    from xsender.redis import get_redis

    get_redis().flushdb()
    key = accept.tenant(manage)
    results = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "accept": accept.run(manage, key) if "accept" in only else None,
        "queries": accept.query_counts() if "accept" in only else None,
        "deliver": deliver.run(manage) if "deliver" in only else None,
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / ("send.json" if len(only) == 2 else f"send-{'-'.join(sorted(only))}.json")).write_text(
        json.dumps(results, indent=2)
    )
    print(report(results))
    print(f"\nWrote {out}")


def run_single(single) -> None:  # noqa: ANN001 — the bench.single module
    print("Setting up the bench database…", flush=True)
    recreate_database()
    import django

    django.setup()
    results = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "single": single.run(manage),
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "single.json").write_text(json.dumps(results, indent=2))
    print("\n".join(single.report(results["single"])))
    print(f"\nWrote {out / 'single.json'}")


def report(r: dict) -> str:
    a, d, q = r["accept"], r["deliver"], r["queries"]
    lines: list[str] = []
    if a:
        lines += _accept_report(a, q)
    if d:
        lines += _deliver_report(d)
    return "\n".join(lines)


def _accept_report(a: dict, q: dict) -> list[str]:
    lines = [
        "",
        "(a) accept throughput (gunicorn, 2 workers)",
        f"{'request size':>14} {'requests':>9} {'recipients/s':>13}",
    ]
    for row in a["bulk"]:
        lines.append(f"{row['recipients']:>14} {row['requests']:>9} {row['recipients_per_s']:>13.0f}")
    lines.append(
        f"{'raw COPY':>14} {a['copy']['rows']:>9} {a['copy']['rows_per_s']:>13.0f}   (rows/s of the same rows)"
    )
    lines.append(f"bulk-1000 / COPY = {a['bulk_1000_vs_copy']:.1%}  (target ≥ 10%)")
    return [
        *lines,
        "",
        "(c) SQL queries per accept request",
        f"  1 recipient: {q['1']}   1,000 recipients: {q['1000']}",
    ]


def _deliver_report(d: dict) -> list[str]:
    lines = ["", "(b) delivery throughput into the SMTP sink", f"{'sender':>44} {'emails':>7} {'emails/s':>9}"]
    for row in d["rows"]:
        lines.append(f"{row['name']:>44} {row['emails']:>7} {row['emails_per_s']:>9.0f}")
    lines.append(
        f"1 worker / bare loop = {d['one_worker_vs_bare']:.1%} (target ≥ 80%); 1 worker / post-office = {d['one_worker_vs_post_office']:.2f}× (target ≥ 1)"
    )
    lines.append(f"1 worker over 1 connection / bare loop = {d['one_connection_vs_bare']:.1%}")
    return lines


if __name__ == "__main__":
    main()
