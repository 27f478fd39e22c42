"""Domain errors raised by services. Each API dialect maps them to its own status codes and body shape."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a service raises on purpose. `message` is safe to show to the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(DomainError):
    """Bad input. `errors` is a list of {"field", "message"} naming each offending field."""

    def __init__(self, errors: list[dict[str, str]], message: str = "Validation error") -> None:
        super().__init__(message)
        self.errors = errors

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
