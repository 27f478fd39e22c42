"""`manage.py xsender:postgres`, the embedded PostgreSQL that `make run` starts before migrating and stops last."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings

pytestmark = pytest.mark.system


@pytest.fixture
def data(tmp_path: Path) -> Iterator[Path]:
    """var/postgres of a checkout; its server is stopped afterwards whatever the test left."""
    directory = tmp_path / "var" / "postgres"
    with override_settings(EMBEDDED_POSTGRES=True, EMBEDDED_POSTGRES_DIR=directory):
        yield directory
        call_command("xsender:postgres", "stop")


def query(data: Path, sql: str) -> object:
    """Runs `sql` in the database the command creates (the one the settings name); its first value, if any."""
    name = settings.DATABASES["default"]["NAME"]
    with psycopg.connect(host=str(data), port=5432, user="postgres", dbname=name) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchone()[0] if cursor.description else None


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_start_creates_the_database_on_a_socket_and_stop_shuts_it_down(data: Path):
    call_command("xsender:postgres", "start", "--owner", str(dead_pid()))
    assert query(data, "SELECT current_setting('server_version_num')::int / 10000") == 18
    assert query(data, "SELECT current_setting('listen_addresses')") == ""
    call_command("xsender:postgres", "stop")
    assert not (data / "postmaster.pid").exists()


def test_the_data_outlives_a_stop_and_a_second_start(data: Path):
    call_command("xsender:postgres", "start")
    query(data, "CREATE TABLE kept AS SELECT 42 AS answer")
    call_command("xsender:postgres", "stop")
    call_command("xsender:postgres", "start")
    assert query(data, "SELECT answer FROM kept") == 42


def test_a_second_make_run_is_refused_and_leaves_the_first_ones_server_running(data: Path):
    first = subprocess.Popen(["sleep", "60"])  # stands for the running `make run`
    try:
        call_command("xsender:postgres", "start", "--owner", str(first.pid))
        with pytest.raises(CommandError, match=f"in use by another `make run` \\(pid {first.pid}\\)"):
            call_command("xsender:postgres", "start", "--owner", "999999")
        call_command("xsender:postgres", "stop", "--owner", "999999")
        assert query(data, "SELECT 1") == 1
    finally:
        first.kill()
        first.wait()


def test_a_server_left_by_a_killed_make_run_is_adopted_and_stopped_by_the_next(data: Path):
    call_command("xsender:postgres", "start", "--owner", str(dead_pid()))
    call_command("xsender:postgres", "start", "--owner", "4242")
    call_command("xsender:postgres", "stop", "--owner", "4242")
    assert not (data / "postmaster.pid").exists()


def test_a_var_postgres_that_is_not_a_data_directory_is_refused_untouched(data: Path):
    data.mkdir(parents=True)
    (data / "notes.txt").write_text("mine")
    with pytest.raises(CommandError, match="is not a PostgreSQL data directory"):
        call_command("xsender:postgres", "start")
    assert [path.name for path in data.iterdir()] == ["notes.txt"]
