"""The fast paths of contacts.values' address checks give what the full checks give (an import runs them a
million times)."""

from __future__ import annotations

import random

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email

from contacts import values
from messaging.validation import normalise_email, normalise_number

EMAILS = [
    "ann@example.com",
    "Ann.Lee+news@Mail.Example.CO",
    "a_b%c-d@sub-1.example.io",
    "x@a.bc",
    "1@2.example.com",
    "a..b@example.com",
    ".a@example.com",
    "a.@example.com",
    "a@-example.com",
    "a@example-.com",
    "a@example.c",
    "a@example.123",
    "a@example",
    "a@.example.com",
    "a@example..com",
    "a b@example.com",
    '"a b"@example.com',
    "a@[127.0.0.1]",
    "a@b@example.com",
    "ann@bücher.example",
    "ann@xn--bcher-kva.example",
    "a@example.xn--p1ai",
    "a" * 64 + "@example.com",
    "a@" + "b" * 64 + ".com",
    "a@" + ("b" * 60 + ".") * 4 + "com",
    "\u212a@example.com",
]


def full_email(value: str) -> str | None:
    try:
        value = normalise_email(value.strip())
        if len(value) > 254:
            return None
        validate_email(value)
    except (DjangoValidationError, ValueError):
        return None
    return value


@pytest.mark.parametrize("value", EMAILS)
def test_the_email_check_accepts_and_normalises_as_the_full_check_does(value):
    try:
        checked = values.check_email(value)
    except values.ValidationFailed:
        checked = None
    assert checked == full_email(value)


def test_every_north_american_number_in_e164_reads_as_phonenumbers_reads_it():
    rnd = random.Random(13)
    numbers = [f"+1{area}{rnd.randrange(10**7):07d}" for area in range(200, 1000) for _ in range(5)]
    numbers += ["+12015550123", "+19999999999", "+12000000000"]
    assert all(values.check_phone(n) == normalise_number(n) == n for n in numbers)


@pytest.mark.parametrize("value", ["+11234567890", "+1201555012", "+120155501234", "+1 201 555 0123", "0201555012"])
def test_other_phone_shapes_take_the_full_check(value):
    try:
        checked = values.check_phone(value)
    except values.ValidationFailed:
        checked = None
    assert checked == normalise_number(value)
