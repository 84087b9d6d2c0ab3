"""A read-only view over a Lambda function-URL request (payload format 2.0).

Function URLs hand the handler the HTTP request as an event: ``headers`` with lower-case names
(repeated headers joined with commas), ``body`` as text, or base64 when ``isBase64Encoded`` is
true, and the method under ``requestContext.http.method``. A signature is computed over the body
*as sent*, so :attr:`FunctionUrlRequest.raw_body` gives the exact bytes, never a re-encoded form.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any


class FunctionUrlRequest:
    """One function-URL request. Every property reads the raw event; nothing is validated here."""

    def __init__(self, event: Mapping[str, Any]) -> None:
        self._event = event

    @property
    def raw_event(self) -> Mapping[str, Any]:
        """The event as Lambda delivered it."""
        return self._event

    @property
    def is_function_url(self) -> bool:
        """True when the event has the shape of a function-URL request (``requestContext.http``)."""
        context = self._event.get("requestContext")
        return isinstance(context, Mapping) and isinstance(context.get("http"), Mapping)

    @property
    def method(self) -> str:
        """``requestContext.http.method``, upper-case (``POST``); empty when absent."""
        context = self._event.get("requestContext")
        http = context.get("http") if isinstance(context, Mapping) else None
        method = http.get("method") if isinstance(http, Mapping) else None
        return method.upper() if isinstance(method, str) else ""

    @property
    def headers(self) -> Mapping[str, str]:
        """The headers, names lower-cased (function URLs already send them so; this makes sure)."""
        raw = self._event.get("headers")
        if not isinstance(raw, Mapping):
            return {}
        return {str(name).lower(): str(value) for name, value in raw.items() if isinstance(value, str)}

    def header(self, name: str) -> str | None:
        """One header's value, by name in any case; None when absent."""
        return self.headers.get(name.lower())

    @property
    def raw_body(self) -> bytes:
        """The body's exact bytes: base64-decoded when ``isBase64Encoded``, else the text as UTF-8.

        A body flagged base64 that does not decode gives ``b""``, which no signature matches.
        """
        body = self._event.get("body")
        if not isinstance(body, str):
            return b""
        if self._event.get("isBase64Encoded") is True:
            try:
                return base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                return b""
        return body.encode("utf-8", "surrogatepass")
