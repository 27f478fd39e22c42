"""Settings for the test suite: the production settings, with the local PostgreSQL and Redis as defaults.

DATABASE_URL / REDIS_URL (and every other variable) still override these defaults.
"""

import base64
import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-" + "k3y" * 20)
os.environ.setdefault("XSENDER_ALLOW_INSECURE_HTTP", "false")
# A fixed Fernet key (required with DEBUG off); the system tests hand the same one to their processes.
os.environ.setdefault("XSENDER_ENCRYPTION_KEY", base64.urlsafe_b64encode(b"xsender-test-only-encryption-key").decode())

from xsender.settings import *  # noqa: E402,F403
