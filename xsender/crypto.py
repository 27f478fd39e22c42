"""Encryption at rest for secrets kept in the database (gateway credentials).

`XSENDER_ENCRYPTION_KEY` holds one or more comma-separated keys (the first encrypts, all decrypt, so a
key can be rotated). Each is a Fernet key or any passphrase, stretched with SHA-256. Unset, the key
is derived from SECRET_KEY.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


def _fernet(key: str) -> Fernet:
    try:
        return Fernet(key.encode())
    except ValueError:
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))


@lru_cache(maxsize=4)
def _cipher(keys: str) -> MultiFernet:
    parts = [k.strip() for k in keys.split(",") if k.strip()]
    return MultiFernet([_fernet(k) for k in parts])


def cipher() -> MultiFernet:
    return _cipher(settings.XSENDER_ENCRYPTION_KEY or f"secret-key:{settings.SECRET_KEY}")


def encrypt_json(value: Any) -> str:
    return cipher().encrypt(json.dumps(value, separators=(",", ":")).encode()).decode()


def decrypt_json(token: str) -> Any:
    try:
        return json.loads(cipher().decrypt(token.encode()))
    except InvalidToken as exc:
        raise ValueError(
            "Cannot decrypt: XSENDER_ENCRYPTION_KEY does not match the key the data was stored with."
        ) from exc
