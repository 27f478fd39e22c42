"""Real processes for system tests: gunicorn, rqworker and the scheduler, on the test database and Redis.

Tests here use `django_db(transaction=True)`, so what they create is committed and the processes see it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@dataclass
class Processes:
    env: dict[str, str]
    logs: Path
    running: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, *argv: str, **env: str) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 — closed with the process
        process = subprocess.Popen(
            [*argv],
            cwd=ROOT,
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a kill reaches RQ's work-horse too
        )
        self.running[name] = process
        return process

    def manage(self, name: str, *args: str, **env: str) -> subprocess.Popen:
        return self.start(name, sys.executable, "manage.py", *args, **env)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signals the process, its group and every descendant (RQ's work-horse runs in a session of its own),
        each once: a second SIGTERM would turn RQ's warm shutdown into a cold one midway through its teardown."""
        process = self.running.pop(name)
        for pid in [*descendants(process.pid), process.pid]:
            try:
                if os.getpgid(pid) != process.pid:
                    os.kill(pid, sig)
            except ProcessLookupError:
                pass
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        process.wait(timeout=15)

    def stop_all(self) -> None:
        for name in list(self.running):
            self.kill(name, signal.SIGTERM)

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")


@pytest.fixture
def processes(transactional_db, tmp_path: Path) -> Iterator[Processes]:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "xsender.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "DEBUG": "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "XSENDER_ENCRYPTION_KEY": settings.XSENDER_ENCRYPTION_KEY or f"secret-key:{settings.SECRET_KEY}",
        "XSENDER_TRUSTED_PROXIES": "127.0.0.1",
        "XSENDER_FETCH_ALLOWED_HOSTS": ",".join(settings.XSENDER_FETCH_ALLOWED_HOSTS),
        "PYTHONUNBUFFERED": "1",
    }
    procs = Processes(env=env, logs=tmp_path)
    yield procs
    procs.stop_all()


@dataclass
class Web:
    url: str

    def call(self, method: str, path: str, key: str, **kwargs) -> requests.Response:
        # Arrives as plain HTTP from a trusted proxy (127.0.0.1) that terminated TLS.
        headers = {"Api-key": key, "X-Forwarded-Proto": "https", **kwargs.pop("headers", {})}
        return requests.request(method, self.url + path, headers=headers, timeout=30, **kwargs)


def start_web(processes: Processes, port: int | None = None, **env: str) -> Web:
    """gunicorn with two workers on `port` (default: a free one; extra environment for it in `env`), once /healthz
    answers."""
    port = port or free_port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    processes.start(
        "gunicorn", gunicorn, "xsender.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "2", **env
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return requests.get(url + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_until(healthy, what="gunicorn to answer /healthz")
    return Web(url=url)


@pytest.fixture
def web(processes: Processes) -> Web:
    return start_web(processes)


@pytest.fixture
def worker(processes: Processes) -> Processes:
    processes.manage("worker", "xsender:worker")
    return processes


@pytest.fixture
def scheduler(processes: Processes) -> Processes:
    processes.manage("scheduler", "xsender:scheduler", "--interval", "0.3")
    return processes
