"""The answers a function-URL handler returns: ``{"statusCode", "headers", "body"}``.

Function URLs turn this dictionary into the HTTP response. Bodies are text; a refusal says only
what the caller may know (no reason that helps a forger), the reason goes to the log.
"""

from __future__ import annotations

import json
from typing import Any

Response = dict[str, Any]


def text(status: int, body: str = "") -> Response:
    """A plain-text answer."""
    return {"statusCode": status, "headers": {"Content-Type": "text/plain; charset=utf-8"}, "body": body}


def json_body(status: int, document: object) -> Response:
    """A JSON answer (Slack reads an acknowledgement's JSON body as the message to show)."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(document, ensure_ascii=False, separators=(",", ":")),
    }


def ack() -> Response:
    """``200`` with an empty body: Slack's acknowledgement that shows nothing."""
    return {"statusCode": 200, "headers": {}, "body": ""}


def unauthorized() -> Response:
    """``401``: the request's signature, timestamp or token did not check out."""
    return text(401, "unauthorized")


def forbidden() -> Response:
    """``403``: a verified request from a workspace (or project) this notifier does not serve."""
    return text(403, "forbidden")
