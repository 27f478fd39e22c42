"""Model fields shared by the apps."""

from __future__ import annotations

from typing import Any

from django.db import models

from xsender.crypto import decrypt_json, encrypt_json


class EncryptedJSONField(models.TextField):
    """A JSON value stored encrypted (Fernet). Reads give the plain value; the column holds ciphertext."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        return None if value is None else decrypt_json(value)

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> str | None:
        return None if value is None else encrypt_json(value)
