"""Domain errors raised by services. Each API dialect maps them to its own status codes and body shape.

An error about one item of a request carries the item's `index` and a neutral `field` name ("recipient",
"body", "attachments.0.url"); the dialect names them its own way (`contact.0.email` for XSender,
`to[0].email` for SendX). Field errors without an index are about the request as a whole.
"""

from __future__ import annotations

from typing import TypedDict


class FieldError(TypedDict, total=False):
    field: str  # neutral dotted name; with `index`, relative to that item
    message: str  # safe to show; does not repeat the field name
    index: int  # the item of the request it concerns, when it concerns one


class DomainError(Exception):
    """Base of every error a service raises on purpose. `message` is safe to show to the caller."""

    def __init__(self, message: str, *, index: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.index = index
        self.field = field


class ValidationFailed(DomainError):
    """Bad input. `errors` lists each offending field ({"field", "message"} and, for an item, "index")."""

    def __init__(self, errors: list[FieldError] | list[dict[str, str]], message: str = "Validation error") -> None:
        super().__init__(message)
        self.errors: list[FieldError] = list(errors)  # type: ignore[arg-type]

    @classmethod
    def single(cls, field: str, message: str) -> ValidationFailed:
        return cls([{"field": field, "message": message}], message=message)


class NotAuthenticated(DomainError):
    pass


class CreditExhausted(DomainError):
    pass


class GatewayNotFound(DomainError):
    pass


class NotFound(DomainError):
    pass


class Rejected(DomainError):
    """A business rule refuses the request (opt-out, suppression, plan channel)."""


class Conflict(DomainError):
    pass


class Throttled(DomainError):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
