"""`make run` as a new user meets it: a fresh checkout, SQLite and the embedded Redis, the printed curl works,
and Ctrl-C stops every process."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.system.conftest import ROOT, free_port, wait_until

pytestmark = pytest.mark.system

# Variables of the test run that a new user's shell would not have.
TEST_ONLY = {
    "DATABASE_URL",
    "REDIS_URL",
    "DEBUG",
    "SECRET_KEY",
    "XSENDER_ALLOW_INSECURE_HTTP",
    "XSENDER_TEST_DB_NAME",
    "DJANGO_SETTINGS_MODULE",
    "XSENDER_ENCRYPTION_KEY",
}


def fresh_checkout(target: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to(ROOT / ".venv")  # the install step is the Makefile's; not re-tested here
    return target


def test_make_run_serves_the_printed_curl_and_stops_on_ctrl_c(tmp_path: Path):
    checkout = fresh_checkout(tmp_path / "xsender")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in TEST_ONLY} | {"PORT": str(port)}
    out = open(tmp_path / "run.log", "wb")  # noqa: SIM115
    run = subprocess.Popen(
        ["bash", "scripts/run.sh"], cwd=checkout, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        log = tmp_path / "run.log"

        def banner_printed() -> str | bool:
            text = log.read_text()
            assert run.poll() is None or "Press Ctrl-C" in text, f"make run exited ({run.returncode}):\n{text[-3000:]}"
            return "Press Ctrl-C" in text and text

        banner = wait_until(banner_printed, 120, what=f"the banner in {log}")
        key = re.search(r"Tenant API key\s+(xs_\S+)", banner).group(1)
        base = f"http://127.0.0.1:{port}"
        assert f"curl -X POST {base}/api/email/send" in banner
        wait_until(lambda: _get(base + "/healthz") == 200, 60, what="web to be healthy")
        item = {"email": "alice@example.com", "subject": "Hello", "message": "Hi from XSender"}
        response = requests.post(
            f"{base}/api/email/send", json={"contact": [item]}, headers={"Api-key": key}, timeout=30
        )
        assert response.status_code == 200, response.text
        uid = response.json()["data"][0]["uid"]
        status = lambda: requests.get(f"{base}/api/get/email/{uid}", headers={"Api-key": key}, timeout=10).json()  # noqa: E731
        wait_until(lambda: status()["data"]["status"] == "Sent", 60, what="the demo email to be Sent")
    finally:
        os.killpg(run.pid, signal.SIGINT)
        run.wait(timeout=30)
    time.sleep(0.5)
    assert processes_in(checkout) == []


def processes_in(directory: Path) -> list[str]:
    """Pids of the processes whose working directory is `directory` (web, worker, scheduler, Redis)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if os.readlink(proc / "cwd").startswith(str(directory)):
                found.append(proc.name)
        except OSError:
            continue
    return found


def _get(url: str) -> int:
    try:
        return requests.get(url, timeout=2).status_code
    except requests.RequestException:
        return 0
