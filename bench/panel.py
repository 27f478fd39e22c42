"""The tenant panel with a million messages: server time of its pages, their plans, and the CSV export.

Run: `python -m bench.panel` (full: 1,000,000 messages for one tenant and 1,000,000 over 100 others), or
`python -m bench.panel --small` (20,000 + 20,000: checks that the bench works). Uses its own database
(xsender_bench_panel) and Redis db 13 (BENCH_PANEL_ROWS=N sets the tenant's count, and the others' alike); writes bench/results/panel.json and the plans to bench/results/panel-plans.txt.

The messages are generated inside PostgreSQL (INSERT … SELECT over generate_series: no row crosses the wire),
spread over 35 days, the three channels and every status, with daily counts that match them. Pages are asked
through gunicorn (2 workers × 4 threads, as the Procfile runs it) by a signed-in session, one request at a time;
their time is gunicorn's own (`%(M)s` in its access log), so the client's overhead is not counted.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("BENCH_DB", "xsender_bench_panel")
os.environ.setdefault("BENCH_REDIS", "redis://127.0.0.1:6379/13")

import requests  # noqa: E402

from bench.__main__ import ENV, ROOT, recreate_database  # noqa: E402
from bench.panel_data import PASSWORD, load  # noqa: E402

PAGES = ("dashboard", "history", "history_filtered", "history_failed", "detail")
TARGET_MS = 150.0


def _gunicorn(port: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "xsender.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--threads", "4", "--log-level", "warning", "--timeout", "120",
         "--access-logfile", str(log), "--access-logformat", "%(M)s %(s)s %(U)s"],
        cwd=ROOT, env=ENV,
    )  # fmt: skip


def _session(url: str, email: str) -> requests.Session:
    session = requests.Session()
    html = session.get(f"{url}/login/", timeout=30).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    answer = session.post(
        f"{url}/login/", data={"username": email, "password": PASSWORD, "csrfmiddlewaretoken": token}, timeout=30
    )
    assert answer.url.rstrip("/") == url, "sign-in failed"
    return session


def _urls(page: str, data: dict[str, Any], n: int) -> list[str]:
    week = f"since={data['week'][0]}&until={data['week'][1]}"
    if page == "dashboard":
        return ["/"] * n
    if page == "history":
        return ["/history/"] * n
    if page == "history_filtered":
        return [f"/history/?status=Delivered&channel=sms&{week}"] * n
    if page == "history_failed":
        return [f"/history/?status=Failed&channel=email&{week}"] * n
    return [f"/history/{uid}/" for uid in (data["uids"] * (n // len(data["uids"]) + 1))[:n]]


def _server_times(log: Path, start: int) -> list[float]:
    with log.open() as handle:
        handle.seek(start)
        return [float(line.split()[0]) for line in handle if line.strip()]


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def measure(url: str, log: Path, data: dict[str, Any], n: int) -> dict[str, dict[str, float]]:
    session = _session(url, data["email"])
    for _ in range(16):  # every thread of every worker opens its connection and warms its caches
        session.get(f"{url}/", timeout=60)
        session.get(f"{url}/history/", timeout=60)
    found = {}
    for page in PAGES:
        time.sleep(0.5)  # the access log of the warm-up is written
        start = log.stat().st_size
        client = []
        for path in _urls(page, data, n):
            began = time.perf_counter()
            response = session.get(url + path, timeout=60)
            client.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        time.sleep(0.5)
        server = _server_times(log, start)
        found[page] = {
            "requests": len(server), "p50_ms": _p(server, 50), "p95_ms": _p(server, 95), "p99_ms": _p(server, 99),
            "client_p95_ms": _p(client, 95),
        }  # fmt: skip
        print(f"  {page:>17}: p50 {found[page]['p50_ms']:.1f} ms, p95 {found[page]['p95_ms']:.1f} ms", flush=True)
    return found


def _worker_rss(master: int) -> dict[int, tuple[int, int]]:
    """pid → (VmRSS, VmHWM) in kB of gunicorn's workers."""
    found = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if re.search(rf"^PPid:\s+{master}$", text, re.M):
            rss = int(re.search(r"^VmRSS:\s+(\d+)", text, re.M).group(1))
            hwm = int(re.search(r"^VmHWM:\s+(\d+)", text, re.M).group(1))
            found[int(status.parent.name)] = (rss, hwm)
    return found


def export(url: str, web: subprocess.Popen, data: dict[str, Any]) -> dict[str, float]:
    """The unfiltered CSV export of the big tenant, read as it streams; the workers' peak memory around it."""
    session = _session(url, data["email"])
    before = _worker_rss(web.pid)
    began, rows, size = time.perf_counter(), -1, 0
    with session.get(f"{url}/history/export.csv", stream=True, timeout=600) as response:
        for chunk in response.iter_content(chunk_size=1 << 16):
            rows += chunk.count(b"\n")
            size += len(chunk)
    seconds = time.perf_counter() - began
    after = _worker_rss(web.pid)
    growth = max((after[p][1] - before.get(p, (0, 0))[1]) for p in after) / 1024
    result = {
        "rows": rows, "seconds": seconds, "rows_per_s": rows / seconds, "megabytes": size / 1e6,
        "worker_peak_rss_mb": max(hwm for _, hwm in after.values()) / 1024, "worker_peak_growth_mb": growth,
    }  # fmt: skip
    print(f"  export: {rows:,} rows in {seconds:.1f} s = {result['rows_per_s']:,.0f} rows/s; peak RSS "
          f"{result['worker_peak_rss_mb']:.0f} MB (+{growth:.0f} MB)", flush=True)  # fmt: skip
    return result


def plans(data: dict[str, Any]) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement each page runs against the messages and daily counts."""
    from bench.panel_plans import explain_pages

    return explain_pages(data)


def main() -> None:
    small = "--small" in sys.argv
    tenant_rows = 20_000 if small else int(os.environ.get("BENCH_PANEL_ROWS", 1_000_000))
    other_rows = tenant_rows
    print(f"Setting up {ENV['DATABASE_URL'].rsplit('/', 1)[1]}…", flush=True)
    recreate_database()
    import django

    django.setup()
    data = load(tenant_rows=tenant_rows, other_rows=other_rows, others=100)
    from bench.accept import _port

    port, log = _port(), ROOT / "bench" / "results" / "panel-access.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    web = _gunicorn(port, log)
    url = f"http://127.0.0.1:{port}"
    try:
        time.sleep(3)
        result = {
            "messages": {"tenant": tenant_rows, "others": other_rows},
            "pages": measure(url, log, data, 50 if small else 200),
        }
        result["export"] = export(url, web, data)
    finally:
        web.terminate()
        web.wait()
    (ROOT / "bench" / "results" / "panel-plans.txt").write_text(plans(data))
    (ROOT / "bench" / "results" / "panel.json").write_text(json.dumps(result, indent=2))
    print(report(result))


def report(result: dict[str, Any]) -> str:
    lines = ["", f"Panel pages, server time (gunicorn %(M)s), {result['messages']['tenant']:,} messages for the tenant",
             f"{'page':>17} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  target p95 < {TARGET_MS:.0f}"]  # fmt: skip
    for page, row in result["pages"].items():
        lines.append(f"{page:>17} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f} {row['p99_ms']:>8.1f}")
    e = result["export"]
    lines.append(f"CSV export: {e['rows']:,} rows, {e['rows_per_s']:,.0f} rows/s (target ≥ 50,000), "
                 f"worker peak RSS {e['worker_peak_rss_mb']:.0f} MB")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
