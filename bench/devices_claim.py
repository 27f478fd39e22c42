"""Android claims: `GET /api/logs/sms/pending` latency (p50/p99) and claims/s with 1, 10 and 50 phones.

Run: `python -m bench.devices_claim` (also part of `python -m bench`). Phones poll through gunicorn on
PostgreSQL: first every 5 s as the app does (latency), then back to back (throughput).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
FLEETS = (1, 10, 50)
PAUSED_SECONDS, BUSY_SECONDS = 30.0, 5.0


def _fleet(size: int, tag: str) -> list[str]:
    from accounts.services import get_user
    from devices import services

    user = get_user("bench@example.com")
    tokens = []
    for n in range(size):
        registration = services.register_session(
            pairing_token=services.create_pairing_token(user=user)[1], device_uuid=f"{tag}-{n}"
        )
        for slot in range(2):
            services.add_sim(device=registration.device, slot=slot)
        services.update_profile(device=registration.device, poll_interval=5, daily_quota=100_000, lease_seconds=3600)
        tokens.append(registration.session_token)
    return tokens


def _queue(count: int) -> None:
    from accounts.services import add_credits, get_user
    from messaging.services import accept_messages

    user = get_user("bench@example.com")
    add_credits(user=user, channel="sms", amount=count)
    from messaging.items import SmsItem

    items = [SmsItem(recipient=f"+1555{i:07d}", body="Bench", gateway="android") for i in range(1000)]
    for _ in range(count // 1000):
        accept_messages(principal=user, channel="sms", items=items)


def _settle() -> None:
    """Lets PostgreSQL absorb the 20,000-row load before measuring steady polling (what autovacuum and the
    next checkpoint would do a moment later anyway)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE messaging_message")
        cursor.execute("CHECKPOINT")


def _poll(url: str, tokens: list[str], seconds: float, pause: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    claimed = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def phone(token: str) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        if pause:
            time.sleep(random.uniform(0, pause))  # noqa: S311 — phones do not poll in step
        while time.monotonic() < deadline:
            started = time.perf_counter()
            data = session.get(url + "/api/logs/sms/pending", timeout=30).json()["data"]
            with lock:
                latencies.append(time.perf_counter() - started)
                claimed[0] += len(data)
            if pause:
                time.sleep(pause)

    threads = [threading.Thread(target=phone, args=(t,)) for t in tokens]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return latencies, claimed[0]


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else values[0] * 1000


def run(url: str) -> dict:
    rows = []
    for size in FLEETS:
        tokens = _fleet(size, f"f{size}")
        _queue(20_000)
        _settle()
        # Warm-up: enough polls to reach every gunicorn thread, each of which opens its own database connection.
        _poll(url, (tokens * 16)[: max(16, len(tokens))], 0.01, 0.0)
        paused, _ = _poll(url, tokens, PAUSED_SECONDS, 5.0)
        _queue(20_000)  # 50 phones claim most of the first 20,000 in 30 s: the busy phones must not run dry
        _settle()
        busy, claimed = _poll(url, tokens, BUSY_SECONDS, 0.0)
        row = {
            "phones": size, "polls_every_5s": len(paused), "p50_ms": _p(paused, 50), "p99_ms": _p(paused, 99),
            "busy_polls": len(busy), "busy_p99_ms": _p(busy, 99), "claims_per_s": claimed / BUSY_SECONDS,
        }  # fmt: skip
        rows.append(row)
        print(
            f"  devices: {size:>2} phones: p99 {row['p99_ms']:.1f} ms at 5 s polls; {row['claims_per_s']:,.0f} claims/s back to back",
            flush=True,
        )
    return {"rows": rows}


def report(result: dict) -> str:
    lines = ["", "Android claims (GET /api/logs/sms/pending through gunicorn)",
             f"{'phones':>7} {'p50 ms':>8} {'p99 ms':>8} {'claims/s':>9} {'busy p99 ms':>12}"]  # fmt: skip
    for r in result["rows"]:
        lines.append(
            f"{r['phones']:>7} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['claims_per_s']:>9.0f} {r['busy_p99_ms']:>12.1f}"
        )
    return "\n".join(lines)


def main() -> None:
    import subprocess
    import sys

    from bench.__main__ import ENV, manage, recreate_database

    recreate_database()
    import django

    django.setup()
    manage("xsender:plan:create", "bench", "--name", "Bench", "--sms-credits", "0", "--rate-limit", "100000")
    manage("xsender:user:create", "bench@example.com", "--plan", "bench")
    from bench.accept import _port

    port = _port()
    # BENCH_ACCESS_LOG=FILE: gunicorn logs each request's own time (ms), to tell server time from waiting.
    log = os.environ.get("BENCH_ACCESS_LOG")
    logging = ["--access-logfile", log, "--access-logformat", "%(t)s %(M)s %(s)s %(U)s"] if log else []
    web = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "xsender.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4", "--log-level", "warning", *logging],
        cwd=ROOT, env=ENV,
    )  # fmt: skip
    try:
        time.sleep(2)
        result = run(f"http://127.0.0.1:{port}")
    finally:
        web.terminate()
        web.wait()
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "devices_claim.json").write_text(json.dumps(result, indent=2))
    print(report(result))


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
