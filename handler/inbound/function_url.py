"""A Lambda function URL request (payload format 2.0) as a read-only view, and the responses.

Function URLs give lower-case ``headers``, the ``body`` as a string (base64 when
``isBase64Encoded``) and the method in ``requestContext.http.method``; a handler returns
``{"statusCode", "headers", "body"}``. Nothing in a request is trusted before the entry has
checked its token or signature (:mod:`handler.inbound.verify`).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["FunctionUrlRequest", "response"]


class FunctionUrlRequest:
    """One function URL request; the raw event stays reachable as ``raw_event``."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw_event = raw

    @property
    def headers(self) -> Mapping[str, str]:
        """Headers by lower-case name (function URLs lower-case them; a hand-made event may not)."""
        value = self.raw_event.get("headers")
        if not isinstance(value, dict):
            return {}
        return {str(name).lower(): str(item) for name, item in value.items() if isinstance(item, str)}

    def header(self, name: str) -> str:
        """One header's value ("" when absent)."""
        return self.headers.get(name.lower(), "")

    @property
    def method(self) -> str:
        """``POST``, ``GET``, …"""
        context = self.raw_event.get("requestContext")
        http = context.get("http") if isinstance(context, dict) else None
        method = http.get("method") if isinstance(http, dict) else None
        return method.upper() if isinstance(method, str) else ""

    @property
    def body(self) -> bytes:
        """The raw body, exactly as signed (decoded from base64 when the URL encoded it)."""
        value = self.raw_event.get("body")
        if not isinstance(value, str):
            return b""
        if self.raw_event.get("isBase64Encoded") is True:
            try:
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                return b""
        return value.encode("utf-8", "surrogatepass")


def response(status: int, message: str = "") -> dict[str, Any]:
    """A small JSON answer: ``{"message": ...}`` (the sender's logs show it; it never holds a secret)."""
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"message": message} if message else {}),
    }
