"""Inbound provider events through gunicorn (2 workers × 4 threads): `python -m bench.inbound [--short]`.

A stream of signed Twilio status callbacks (one event per request, the provider's own shape: the costliest
case; ESPs that batch send many events per request) against a tenant gateway's webhook URL, each event naming
a distinct message sent earlier:

- paced: 500 events/s for BENCH_SECONDS from an open-loop client (requests leave on schedule whatever the
  answers do); p50/p99 answer time — the target is p99 < 50 ms;
- sustained: wrk's closed loop of 16 connections for BENCH_SECONDS; events/s and p99 — the target is ≥ 2,000/s.

Every answer must be 200 and every event applied once (checked in the database afterwards). Uses its own database
(xsender_bench_inbound) and Redis db 14; writes bench/results/inbound.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = os.environ.get("BENCH_INBOUND_DB", "xsender_bench_inbound")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PORT = _port()
BASE = f"http://127.0.0.1:{PORT}"
ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "xsender.settings",
    "DATABASE_URL": f"{PG}/{DB_NAME}",
    "REDIS_URL": os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/14"),
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-secret-key-" + "b" * 40,
    "XSENDER_ENCRYPTION_KEY": "YmVuY2gtb25seS1lbmNyeXB0aW9uLWtleS14eHh4eHg=",
    "XSENDER_ALLOW_INSECURE_HTTP": "true",
    "SECURE_SSL_REDIRECT": "false",
    "XSENDER_ADMIN_2FA": "false",
    "XSENDER_BASE_URL": BASE,  # the URL Twilio signs
    "XSENDER_WEBHOOK_IP_RATE_LIMIT": "0",  # one client address sends everything: the server is measured
    "LOG_LEVEL": "WARNING",
}
os.environ.update(ENV)
sys.path.insert(0, str(ROOT))
TOKEN, ACCOUNT = "bench-auth-token", "AC" + "0" * 32
PACED_RATE, CLIENTS = 500, 16


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=ENV, check=True)


def sent_messages(count: int) -> tuple[str, list[str]]:
    """A tenant's Twilio gateway and `count` of its messages answered by Twilio (Sent, each with its SID)."""
    import django

    django.setup()
    from accounts import services as accounts
    from gateways import services as gateways
    from gateways.backends.base import SendResult
    from messaging import transitions
    from messaging.items import SmsItem
    from messaging.services import accept_messages

    plan = accounts.create_plan(data=accounts.PlanInput(slug="bench", name="Bench", sms_credits=-1))
    user, _ = accounts.create_user(email="tenant@example.com", name="Tenant", plan=plan)
    config = {"account_sid": ACCOUNT, "auth_token": TOKEN, "from_number": "+15550000000"}
    gateway = gateways.add_gateway(owner=user, channel="sms", provider="twilio", identifier="sms", config=config)
    sids: list[str] = []
    for start in range(0, count, 1000):
        items = [
            SmsItem(recipient=f"+1555{(start + i) % 10_000_000:07d}", body="Hi")
            for i in range(min(1000, count - start))
        ]
        accept_messages(principal=user, channel="sms", items=items, max_items=1000)
        claimed = transitions.claim_next(gateway_id=gateway.pk, limit=1000)
        results = [SendResult(uid=m.uid, ok=True, provider_message_id=f"SM{m.pk:032x}") for m in claimed]
        transitions.record_send_results(gateway=gateway, messages=claimed, results=results)
        sids.extend(r.provider_message_id for r in results)
    return str(gateway.uid), sids


def callbacks(path: str, sids: list[str], status: str) -> list[tuple[str, str]]:
    """(signature, body) of Twilio's status callback for each SID."""
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(TOKEN)
    out = []
    for sid in sids:
        params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
                  "AccountSid": ACCOUNT, "From": "+15550000000", "To": "+15550000001", "ApiVersion": "2010-04-01"}  # fmt: skip
        out.append((validator.compute_signature(BASE + path, params), urlencode(params)))
    return out


