"""Inbound provider events through gunicorn (2 workers × 4 threads) and one xsender:worker: `python -m bench.inbound`.

A stream of provider status events for messages that exist (each event names a distinct Sent message of a
tenant's gateway), against that gateway's webhook URL, while the worker's drain applies them:

- paced: signed Twilio status callbacks (one event per request, Twilio's shape: the costliest per event) at
  PACED_RATE events/s from an open-loop client (requests leave on schedule whatever the answers do) — answer
  p50/p99 (target: p99 < 50 ms at 500/s);
- sustained: the same callbacks from wrk's closed loop of CLIENTS connections — events/s answered and p99
  (target: ≥ 2,000 events/s), and events/s applied (all of the window's events applied, measured until the
  queue is empty);
- batched_paced: WhatsApp Cloud webhooks carrying BATCH statuses each (Meta batches statuses) at BATCHED_RATE
  events/s, open loop — whether the receiver and the drain keep up with the target rate (arrival → status);
- batched: the same webhooks from wrk's closed loop — events/s answered, and applied.

For every phase: the time from an event's arrival (the receiver's insert: its seen-id row) to its message's
status change (`updated_at`), p50/p99; CPU per event of gunicorn, the worker and the PostgreSQL backends of
the bench database (from /proc, so other work on the shared machine is not counted; wrk and the paced client,
also on this machine, are not counted either); and how busy the whole machine was (everyone's work). Every
answer must be 200 and every event applied once (checked in the database). Own database
(xsender_bench_inbound) and Redis db 14; writes bench/results/inbound.json.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
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
    # One client address sends everything: counted per request as in production, never reached.
    "XSENDER_WEBHOOK_IP_RATE_LIMIT": "1000000000",
    "LOG_LEVEL": "WARNING",
}
os.environ.update(ENV)
sys.path.insert(0, str(ROOT))
TOKEN, ACCOUNT, APP_SECRET = "bench-auth-token", "AC" + "0" * 32, "bench-app-secret"
PACED_RATE, CLIENTS, BATCH = 500, 16, 20
# Distinct events per second of a closed loop (one event / BATCH events a request); wrk would repeat them past this.
SUSTAINED_BUDGET, BATCHED_BUDGET = 3500, 15000
PHASES = ("paced", "sustained", "batched_paced", "batched")
BATCHED_RATE = 2000  # events/s of the paced batched run (the sustained target)


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=ENV, check=True)


_SENT = """
INSERT INTO messaging_message (uid, user_id, by_admin, channel, gateway_id, recipient, subject, body, sender_name,
    sms_type, media, media_url, attachments, status, priority, provider_message_id, gateway_response, error, attempts,
    cost, source, idempotency_key, device_sim, created_at, queued_at, sent_at, updated_at)
SELECT gen_random_uuid(), %s::bigint, false, %s, %s::bigint, '+1555' || lpad(i::text, 7, '0'), '', 'Hi', '', '', '', '', '[]',
    'Sent', 0, %s || lpad(to_hex(i), 32, '0'), '{}', '', 1, 1, 'api', '', '', now(), now(), now(), now()
FROM generate_series(%s::bigint, %s::bigint) AS i
"""


def sent_messages(count: int, start: int, channel: str, gateway_id: int, user_id: int, prefix: str) -> list[str]:
    """`count` Sent messages of the gateway, generated in PostgreSQL; their provider ids."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(_SENT, [user_id, channel, gateway_id, prefix, start, start + count - 1])
    return [f"{prefix}{i:032x}" for i in range(start, start + count)]


def gateways() -> tuple[Any, Any]:
    """A tenant with a Twilio gateway and a WhatsApp Cloud gateway."""
    import django

    django.setup()
    from accounts import services as accounts
    from gateways import services as gateway_services

    plan = accounts.create_plan(data=accounts.PlanInput(slug="bench", name="Bench", sms_credits=-1))
    user, _ = accounts.create_user(email="tenant@example.com", name="Tenant", plan=plan)
    twilio = {"account_sid": ACCOUNT, "auth_token": TOKEN, "from_number": "+15550000000"}
    cloud = {"phone_number_id": "1000", "access_token": "t", "app_secret": APP_SECRET, "verify_token": "v"}
    return (
        gateway_services.add_gateway(owner=user, channel="sms", provider="twilio", identifier="sms", config=twilio),
        gateway_services.add_gateway(owner=user, channel="whatsapp", provider="whatsapp_cloud", identifier="wa",
                                     config=cloud),
    )  # fmt: skip


