"""Amazon SES v2 on loopback: `POST /v2/email/outbound-emails` (SendEmail with raw content), answering as SES
does (https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html).

Every request's AWS Signature Version 4 is checked with botocore's own signer against the access keys the fake
knows, so a test proves the gateway's secret signed the call (it never travels itself). A recipient listed in
`failures` gets that HTTP status and SES error type.
"""

from __future__ import annotations

import base64
import itertools
import re
from collections.abc import Callable
from email import message_from_bytes

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.fakes.http import Reply, Request

PATH = "/v2/email/outbound-emails"
_AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                   r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})")  # fmt: skip
_ids = itertools.count(1)


def signature_valid(request: Request, url: str, keys: dict[str, str], region: str) -> bool:
    """Recomputes the request's SigV4 signature (service `ses`, `region`) with the secret of its access key id."""
    found = _AUTH.fullmatch(request.headers.get("authorization", ""))
    if found is None or found.group(1) not in keys or found.group(3) != region or found.group(4) != "ses":
        return False
    signed = found.group(5).split(";")
    signed_request = AWSRequest(method=request.method, url=url, data=request.raw,
                                headers={name: request.headers[name] for name in signed if name in request.headers})  # fmt: skip
    signed_request.context["timestamp"] = request.headers.get("x-amz-date", "")
    signer = SigV4Auth(Credentials(found.group(1), keys[found.group(1)]), "ses", region)
    canonical = signer.canonical_request(signed_request)
    expected = signer.signature(signer.string_to_sign(signed_request, canonical), signed_request)
    return expected == found.group(6)


def ses(
    keys: dict[str, str], region: str, failures: dict[str, tuple[int, str]] | None = None, base_url: str = ""
) -> Callable[[Request], Reply]:
    """The handler; `base_url` is the fake's own URL (the signature covers the host)."""
    failures = failures or {}

    def handle(request: Request) -> Reply:
        if request.method != "POST" or request.path != PATH:
            return Reply(404, {"message": "Not found"})
        if not signature_valid(request, base_url + PATH, keys, region):
            return _error(403, "InvalidSignatureException", "The request signature we calculated does not match.")
        raw = base64.b64decode(request.body["Content"]["Raw"]["Data"])
        recipient = str(message_from_bytes(raw)["To"])
        if recipient in failures:
            status, kind = failures[recipient]
            return _error(status, kind, f"{kind} for {recipient}")
        return Reply(200, {"MessageId": f"0100018c{next(_ids):08x}-0000-0000-0000-000000000000-000000"})

    return handle


def _error(status: int, kind: str, message: str) -> Reply:
    return Reply(status, {"message": message}, {"x-amzn-ErrorType": f"{kind}:http://internal.amazon.com/"})