def start_web() -> subprocess.Popen:
    import requests

    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    proc = subprocess.Popen([gunicorn, "xsender.wsgi:application", "-c", "gunicorn.conf.py", "--bind",
                             f"127.0.0.1:{PORT}", "--workers", "2", "--threads", "4", "--log-level", "warning"],
                            cwd=ROOT, env=ENV)  # fmt: skip
    for _ in range(300):
        try:
            if requests.get(BASE + "/healthz", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not start")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2) if ordered else 0.0


async def _paced(path: str, events: list[tuple[str, str]], rate: int) -> dict[str, Any]:
    """Open loop: request i leaves at start + i / rate; its answer time counts from then."""
    import aiohttp

    latencies: list[float] = []
    failures = 0
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(due: float, signature: str, body: str) -> None:
            nonlocal failures
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            headers = {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}
            async with session.post(BASE + path, data=body, headers=headers) as response:
                await response.read()
                failures += response.status != 200
            latencies.append((time.perf_counter() - due) * 1000)

        start = time.perf_counter() + 0.2
        await asyncio.gather(*(one(start + i / rate, s, b) for i, (s, b) in enumerate(events)))
        elapsed = time.perf_counter() - start
    return {"events": len(events), "events_per_s": round(len(events) / elapsed, 1), "non_200": failures,
            "p50_ms": _percentile(latencies, 0.50), "p99_ms": _percentile(latencies, 0.99)}  # fmt: skip


def _wrk(path: str, events: list[tuple[str, str]], seconds: int) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for the sustained run: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        lines = Path(tmp, "events.tsv")
        lines.write_text("".join(f"{s}\t{b}\n" for s, b in events))
        script = Path(tmp, "events.lua")
        script.write_text(f"""
local events, index, thread_count = {{}}, 0, 0
for line in io.lines("{lines}") do events[#events + 1] = line end
non200 = 0
request = function()
  index = index + 1
  local line = events[(index - 1) % #events + 1]
  local tab = line:find("\\t")
  return wrk.format("POST", "{path}", {{["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Twilio-Signature"] = line:sub(1, tab - 1)}}, line:sub(tab + 1))
end
done = function(summary, latency, requests)
  io.write(string.format("JSON {{\\"requests\\": %d, \\"seconds\\": %f, \\"p50\\": %f, \\"p99\\": %f, \\"errors\\": %d}}\\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
""")
        out = subprocess.run(["wrk", "-t1", f"-c{CLIENTS}", f"-d{seconds}s", "--latency", "-s", str(script), BASE + path],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
    line = next(x for x in out.splitlines() if x.startswith("JSON "))
    result = json.loads(line[5:])
    return {"requests": result["requests"], "events_per_s": round(result["requests"] / result["seconds"], 1),
            "errors_or_non_2xx": result["errors"], "p50_ms": round(result["p50"], 2), "p99_ms": round(result["p99"], 2)}  # fmt: skip


def applied() -> dict[str, int]:
    from messaging.models import Message, MessageEvent

    return {"delivered_messages": Message.objects.filter(status="Delivered").count(),
            "opened_messages": Message.objects.filter(status="Opened").count(),
            "event_rows": MessageEvent.objects.count()}  # fmt: skip


def run(seconds: int) -> dict[str, Any]:
    recreate_database()
    paced_count = PACED_RATE * seconds
    sustained_budget = 4000 * seconds  # distinct events; wrk cycles (duplicates) only past this
    uid, sids = sent_messages(paced_count + sustained_budget)
    path = f"/api/webhook/sms/twilio/{uid}"
    web = start_web()
    try:
        warm = callbacks(path, sids[:200], "read")  # warm-up on other events: connections, caches, prepared statements
        asyncio.run(_paced(path, warm, 200))
        paced = asyncio.run(_paced(path, callbacks(path, sids[:paced_count], "delivered"), PACED_RATE))
        sustained = _wrk(path, callbacks(path, sids[paced_count:], "delivered"), seconds)
    finally:
        web.terminate()
        web.wait(timeout=30)
    return {"seconds": seconds, "paced": paced, "sustained": sustained, "database": applied(),
            "machine": {"cpus": os.cpu_count()}}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="5-second runs (a check that the bench works)")
    args = parser.parse_args()
    seconds = 5 if args.short else int(os.environ.get("BENCH_SECONDS", "30"))
    result = run(seconds)
    print(f"Inbound Twilio status callbacks, gunicorn 2 workers x 4 threads, {seconds} s per run")
    print(f"  paced {PACED_RATE}/s: {result['paced']}")
    print(f"  sustained ({CLIENTS} connections): {result['sustained']}")
    print(f"  database after: {result['database']}")
    out = ROOT / "bench" / "results" / ("inbound-short.json" if args.short else "inbound.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
