"""Secrets at rest: a passphrase is stretched with scrypt, old ciphertexts still open, rotation re-encrypts."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import CommandError, call_command
from django.db import connection

from gateways.models import Gateway
from gateways.services import add_gateway
from tests.system.conftest import ROOT
from xsender import crypto

SMTP = {"host": "127.0.0.1", "port": 2525, "from_email": "a@example.com", "password": "pw-secret"}


def sha256_fernet(passphrase: str) -> Fernet:
    """The derivation XSender used before passphrases were stretched."""
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(passphrase.encode()).digest()))


def stored(gateway: Gateway) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT config FROM {Gateway._meta.db_table} WHERE id = %s", [gateway.pk])  # noqa: S608
        return cursor.fetchone()[0]


def store_raw(gateway: Gateway, token: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Gateway._meta.db_table} SET config = %s WHERE id = %s", [token, gateway.pk])  # noqa: S608


def test_a_passphrase_is_stretched_not_hashed_once(settings):
    settings.XSENDER_ENCRYPTION_KEY = "correct horse battery staple"
    token = crypto.encrypt_json({"password": "pw"}).encode()
    with pytest.raises(InvalidToken):
        sha256_fernet("correct horse battery staple").decrypt(token)
    assert json.loads(Fernet(crypto.stretch("correct horse battery staple")).decrypt(token)) == {"password": "pw"}


@pytest.mark.django_db
def test_values_written_with_the_old_passphrase_derivation_still_decrypt(settings, admin):
    settings.XSENDER_ENCRYPTION_KEY = "correct horse battery staple"
    gateway = add_gateway(owner=None, channel="email", provider="smtp", identifier="smtp", config=SMTP)
    store_raw(gateway, sha256_fernet("correct horse battery staple").encrypt(json.dumps(SMTP).encode()).decode())
    assert Gateway.objects.get(pk=gateway.pk).config["password"] == "pw-secret"


@pytest.mark.django_db
def test_values_written_when_the_key_came_from_secret_key_still_decrypt(settings, admin):
    gateway = add_gateway(owner=None, channel="email", provider="smtp", identifier="smtp", config=SMTP)
    legacy = sha256_fernet(f"secret-key:{settings.SECRET_KEY}")
    store_raw(gateway, legacy.encrypt(json.dumps(SMTP).encode()).decode())
    assert Gateway.objects.get(pk=gateway.pk).config["password"] == "pw-secret"


@pytest.mark.django_db
def test_rotate_command_re_encrypts_every_gateway_with_the_first_key(settings, admin):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.XSENDER_ENCRYPTION_KEY = old
    gateway = add_gateway(owner=None, channel="email", provider="smtp", identifier="smtp", config=SMTP)
    settings.XSENDER_ENCRYPTION_KEY = f"{new},{old}"
    call_command("xsender:encryption:rotate")
    assert json.loads(Fernet(new.encode()).decrypt(stored(gateway).encode()))["password"] == "pw-secret"
    settings.XSENDER_ENCRYPTION_KEY = new  # the old key can go
    assert Gateway.objects.get(pk=gateway.pk).config == SMTP


@pytest.mark.django_db
def test_rotate_command_changes_nothing_when_a_value_cannot_be_read(settings, admin):
    gateway = add_gateway(owner=None, channel="email", provider="smtp", identifier="smtp", config=SMTP)
    store_raw(gateway, Fernet(Fernet.generate_key()).encrypt(b"{}").decode())
    before = stored(gateway)
    with pytest.raises(CommandError, match="Nothing changed"):
        call_command("xsender:encryption:rotate")
    assert stored(gateway) == before


def test_production_start_without_an_encryption_key_fails_with_how_to_make_one():
    env = {k: v for k, v in os.environ.items() if k not in ("XSENDER_ENCRYPTION_KEY", "DEBUG")}
    env.update(DJANGO_SETTINGS_MODULE="xsender.settings", DEBUG="false", SECRET_KEY="p" + os.urandom(40).hex())
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "XSENDER_ENCRYPTION_KEY is not set" in result.stderr and "Fernet.generate_key()" in result.stderr
