"""A Mattermost incoming-webhook stand-in on 127.0.0.1, scripted per request like Slack's.

It judges each request the way the server's ``HandleIncomingWebhook`` does before a scripted
answer that would deliver it counts:

* a path that is not ``/hooks/<26-character id>`` gets 404 (the server's router has no route);
* a hook id other than this stand-in's gets 400 ``web.incoming_webhook.invalid.app_error``;
* a body that is not a JSON object gets 400 ``web.incoming_webhook.parse.app_error``
  ("Unable to parse incoming data");
* a payload with neither ``text`` nor ``attachments`` gets 400
  ``web.incoming_webhook.text.app_error``;
* ``blocks`` (and every other field the server's request struct lacks) is dropped: ``delivered``
  holds what the channel shows, so a blocks-only Slack payload is refused and blocks beside
  ``text`` never arrive.

Errors are the server's ``AppError`` JSON (``id``, ``message``, ``status_code``); the scripted
replies :data:`DISABLED`, :data:`CHANNEL_NOT_FOUND`, :data:`RATE_LIMITED` and
:data:`SERVER_ERROR` are the answers a real server gives.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.standins.slack import Reply, SlackStandIn

HOOK_ID = "bd3mqnbqxtgwpfnb1fh8ef9yzr"  # 26 characters, as Mattermost's ids are
#: The fields of the server's ``IncomingWebhookRequest``: anything else is lost in decoding.
REQUEST_FIELDS = frozenset(
    {"text", "username", "icon_url", "channel", "props", "attachments", "type", "icon_emoji", "priority"}
)


def app_error(status: int, error_id: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    """The JSON body Mattermost answers an error with (``model.AppError``)."""
    body = json.dumps(
        {
            "id": error_id,
            "message": message,
            "detailed_error": "",
            "request_id": "p8cfm4j3bjdiffr8kbnf4mzk5e",
            "status_code": status,
        }
    )
    return Reply(status, body, {"Content-Type": "application/json", **(headers or {})})


DISABLED = app_error(
    501,
    "web.incoming_webhook.disabled.app_error",
    "Incoming webhooks have been disabled by the system admin.",
)
CHANNEL_NOT_FOUND = app_error(400, "web.incoming_webhook.channel.app_error", "Couldn't find the channel.")
INVALID_HOOK = app_error(400, "web.incoming_webhook.invalid.app_error", "Invalid webhook.")
UNPARSABLE = app_error(400, "web.incoming_webhook.parse.app_error", "Unable to parse incoming data.")
NO_TEXT = app_error(400, "web.incoming_webhook.text.app_error", "No text specified.")
RATE_LIMITED = app_error(
    429,
    "api.context.rate_limit.app_error",
    "Too many requests. Please try again later.",
    {"Retry-After": "1"},
)
SERVER_ERROR = app_error(500, "app.post.save.app_error", "Unable to save the post.")


class MattermostStandIn(SlackStandIn):
    """Mattermost's incoming webhook: :class:`SlackStandIn`'s script, after the server's checks."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{HOOK_ID}"

    def answer(self, path: str, body: bytes) -> tuple[Reply, dict[str, Any]]:
        reply = self._next_reply()
        try:
            posted = json.loads(body)
        except ValueError:
            posted = None
        if not 200 <= reply.status < 300:
            return reply, {}
        parts = path.split("/")
        if len(parts) != 3 or parts[1] != "hooks" or len(parts[2]) != 26:
            return Reply(404, "404 page not found"), {}
        if not isinstance(posted, dict):
            return UNPARSABLE, {}
        if not posted.get("text") and posted.get("attachments") is None:
            return NO_TEXT, {}
        if parts[2] != HOOK_ID:
            return INVALID_HOOK, {}
        return reply, {key: value for key, value in posted.items() if key in REQUEST_FIELDS}


@contextmanager
def running(script: list[Reply] | None = None, **kwargs: Any) -> Iterator[MattermostStandIn]:
    stand_in = MattermostStandIn(script, **kwargs).start()
    try:
        yield stand_in
    finally:
        stand_in.stop()
