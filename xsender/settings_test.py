"""Settings for the test suite: the production settings, with the local PostgreSQL and Redis as defaults.

DATABASE_URL / REDIS_URL (and every other variable) still override these defaults.
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-" + "k3y" * 20)
os.environ.setdefault("XSENDER_ALLOW_INSECURE_HTTP", "false")

from xsender.settings import *  # noqa: E402,F403
