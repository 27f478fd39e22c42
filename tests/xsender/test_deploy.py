"""Production settings pass Django's deployment checklist; the rate limit holds across processes."""

from __future__ import annotations

import os
import subprocess
import sys

from cryptography.fernet import Fernet

from tests.system.conftest import ROOT


def test_check_deploy_is_clean_with_production_settings():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XSENDER_", "DEBUG", "SECRET_KEY"))}
    env.update(DJANGO_SETTINGS_MODULE="xsender.settings", DEBUG="false", SECRET_KEY="p" + os.urandom(40).hex())
    env.update(XSENDER_ENCRYPTION_KEY=Fernet.generate_key().decode())
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_missing_secret_key_in_production_fails_with_a_clear_message():
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    env.update(DJANGO_SETTINGS_MODULE="xsender.settings", DEBUG="false")
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
