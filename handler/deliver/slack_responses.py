"""Private answers to a Slack interaction through its ``response_url``.

Slash commands and button clicks come with a ``response_url`` that takes up to five JSON posts in
30 minutes: ``{"response_type": "ephemeral", "text": ...}`` shows a message only the person sees.
The URL comes from a verified request; it is still checked to be Slack's (``https`` on
``hooks.slack.com`` or ``hooks.slack-gov.com``) or loopback (tests, the demo), so a request can
never make the function post elsewhere.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

_SLACK_HOSTS = frozenset({"hooks.slack.com", "hooks.slack-gov.com"})
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def is_response_url(url: str) -> bool:
    """Slack's own response host over https, or loopback over http(s)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    return (parts.scheme == "https" and host in _SLACK_HOSTS) or (
        parts.scheme in ("http", "https") and host in _LOOPBACK
    )


def respond(
    url: str, text: str, *, public: bool = False, replace_original: bool = False, timeout: float = 5.0
) -> bool:
    """Post ``text`` to ``url``: privately, or to the whole channel when ``public`` (``in_channel``:
    a deploy started, a stage rolled back). True when Slack took it. A failure is logged, never
    raised: the action it reports on is already done, and a retry would do it again."""
    if not is_response_url(url):
        log.warning("not answering through a response_url that is not Slack's")
        return False
    kind = "in_channel" if public else "ephemeral"
    body = {"response_type": kind, "text": text, "replace_original": replace_original}
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return bool(200 <= answer.status < 300)
    except OSError as error:
        log.warning("could not answer through the response_url: %s", type(error).__name__)
        return False
