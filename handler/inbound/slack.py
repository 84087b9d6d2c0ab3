"""Slack's request signature (``v0``), its replay window, and the workspace check.

Slack signs every request to the app's Request URL::

    X-Slack-Request-Timestamp: 1531420618
    X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:<timestamp>:<raw body>" under the signing secret>

A request is accepted only when the timestamp is a whole number within :data:`MAX_AGE_SECONDS`
of now (either way: a replay outside that window is refused even with a good signature) and the
signature matches, compared in constant time (:func:`hmac.compare_digest`). The check runs over
the raw bytes before anything parses the body, so nothing is trusted before it.

``SLACK_TEAM_ID`` names the one workspace served: a verified request whose ``team_id`` (form field,
event field, or ``team.id`` inside an interaction payload) is another answers 403 and does nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from handler.inbound.request import FunctionUrlRequest

#: Slack's replay window: a request whose timestamp is further from now than this is refused.
MAX_AGE_SECONDS = 300
SIGNATURE_HEADER = "x-slack-signature"
TIMESTAMP_HEADER = "x-slack-request-timestamp"
RETRY_HEADER = "x-slack-retry-num"
#: The secret key (in the JSON secret ``SLACK_WEBHOOK_SECRET_ARN`` names) holding the signing secret.
SIGNING_SECRET_KEY = "slack-signing-secret"
_VERSION = "v0"
_SECONDS = re.compile(r"[0-9]{1,12}")


@dataclass(frozen=True)
class Refusal:
    """Why a request was refused: ``status`` (401 or 403) and a reason for the log, never the caller."""

    status: int
    reason: str


def signature(signing_secret: str, timestamp: str, body: bytes) -> str:
    """``v0=`` + the hex HMAC-SHA256 of ``v0:<timestamp>:<body>``: what Slack sends."""
    base = f"{_VERSION}:{timestamp}:".encode() + body
    return f"{_VERSION}=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def check_signature(request: FunctionUrlRequest, signing_secret: str, now: float) -> Refusal | None:
    """None when the request is Slack's and fresh; otherwise the 401 :class:`Refusal` and why.

    Args:
        request: the function-URL request, body untouched.
        signing_secret: the app's signing secret (never logged).
        now: the time (epoch seconds) to measure the timestamp's age against.
    """
    if not signing_secret:
        return Refusal(401, "no signing secret is configured (secret key slack-signing-secret)")
    timestamp = request.header(TIMESTAMP_HEADER) or ""
    sent = request.header(SIGNATURE_HEADER) or ""
    if not _SECONDS.fullmatch(timestamp):  # 12 digits at most: int() of thousands raises
        return Refusal(401, "no valid X-Slack-Request-Timestamp")
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        return Refusal(401, f"timestamp outside the {MAX_AGE_SECONDS} s window (a replay, or a clock off)")
    expected = signature(signing_secret, timestamp, request.raw_body)
    if not hmac.compare_digest(expected.encode(), sent.encode("utf-8", "replace")):
        return Refusal(401, "X-Slack-Signature does not match the body")
    return None


def team_of(form: Mapping[str, str], document: Mapping[str, Any] | None) -> str | None:
    """The workspace a verified request comes from: a slash command's ``team_id`` field, an event's
    ``team_id``, or an interaction's ``team.id``; None when it names none."""
    if document is not None:
        team = document.get("team")
        if isinstance(team, Mapping) and isinstance(team.get("id"), str):
            return str(team["id"])
        if isinstance(document.get("team_id"), str):
            return str(document["team_id"])
        return None
    return form.get("team_id")


def check_team(team_id: str | None, served: str | None) -> Refusal | None:
    """None when ``served`` is unset or equals ``team_id``; else the 403 :class:`Refusal`."""
    if served and team_id != served:
        return Refusal(403, f"a request from workspace {str(team_id)[:20]!r}, not {served}")
    return None


@dataclass(frozen=True)
class SlackBody:
    """A verified body, decoded: the form fields, and the JSON document it carries if any (an Events
    API callback is JSON; an interaction is a form with a ``payload`` field of JSON)."""

    form: Mapping[str, str]
    document: Mapping[str, Any] | None


def decode_body(raw_body: bytes, content_type: str) -> SlackBody | None:
    """Decode a verified body; None when it is neither JSON nor a form Slack would send."""
    try:
        text = raw_body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    try:
        if "json" in content_type.lower():
            document = json.loads(text)
            return SlackBody({}, document) if isinstance(document, dict) else None
        form = {name: values[0] for name, values in parse_qs(text, keep_blank_values=True).items()}
        if "payload" in form:
            document = json.loads(form["payload"])
            return SlackBody(form, document) if isinstance(document, dict) else None
        return SlackBody(form, None)
    except ValueError:
        return None
