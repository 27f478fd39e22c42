"""The database backend's health check (xsender/database): a connection idle past XSENDER_DB_CHECK_AFTER is
checked before a request uses it; one that served a request more recently is used as it is, and a broken one is
replaced after the one request it fails. Real PostgreSQL, its backend ended with pg_terminate_backend."""

from __future__ import annotations

import io
import json
import sys
import time

import psycopg
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)


def _healthz(handler: WSGIHandler) -> tuple[int, dict]:
    """GET /healthz through the WSGI handler, as gunicorn calls it (request_started and request_finished fire)."""
    statuses: list[str] = []
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/healthz", "QUERY_STRING": "", "SERVER_NAME": "testserver",
               "SERVER_PORT": "80", "HTTP_HOST": "testserver", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
               "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.errors": sys.stderr}  # fmt: skip
    response = handler(environ, lambda status, headers, exc_info=None: statuses.append(status))
    try:
        body = b"".join(response)
    finally:
        response.close()
    return int(statuses[0].split()[0]), json.loads(body)


def _end_backend() -> int:
    """Ends the server side of the current connection, as a database restart would; returns its pid."""
    pid = connection.connection.info.backend_pid
    settings = connection.settings_dict
    with psycopg.connect(host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"],
                         dbname="postgres", autocommit=True) as other:  # fmt: skip
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(100):
            if other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone() is None:
                break
            time.sleep(0.02)
    return pid


def test_a_connection_idle_past_the_window_is_checked_and_replaced(settings):
    settings.XSENDER_DB_CHECK_AFTER = 0.2
    handler = WSGIHandler()
    assert _healthz(handler) == (200, {"status": "ok", "database": "ok", "redis": "ok"})
    ended = _end_backend()
    time.sleep(0.3)
    assert _healthz(handler)[0] == 200  # the check found the connection dead and opened another
    assert connection.connection.info.backend_pid != ended


def test_a_recently_proven_connection_is_not_checked_and_a_broken_one_fails_one_request_only(settings):
    settings.XSENDER_DB_CHECK_AFTER = 60
    handler = WSGIHandler()
    assert _healthz(handler)[0] == 200
    ended = _end_backend()
    status, body = _healthz(handler)  # used as it was: no round trip before the request's own query
    assert status == 503
    assert body["database"].startswith("error: ")
    assert _healthz(handler) == (200, {"status": "ok", "database": "ok", "redis": "ok"})  # closed, then reopened
    assert connection.connection.info.backend_pid != ended


def test_with_a_zero_window_every_request_is_checked(settings):
    settings.XSENDER_DB_CHECK_AFTER = 0
    handler = WSGIHandler()
    assert _healthz(handler)[0] == 200
    _end_backend()
    assert _healthz(handler)[0] == 200  # checked at once, as Django's own CONN_HEALTH_CHECKS does
