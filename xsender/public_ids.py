"""Public ids of audience and campaign objects: `<prefix>_<22 alphanumerics>` (SendX's shape, e.g.
`contact_4mFz0KQ3pZ8sXw1bT9cLhE`), random, besides each row's internal key. 22 characters of 62 carry about
131 bits, so ids are neither guessable nor enumerable."""

from __future__ import annotations

import re
import secrets
import string
from functools import partial

ALPHABET = string.ascii_letters + string.digits
LENGTH = 22


def new_public_id(prefix: str) -> str:
    return f"{prefix}_{''.join(secrets.choice(ALPHABET) for _ in range(LENGTH))}"


def public_id_default(prefix: str) -> partial[str]:
    """A model field default that makes a new id with `prefix` (picklable, so migrations can name it)."""
    return partial(new_public_id, prefix)


def is_public_id(value: str, prefix: str) -> bool:
    return bool(re.fullmatch(rf"{re.escape(prefix)}_[A-Za-z0-9]{{{LENGTH}}}", value or ""))
