"""Checks an inbound request passes before anything else happens: a shared token, compared in
constant time, and Standard Webhooks signatures (https://www.standardwebhooks.com/).

Standard Webhooks, as GitLab sends them when a hook has a signing token: ``webhook-id``,
``webhook-timestamp`` (Unix seconds) and ``webhook-signature``, a space-separated list of
``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``, keyed with the base64-decoded part of the
``whsec_…`` secret. A timestamp further than :data:`TOLERANCE_SECONDS` from now is refused, so a
captured request cannot be replayed later.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping

TOLERANCE_SECONDS = 300
SIGNING_KEY_PREFIX = "whsec_"
_SECONDS = re.compile(r"[0-9]{1,12}")


def same_secret(given: str, expected: str) -> bool:
    """True when ``given`` equals a non-empty ``expected``, compared in constant time."""
    if not expected:
        return False
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def signing_key(secret: str) -> bytes | None:
    """The HMAC key a ``whsec_<base64>`` secret holds; None when it is not one."""
    if not secret.startswith(SIGNING_KEY_PREFIX):
        return None
    try:
        key = base64.b64decode(secret.removeprefix(SIGNING_KEY_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        return None
    return key or None


def sign(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> str:
    """``v1,<base64>``: the signature a sender computes (tests and tools use it too)."""
    signed = webhook_id.encode() + b"." + timestamp.encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def standard_webhook_verified(key: bytes, headers: Mapping[str, str], body: bytes, *, now: float) -> bool:
    """True when ``webhook-signature`` holds a ``v1`` signature of this id, timestamp and body under
    ``key``, and the timestamp is within :data:`TOLERANCE_SECONDS` of ``now``."""
    webhook_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    if not webhook_id or not _SECONDS.fullmatch(timestamp):  # not str.isdigit: "²" is a digit to it
        return False
    if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    expected = sign(key, webhook_id, timestamp, body).encode()
    offered = headers.get("webhook-signature", "").split()
    # every candidate is compared (no early exit on the first that matches the prefix)
    return any(
        [hmac.compare_digest(candidate.encode("utf-8", "surrogatepass"), expected) for candidate in offered]
    )
