"""Signed Slack requests as a Lambda function URL delivers them, and recording stand-ins for the
front door's edges (so a test can assert that a refused request caused nothing)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from handler.actions.front_door import FrontDoor
from handler.inbound.slack import signature

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM = "T1DC2JH3J"
NOW = 1_531_420_618


def function_url_event(
    body: bytes,
    headers: dict[str, str],
    *,
    base64_encoded: bool = False,
    method: str = "POST",
) -> dict[str, Any]:
    """A payload-2.0 function-URL event around ``body``."""
    return {
        "version": "2.0",
        "rawPath": "/",
        "headers": headers,
        "requestContext": {"http": {"method": method, "path": "/", "sourceIp": "203.0.113.9"}},
        "body": base64.b64encode(body).decode()
        if base64_encoded
        else body.decode("utf-8", "surrogateescape"),
        "isBase64Encoded": base64_encoded,
    }


def signed(
    body: bytes,
    *,
    content_type: str = "application/x-www-form-urlencoded",
    timestamp: int = NOW,
    secret: str = SECRET,
    base64_encoded: bool = False,
    extra: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A request Slack would send: signed over the exact body."""
    headers = {
        "content-type": content_type,
        "x-slack-request-timestamp": str(timestamp),
        "x-slack-signature": signature(secret, str(timestamp), body),
        **(extra or {}),
    }
    return function_url_event(body, headers, base64_encoded=base64_encoded)


def command_body(text: str, *, team: str = TEAM, user: str = "U0BOB0001") -> bytes:
    return urlencode(
        {
            "token": "deprecated",
            "team_id": team,
            "channel_id": "C0REVIEWS1",
            "user_id": user,
            "command": "/codecommit",
            "text": text,
            "response_url": "https://hooks.slack.com/commands/T1DC2JH3J/1/abc",
            "trigger_id": "1.2.3",
        }
    ).encode()


def interaction_body(document: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(document)}).encode()


def event_body(event: dict[str, Any], *, team: str = TEAM, event_id: str = "Ev0THREAD01") -> bytes:
    document = {
        "token": "deprecated",
        "team_id": team,
        "api_app_id": "A0NOTIFIER",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": NOW,
        "event": event,
    }
    return json.dumps(document).encode()


@dataclass
class Recorder:
    """Every edge the front door may touch, recording calls."""

    secret: str = SECRET
    team: str | None = TEAM
    now: float = float(NOW)
    secret_reads: int = 0
    handed_on: list[dict[str, Any]] = field(default_factory=list)
    modals: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def door(self) -> FrontDoor:
        def read() -> str:
            self.secret_reads += 1
            return self.secret

        return FrontDoor(
            signing_secret=read,
            team_id=self.team,
            hand_on=self.handed_on.append,
            open_modal=lambda d, t, v: self.modals.append((d, t, v)),
            clock=lambda: self.now,
        )

    @property
    def caused_anything(self) -> bool:
        """Anything but reading the secret."""
        return bool(self.handed_on or self.modals)
