"""Encryption at rest for secrets kept in the database (gateway credentials).

`XSENDER_ENCRYPTION_KEY` holds one or more comma-separated keys: the first encrypts, all decrypt, so a key
can be rotated (`manage.py xsender:encryption:rotate` then re-encrypts every stored value with the first).
Each key is a Fernet key (used as it is) or a passphrase, stretched with scrypt (n=2**15, r=8, p=1) salted
with the fixed application salt `APPLICATION_SALT`. Required when DEBUG is off (settings refuse to start
without it); in development it falls back to a passphrase made from SECRET_KEY.

Values written before the passphrase stretching existed were encrypted with a plain SHA-256 of the passphrase
(and, without a key, of `secret-key:<SECRET_KEY>`): those derivations stay as decrypt-only keys at the end of
the list, so old rows keep reading until the rotate command has re-encrypted them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from django.conf import settings

# Fixed and public on purpose: it separates XSender's derivation from any other use of the same passphrase.
# Changing it makes every passphrase-derived key different (data written with it could no longer be read).
APPLICATION_SALT = b"xsender/encryption-key/v1"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


def _is_fernet_key(key: str) -> bool:
    try:
        Fernet(key.encode())
    except ValueError:
        return False
    return True


def stretch(passphrase: str) -> bytes:
    """The Fernet key a passphrase stands for (scrypt, about 0.1 s and 32 MB: computed once per process)."""
    kdf = Scrypt(salt=APPLICATION_SALT, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return base64.urlsafe_b64encode(kdf.derive(passphrase.encode()))


def _legacy(passphrase: str) -> Fernet:
    # The derivation used before passphrases were stretched: decrypt-only, for values stored back then.
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(passphrase.encode()).digest()))


def configured_keys() -> list[str]:
    keys = [k.strip() for k in settings.XSENDER_ENCRYPTION_KEY.split(",") if k.strip()]
    return keys or [f"secret-key:{settings.SECRET_KEY}"]


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    current = [Fernet(k.encode()) if _is_fernet_key(k) else Fernet(stretch(k)) for k in keys]
    legacy = [_legacy(k) for k in keys if not _is_fernet_key(k)]
    fallback = f"secret-key:{secret_key}"
    if fallback not in keys:
        legacy.append(_legacy(fallback))  # values stored while no key was configured
    return MultiFernet(current + legacy)


def cipher() -> MultiFernet:
    return _cipher(tuple(configured_keys()), settings.SECRET_KEY)


def encrypt_json(value: Any) -> str:
    return cipher().encrypt(json.dumps(value, separators=(",", ":")).encode()).decode()


def decrypt_json(token: str) -> Any:
    try:
        return json.loads(cipher().decrypt(token.encode()))
    except InvalidToken as exc:
        raise ValueError(
            "Cannot decrypt: XSENDER_ENCRYPTION_KEY does not match the key the data was stored with."
        ) from exc
