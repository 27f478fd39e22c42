"""manage.py xsender:webhook:add|list|remove."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from webhooks.models import Endpoint

pytestmark = pytest.mark.django_db


def run(*args: str) -> dict:
    out = io.StringIO()
    call_command(*args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_add_prints_the_signing_secret_once_and_stores_it_encrypted(alice, receiver):
    added = run("xsender:webhook:add", receiver.url, "--user", alice.user.email, "--events", "message.sent")
    with connection.cursor() as cursor:
        cursor.execute("SELECT secrets FROM webhooks_endpoint")
        stored = cursor.fetchone()[0]
    assert added["secret"].startswith("whsec_") and added["secret"] not in stored
    assert "secret" not in json.dumps(run("xsender:webhook:list"))


def test_an_admin_endpoint_has_no_owner(receiver):
    added = run("xsender:webhook:add", receiver.url, "--admin")
    assert run("xsender:webhook:list", "--admin")["endpoints"][0]["uid"] == added["uid"]
    assert Endpoint.objects.get().user is None


def test_a_loopback_url_that_is_not_allow_listed_is_refused_and_nothing_is_stored(alice, settings):
    settings.XSENDER_ALLOW_INSECURE_HTTP = True
    with pytest.raises(CommandError, match="non-public address"):
        run("xsender:webhook:add", "http://127.0.0.1:9/hook", "--user", alice.user.email)
    assert Endpoint.objects.count() == 0


def test_an_unknown_event_type_is_refused(alice, receiver):
    with pytest.raises(CommandError, match="Unknown event types: message.teleported"):
        run("xsender:webhook:add", receiver.url, "--user", alice.user.email, "--events", "message.teleported")


def test_remove_deletes_the_endpoint(alice, receiver):
    added = run("xsender:webhook:add", receiver.url, "--user", alice.user.email)
    run("xsender:webhook:remove", added["uid"])
    assert run("xsender:webhook:list")["endpoints"] == []


def test_removing_an_unknown_endpoint_says_so(db):
    with pytest.raises(CommandError, match="No webhook endpoint"):
        run("xsender:webhook:remove", "not-a-uid")
