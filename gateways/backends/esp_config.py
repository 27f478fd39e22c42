"""Which ESPs the esp gateway sends with, how its config becomes django-anymail's backend arguments, and how a
failed call is read.

Amazon SES goes through anymail's boto3-based backend (SES v2 `SendEmail`): credentials and region are boto3
client parameters, and its errors are botocore's, carried inside AnymailAPIError with the parsed response
(https://docs.aws.amazon.com/ses/latest/APIReference-V2/CommonErrors.html) rather than a requests.Response.
"""

from __future__ import annotations

from typing import Any

from anymail.exceptions import AnymailAPIError
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

from gateways.backends.base import request_sent

# ESP → (anymail backend, {our config key: anymail's keyword}).
ESPS: dict[str, tuple[str, dict[str, str]]] = {
    "sendgrid": ("sendgrid", {"api_key": "api_key"}),
    "mailgun": ("mailgun", {"api_key": "api_key", "sender_domain": "sender_domain"}),
    "postmark": ("postmark", {"api_key": "server_token"}),
    "brevo": ("brevo", {"api_key": "api_key"}),
    "sparkpost": ("sparkpost", {"api_key": "api_key"}),
    "mailjet": ("mailjet", {"api_key": "api_key", "secret_key": "secret_key"}),
    "resend": ("resend", {"api_key": "api_key"}),
    "mailersend": ("mailersend", {"api_key": "api_token"}),
    "postal": ("postal", {"api_key": "api_key"}),
    "mandrill": ("mandrill", {"api_key": "api_key"}),
    # boto3 client parameters (below), not keywords of the backend.
    "amazon_ses": ("amazon_ses", {}),
}
SES_KEYS = {"region": "region_name", "access_key_id": "aws_access_key_id", "secret_access_key": "aws_secret_access_key"}


def required_keys(esp: str) -> tuple[str, ...]:
    """The config keys `esp` cannot send without (besides esp and from_email)."""
    return tuple(SES_KEYS) if esp == "amazon_ses" else ("api_key",)


def backend_arguments(config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(anymail backend name, keyword arguments of its EmailBackend) for a gateway's config. Raises KeyError for
    a missing key."""
    name, keys = ESPS[config["esp"]]
    if config["esp"] == "amazon_ses":
        params: dict[str, Any] = {boto: config[ours] for ours, boto in SES_KEYS.items()}
        # One attempt (the delivery decides about retries: boto3's own would send a message twice) and timeouts
        # like the other backends'.
        params["config"] = {"retries": {"total_max_attempts": 1}, "connect_timeout": 10, "read_timeout": 20}
        if config.get("base_url"):
            params["endpoint_url"] = config["base_url"]
        return name, {"client_params": params}
    kwargs = {anymail: config[ours] for ours, anymail in keys.items() if ours in config}
    if config.get("base_url"):
        kwargs["api_url"] = config["base_url"]
    return name, kwargs


def http_status(exc: AnymailAPIError) -> int | None:
    """The HTTP status the ESP answered with, or None when no answer came."""
    if exc.status_code is not None:
        return int(exc.status_code)
    response = exc.response if isinstance(exc.response, dict) else {}  # botocore's parsed error response
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return int(status) if status else None


def in_flight(exc: AnymailAPIError) -> bool:
    """Whether a call that got no answer may have reached the ESP: only a failure to connect proves it did not."""
    cause = exc.__cause__
    if isinstance(cause, EndpointConnectionError | ConnectTimeoutError):
        return False
    return request_sent(cause or exc)