def twilio_callbacks(path: str, sids: list[str], status: str) -> list[tuple[str, str]]:
    """(X-Twilio-Signature, form body) of Twilio's status callback for each SID."""
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(TOKEN)
    out = []
    for sid in sids:
        params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
                  "AccountSid": ACCOUNT, "From": "+15550000000", "To": "+15550000001", "ApiVersion": "2010-04-01"}  # fmt: skip
        out.append((validator.compute_signature(BASE + path, params), urlencode(params)))
    return out


def cloud_webhooks(wamids: list[str], status: str) -> list[tuple[str, str]]:
    """(X-Hub-Signature-256, JSON body) of WhatsApp Cloud notifications of BATCH statuses each."""
    out = []
    stamp = str(int(time.time()))
    for start in range(0, len(wamids), BATCH):
        statuses = [{"id": w, "status": status, "timestamp": stamp, "recipient_id": "15550000001"}
                    for w in wamids[start : start + BATCH]]  # fmt: skip
        value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "1000"}, "statuses": statuses}
        body = json.dumps({"object": "whatsapp_business_account",
                           "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}]})  # fmt: skip
        signature = "sha256=" + hmac.new(APP_SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()
        out.append((signature, body))
    return out


class Stack:
    """gunicorn as in the Procfile and one xsender:worker, with their CPU time read from /proc."""

    def __init__(self) -> None:
        import requests

        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        self.web = subprocess.Popen([gunicorn, "xsender.wsgi:application", "-c", "gunicorn.conf.py", "--bind",
                                     f"127.0.0.1:{PORT}", "--workers", "2", "--threads", "4", "--log-level", "warning"],
                                    cwd=ROOT, env=ENV)  # fmt: skip
        self.worker = subprocess.Popen([sys.executable, "manage.py", "xsender:worker"], cwd=ROOT, env=ENV,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        for _ in range(300):
            try:
                if requests.get(BASE + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            raise SystemExit("gunicorn did not start")
        time.sleep(2)  # the worker is listening

    def stop(self) -> None:
        for proc in (self.web, self.worker):
            proc.terminate()
        for proc in (self.web, self.worker):
            proc.wait(timeout=30)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time so far of gunicorn (master and workers), the worker, and the bench database's backends."""
        web = [self.web.pid, *_children(self.web.pid)]
        return {"gunicorn": _cpu(web), "worker": _cpu([self.worker.pid]), "postgres": _cpu(_backends())}


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _cpu(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _backends() -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [DB_NAME])
        return [row[0] for row in cursor.fetchall()]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2) if ordered else 0.0


async def _paced(path: str, requests: list[tuple[str, str]], rate: float, header: str, kind: str) -> dict[str, Any]:
    """Open loop: request i ((header value, body)) leaves at start + i / rate; its answer time counts from then.

    The client shares the machine with what it measures, so it is kept light and steady: requests are encoded
    before the clock starts and written as raw HTTP/1.1 on kept-alive connections (a new one only when all are
    busy), each request's task is created when it is due, and the collector is paused during the run. How late
    the client itself wrote each request (`send_lag`) is reported beside the answer times, which include it."""
    import gc

    raws = [
        (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\nContent-Type: {kind}\r\n{header}: {value}\r\n"
         f"Content-Length: {len(body.encode())}\r\n\r\n").encode() + body.encode()
        for value, body in requests
    ]  # fmt: skip
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    opened: list[asyncio.StreamWriter] = []
    latencies: list[float] = []
    lags: list[float] = []
    failures = 0

    async def exchange(raw: bytes) -> bytes:
        """Writes `raw` on an idle connection (a new one when none is) and reads the answer; a kept-alive connection
        the server closed meanwhile (gunicorn's keep-alive timeout) is replaced by a new one and the request written
        again, as HTTP clients do when nothing came back."""
        for attempt in range(2):
            fresh = attempt > 0 or not idle
            reader, writer = await asyncio.open_connection("127.0.0.1", PORT) if fresh else idle.pop()
            if fresh:
                opened.append(writer)
            writer.write(raw)
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()
                if fresh:
                    raise
                continue
            fields = {}
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                fields[name.strip().lower()] = value.strip()
            await reader.readexactly(int(fields.get(b"content-length", b"0")))
            if fields.get(b"connection", b"").lower() != b"close":
                idle.append((reader, writer))
            return head
        raise AssertionError("unreachable")

    async def one(due: float, raw: bytes) -> None:
        nonlocal failures
        lags.append((time.perf_counter() - due) * 1000)
        try:
            head = await exchange(raw)
        except (asyncio.IncompleteReadError, ConnectionError):
            failures += 1
            return
        latencies.append((time.perf_counter() - due) * 1000)
        failures += head.split(b" ", 2)[1] != b"200"

    gc.collect()
    gc.disable()
    try:
        tasks: set[asyncio.Task] = set()
        start = time.perf_counter() + 0.2
        for i, raw in enumerate(raws):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(due, raw))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
        for writer in opened:
            writer.close()
    return {"requests": len(requests), "requests_per_s": round(len(requests) / elapsed, 1), "non_200": failures,
            "p50_ms": _percentile(latencies, 0.50), "p99_ms": _percentile(latencies, 0.99), "seconds": elapsed,
            "answered": len(latencies), "connections": len(opened), "send_lag_p99_ms": _percentile(lags, 0.99)}  # fmt: skip


TWILIO = ("X-Twilio-Signature", "application/x-www-form-urlencoded")
CLOUD = ("X-Hub-Signature-256", "application/json")


_WRK = """
local lines, index = {}, 0
for line in io.lines("%(lines)s") do lines[#lines + 1] = line end
request = function()
  index = index + 1
  local line = lines[(index - 1) %% #lines + 1]
  local tab = line:find("\\t")
  return wrk.format("POST", "%(path)s", {["Content-Type"] = "%(type)s", ["%(header)s"] = line:sub(1, tab - 1)},
                    line:sub(tab + 1))
end
done = function(summary, latency, requests)
  io.write(string.format("JSON {\\"requests\\": %%d, \\"seconds\\": %%f, \\"p50\\": %%f, \\"p99\\": %%f, \\"errors\\": %%d}\\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def _wrk(path: str, requests: list[tuple[str, str]], seconds: int, header: str, content_type: str) -> dict[str, Any]:
    """wrk's closed loop of CLIENTS connections over `requests` ((header value, body) each)."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for the closed-loop runs: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        lines = Path(tmp, "requests.tsv")
        lines.write_text("".join(f"{h}\t{b}\n" for h, b in requests))
        script = Path(tmp, "requests.lua")
        script.write_text(_WRK % {"lines": lines, "path": path, "type": content_type, "header": header})
        out = subprocess.run(["wrk", "-t1", f"-c{CLIENTS}", f"-d{seconds}s", "--latency", "-s", str(script),
                              BASE + path], capture_output=True, text=True, check=True).stdout  # fmt: skip
    result = json.loads(next(x for x in out.splitlines() if x.startswith("JSON "))[5:])
    return {"requests": result["requests"], "requests_per_s": round(result["requests"] / result["seconds"], 1),
            "errors_or_non_2xx": result["errors"], "p50_ms": round(result["p50"], 2),
            "p99_ms": round(result["p99"], 2), "seconds": result["seconds"]}  # fmt: skip


def queue_empty(timeout: float = 120.0) -> float:
    """Waits until every queued event is applied; the seconds it took."""
    from django.db import connection

    start = time.monotonic()
    while time.monotonic() - start < timeout:
        with connection.cursor() as cursor:
            cursor.execute("SELECT EXISTS (SELECT 1 FROM tracking_queuedevent)")
            if not cursor.fetchone()[0]:
                return time.monotonic() - start
        time.sleep(0.05)
    raise SystemExit("the inbound queue did not empty")


_LAG = """
SELECT extract(epoch FROM m.updated_at - s.seen_at) * 1000, s.seen_at
FROM unnest(%s::text[], %s::text[]) AS v(key, provider_message_id)
JOIN tracking_seenevent s ON s.key = v.key
JOIN messaging_message m ON m.gateway_id = %s AND m.provider_message_id = v.provider_message_id
WHERE m.status = %s
"""


def arrival_to_status(gateway: Any, ids: list[str], status: str, suffix: str) -> dict[str, Any]:
    """Arrival (the seen-id row written by the receiver) → status change (`updated_at`), over the events received;
    and how many were applied (one per event: a message moves once)."""
    from django.db import connection

    from tracking.services import event_key

    keys = [event_key(f"gateway:{gateway.uid}", f"{i}:{suffix}") for i in ids]
    with connection.cursor() as cursor:
        cursor.execute(_LAG, [keys, ids, gateway.pk, status])
        rows = cursor.fetchall()
    lags = [float(lag) for lag, _ in rows]
    span = (max(at for _, at in rows) - min(at for _, at in rows)).total_seconds() if rows else 0.0
    return {"applied": len(rows), "arrival_span_s": round(span, 2),
            "arrival_to_status_p50_ms": _percentile(lags, 0.5), "arrival_to_status_p99_ms": _percentile(lags, 0.99)}  # fmt: skip


def _machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine so far (/proc/stat), everyone's work included."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def measured(stack: Stack, run: Any) -> tuple[Any, dict[str, float], float, float]:
    """Runs `run`, waits for the queue to empty; returns its result, the CPU seconds spent meanwhile per process
    kind, the seconds from the end of the load until everything was applied, and how busy the machine was."""
    before, machine = stack.cpu_seconds(), _machine_busy()
    result = run()
    backlog = queue_empty()
    after, machine_after = stack.cpu_seconds(), _machine_busy()
    busy = (machine_after[0] - machine[0]) / max(1, machine_after[1] - machine[1])
    return result, {k: after[k] - before[k] for k in after}, backlog, busy


def _cpu_per_event(cpu: dict[str, float], events: int) -> dict[str, float]:
    per = {f"{k}_ms": round(v * 1000 / max(events, 1), 3) for k, v in cpu.items()}
    per["total_ms"] = round(sum(cpu.values()) * 1000 / max(events, 1), 3)
    return per


def phase(stack: Stack, run: Any, gateway: Any, ids: list[str], per_request: int) -> dict[str, Any]:
    """One load (`run`) of `ids`' delivered events, `per_request` a request; its figures."""
    result, cpu, backlog, busy = measured(stack, run)
    result.update(arrival_to_status(gateway, ids, "Delivered", "delivered"))
    result["applied_in_s_after_load"] = round(backlog, 2)
    result["cpu_per_event"] = _cpu_per_event(cpu, result["applied"])
    result["machine_busy_pct"] = round(busy * 100, 1)  # both cores, all processes (other work included)
    result["events_per_s"] = round(result["requests_per_s"] * per_request, 1)
    result["repeated_events"] = max(0, result["requests"] * per_request - len(ids))  # answered as duplicates
    result["applied_per_s"] = round(result["applied"] / (result["seconds"] + backlog), 1)
    return result


def run(seconds: int, only: list[str] | None = None) -> dict[str, Any]:
    recreate_database()
    twilio, cloud = gateways()
    n = {"paced": PACED_RATE * seconds, "sustained": SUSTAINED_BUDGET * seconds,
         "batched_paced": BATCHED_RATE * seconds, "batched": BATCHED_BUDGET * seconds}  # fmt: skip
    sids = sent_messages(200 + n["paced"] + n["sustained"], 1, "sms", twilio.pk, twilio.owner_id, "SM")
    wamids = sent_messages(n["batched_paced"] + n["batched"], 1, "whatsapp", cloud.pk, cloud.owner_id, "wamid.")
    ids = {"paced": sids[200 : 200 + n["paced"]], "sustained": sids[200 + n["paced"] :],
           "batched_paced": wamids[: n["batched_paced"]], "batched": wamids[n["batched_paced"] :]}  # fmt: skip
    twilio_path, cloud_path = f"/api/webhook/sms/twilio/{twilio.uid}", f"/api/webhook/whatsapp/cloud/{cloud.uid}"
    bodies = {name: twilio_callbacks(twilio_path, ids[name], "delivered") for name in ("paced", "sustained")}
    bodies |= {name: cloud_webhooks(ids[name], "delivered") for name in ("batched_paced", "batched")}
    loads = {
        "paced": (twilio, 1, lambda: asyncio.run(_paced(twilio_path, bodies["paced"], PACED_RATE, *TWILIO))),
        "sustained": (twilio, 1, lambda: _wrk(twilio_path, bodies["sustained"], seconds, *TWILIO)),
        "batched_paced": (cloud, BATCH, lambda: asyncio.run(
            _paced(cloud_path, bodies["batched_paced"], BATCHED_RATE / BATCH, *CLOUD))),
        "batched": (cloud, BATCH, lambda: _wrk(cloud_path, bodies["batched"], seconds, *CLOUD)),
    }  # fmt: skip
    loads = {name: load for name, load in loads.items() if not only or name in only}
    stack = Stack()
    try:  # warm-up on other events: connections, caches, prepared statements
        asyncio.run(_paced(twilio_path, twilio_callbacks(twilio_path, sids[:200], "read"), 200, *TWILIO))
        queue_empty()
        results = {name: phase(stack, load, gateway, ids[name], per) for name, (gateway, per, load) in loads.items()}
    finally:
        stack.stop()
    return {"seconds": seconds, **results, "batch_events_per_request": BATCH, "machine": {"cpus": os.cpu_count()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="5-second runs (a check that the bench works)")
    parser.add_argument("--only", action="append", choices=PHASES, help="run this phase only (repeatable)")
    args = parser.parse_args()
    seconds = 5 if args.short else int(os.environ.get("BENCH_SECONDS", "30"))
    result = run(seconds, args.only)
    print(f"Inbound provider events, gunicorn 2 workers x 4 threads + 1 xsender:worker, {seconds} s per run")
    for name in (p for p in PHASES if p in result):
        print(f"  {name}: {json.dumps(result[name])}")
    partial = "-" + "-".join(args.only) if args.only else ""
    out = ROOT / "bench" / "results" / f"inbound{'-short' if args.short else ''}{partial}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
