"""`make run` as a new user meets it: a fresh checkout, the embedded PostgreSQL and Redis, the printed curl works,
Ctrl-C stops every process, and the next `make run` finds the data of the last one."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
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
# The first start creates the PostgreSQL data directory and migrates it; on two shared cores that can take a while.
FIRST_START_TIMEOUT = 180


class MakeRun:
    """One `make run` (scripts/run.sh) in its own session, as a terminal would hold it."""

    def __init__(self, checkout: Path, log: Path) -> None:
        self.port = free_port()
        self.log = log
        env = {k: v for k, v in os.environ.items() if k not in TEST_ONLY} | {"PORT": str(self.port)}
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                ["bash", "scripts/run.sh"],
                cwd=checkout,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.base = f"http://127.0.0.1:{self.port}"

    def banner(self, timeout: float = FIRST_START_TIMEOUT) -> str:
        def printed() -> str | bool:
            text = self.log.read_text()
            alive = self.process.poll() is None
            assert alive or "Press Ctrl-C" in text, f"make run exited ({self.process.returncode}):\n{text[-3000:]}"
            return "Press Ctrl-C" in text and text

        text = wait_until(printed, timeout, what=f"the banner in {self.log}")
        wait_until(lambda: _get(self.base + "/healthz") == 200, 60, what="web to be healthy")
        return text

    def ctrl_c(self) -> None:
        if self.process.poll() is not None:
            return  # it exited on its own: the test has already failed and says why
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise


@pytest.fixture
def checkout(tmp_path: Path) -> Iterator[Path]:
    """A fresh checkout; whatever a failed test leaves running in it is killed afterwards."""
    target = tmp_path / "xsender"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to(ROOT / ".venv")  # the install step is the Makefile's; not re-tested here
    yield target
    for pid in processes_in(target):
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_make_run_serves_the_printed_curl_and_stops_on_ctrl_c(checkout: Path, tmp_path: Path):
    run = MakeRun(checkout, tmp_path / "run.log")
    try:
        banner = run.banner()
        key = re.search(r"Tenant API key\s+(xs_\S+)", banner).group(1)
        assert f"curl -X POST {run.base}/api/email/send" in banner
        uid = send_demo_email(run.base, key)
        wait_until(lambda: status_of(run.base, key, uid) == "Sent", 60, what="the demo email to be Sent")
    finally:
        run.ctrl_c()
    time.sleep(0.5)
    assert processes_in(checkout) == []


def test_a_second_make_run_finds_the_tenant_and_messages_of_the_first(checkout: Path, tmp_path: Path):
    first = MakeRun(checkout, tmp_path / "first.log")
    try:
        key = re.search(r"Tenant API key\s+(xs_\S+)", first.banner()).group(1)
        uid = send_demo_email(first.base, key)
        wait_until(lambda: status_of(first.base, key, uid) == "Sent", 60, what="the demo email to be Sent")
    finally:
        first.ctrl_c()
    second = MakeRun(checkout, tmp_path / "second.log")
    try:
        banner = second.banner()
        assert re.findall(r"Tenant API key\s+(xs_\S+)", banner) == [key]
        assert status_of(second.base, key, uid) == "Sent"
    finally:
        second.ctrl_c()
    time.sleep(0.5)
    assert processes_in(checkout) == []


def send_demo_email(base: str, key: str) -> str:
    item = {"email": "alice@example.com", "subject": "Hello", "message": "Hi from XSender"}
    response = requests.post(f"{base}/api/email/send", json={"contact": [item]}, headers={"Api-key": key}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["data"][0]["uid"]


def status_of(base: str, key: str, uid: str) -> str:
    return requests.get(f"{base}/api/get/email/{uid}", headers={"Api-key": key}, timeout=10).json()["data"]["status"]


def processes_in(directory: Path) -> list[str]:
    """Pids of the processes whose working directory is `directory` (web, worker, scheduler, Redis, PostgreSQL)."""
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
