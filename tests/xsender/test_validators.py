"""The shared email validator checks exactly what Django's `validate_email` checks."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_email as django_validate_email

from xsender.validators import validate_email

ADDRESSES = [
    "ada@example.com", "a.b+tag@sub.example.co.uk", '"quoted name"@example.com', "user@[127.0.0.1]",
    "user@[IPv6:2001:db8::1]", "user@[IPv6:zz::1]", "user@[300.1.1.1]", "user@localhost", "x@xn--bcher-kva.example",
    "no-at-sign", "@example.com", "a@", "a@b@c.example", "a@-bad-.example", "a b@example.com", "a@example.c",
    "a@example.123", "a" * 65 + "@example.com", "a@" + "b" * 320 + ".example", "", "a@example.com\n",
    "dot.@example.com", ".dot@example.com", "a..b@example.com", "a@exa_mple.com",
]  # fmt: skip


def verdict(validator, value):
    try:
        validator(value)
    except ValidationError as error:
        return error.code
    return "valid"


@pytest.mark.parametrize("value", ADDRESSES)
def test_the_same_verdict_as_djangos_validator(value):
    assert verdict(validate_email, value) == verdict(django_validate_email, value)


def test_both_verdicts_occur():
    verdicts = {verdict(validate_email, value) for value in ADDRESSES}
    assert verdicts == {"valid", "invalid"}
