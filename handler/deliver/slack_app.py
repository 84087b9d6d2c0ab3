"""Deliver through a Slack app (a bot token, ``xoxb-``) with the Web API, for threads, edits and DMs.

An incoming webhook answers only ``ok``, so the notifier never learns where its message landed;
``chat.postMessage`` answers with the message's ``ts``, which lets a later event reply in its
thread (``thread_ts``) or edit it (``chat.update``), and ``conversations.open`` reaches a person
directly. :class:`SlackApp` does these three calls with the official ``slack_sdk``.

==========================================  ================================================
Slack's answer                              what happens
==========================================  ================================================
``ok: true``                                :class:`PostedMessage` (channel id and ``ts``)
429 ``ratelimited`` with ``Retry-After``    wait that long plus jitter if the deadline
                                            allows, retry; 429s do not use up attempts
5xx, ``internal_error``, ``fatal_error``,   full-jitter exponential backoff, retry, at most
``service_unavailable``, connection error,  ``max_attempts`` in all; then
timeout                                     :class:`~handler.errors.DeliveryExhausted`
``message_not_found``,                      :class:`~handler.errors.MessageGone`
``cant_update_message`` (``chat.update``)   the caller posts a new message instead
any other ``ok: false`` code                :class:`~handler.errors.SlackApiRefused` at
                                            once, its message saying what to do
                                            (:data:`ADVICE`); :data:`CREDENTIAL_ERRORS`
                                            are worth re-reading the secret for
==========================================  ================================================

The retry policy lives in :mod:`handler.deliver.slack_retry` (slack_sdk's own retry handlers,
with the waiting bounded by the invocation's :class:`~handler.deadline.Deadline`).

Cold start: this module imports nothing from slack_sdk at import time; the client is built, and
slack_sdk imported, only when a :class:`SlackApp` is constructed, so a push to webhook
destinations never pays for it. The token is a secret: it is sent only in the ``Authorization``
header, never put in a log line or an exception message, and ``repr`` leaves it out.
"""

from __future__ import annotations

import http.client
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from handler.deadline import Deadline
from handler.deliver.webhook import MIN_ATTEMPT_SECONDS
from handler.errors import ConfigurationError, DeliveryExhausted, MessageGone, SlackApiRefused

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from slack_sdk.web import SlackResponse

    from handler.deliver.slack_retry import RetryBudget

__all__ = ["ADVICE", "CREDENTIAL_ERRORS", "DEFAULT_BASE_URL", "PostedMessage", "SlackApp"]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://slack.com/api/"
#: Codes that mean the token itself is wrong or dead: the caller may re-read the secret once, in
#: case it was rotated, before giving up (as it does for a webhook's 403/404/410).
CREDENTIAL_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)
#: ``chat.update`` codes that mean there is no message to edit: post anew instead.
GONE_ERRORS = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})
#: The scope each method needs, for ``missing_scope`` when Slack does not name it.
SCOPES = {"chat.postMessage": "chat:write", "chat.update": "chat:write", "conversations.open": "im:write"}

_REINSTALL = (
    "put the app's Bot User OAuth Token (xoxb-..., on the app's OAuth & Permissions page; reinstall "
    "the app to the workspace if it has none) in the secret, then redrive the dead-letter queue"
)
_BUG = "the message was rejected; report it as a bug with the event from the dead-letter queue"
_USER = (
    "the person {target} cannot be sent a direct message (unknown, deactivated, or a bot); check "
    "the user mapping, then redrive the dead-letter queue"
)
#: What to do about each permanent code. ``{target}`` is the channel or user, ``{scope}`` the scope.
ADVICE: dict[str, str] = {
    "channel_not_found": (
        "the channel {target} does not exist or the app cannot see it (a private channel must have "
        "the app invited: /invite @AppName); check the destination's channel (an id such as "
        "C0123456789 is safest), then redrive the dead-letter queue"
    ),
    "not_in_channel": (
        "the app is not in the channel {target}: invite the app to the channel (/invite @AppName), "
        "or give it the chat:write.public scope for public channels, then redrive the dead-letter queue"
    ),
    "is_archived": (
        "the channel {target} is archived: unarchive it or point the destination at another "
        "channel, then redrive the dead-letter queue"
    ),
    "invalid_auth": "the bot token in the secret is not valid: " + _REINSTALL,
    "not_authed": "no bot token reached Slack: " + _REINSTALL,
    "account_inactive": (
        "the bot token belongs to a deactivated app or workspace: reinstall the app, " + _REINSTALL
    ),
    "token_revoked": "the bot token was revoked (the app was uninstalled?): " + _REINSTALL,
    "token_expired": "the bot token expired (token rotation is on?): " + _REINSTALL,
    "missing_scope": (
        "the app lacks the {scope} scope: add it under OAuth & Permissions > Bot Token Scopes and "
        "reinstall the app to the workspace, then redrive the dead-letter queue"
    ),
    "restricted_action": (
        "the workspace does not let the app post in {target} (posting permissions, or a "
        "read-only channel); allow it or choose another channel, then redrive the dead-letter queue"
    ),
    "msg_too_long": _BUG,
    "no_text": _BUG,
    "invalid_blocks": _BUG,
    "invalid_blocks_format": _BUG,
    "invalid_attachments": _BUG,
    "too_many_attachments": _BUG,
    "invalid_arguments": _BUG,
    "user_not_found": _USER,
    "user_disabled": _USER,
    "cannot_dm_bot": _USER,
    "user_not_visible": _USER,
}
#: Keys of a webhook payload that are Web API arguments the call itself sets.
_RESERVED = frozenset({"channel", "ts", "thread_ts", "token"})
#: ``chat.update`` takes no unfurl arguments; a message keeps the unfurl choice it was posted with.
_NOT_FOR_UPDATE = frozenset({"unfurl_links", "unfurl_media"})


@dataclass(frozen=True)
class PostedMessage:
    """Where a message landed: enough to reply in its thread or to edit it."""

    channel_id: str
    ts: str


class SlackApp:
    """A Slack app's bot, posting, editing and sending direct messages through the Web API.

    One call at a time: each call installs its own deadline-bound retry handlers on the client
    (Lambda runs one event at a time per container, so a client per container is shared safely).
    """

    def __init__(
        self,
        token: str,
        *,
        base_url: str | None = None,
        timeout_seconds: float = 10.0,
        max_attempts: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if not token.startswith("xoxb-"):
            raise ConfigurationError(
                "the Slack app secret must be a bot token starting with xoxb- (the Bot User OAuth "
                "Token on the app's OAuth & Permissions page)"
            )
        from slack_sdk import WebClient  # here, not at module level: only app destinations pay for it

        self._timeout = timeout_seconds
        self._max_attempts = max(1, max_attempts)
        self._sleep = sleep
        self._rng = rng
        self._wall_clock = wall_clock
        self._client: WebClient = WebClient(
            token=token,
            base_url=base_url or DEFAULT_BASE_URL,
            timeout=self._socket_timeout(float("inf")),
            retry_handlers=[],
        )

    def __repr__(self) -> str:
        return f"SlackApp(base_url={self._client.base_url!r})"

    def post(
        self, channel: str, payload: dict[str, Any], *, thread_ts: str | None = None, deadline: Deadline
    ) -> PostedMessage:
        """``chat.postMessage`` ``payload`` (``text``, ``attachments``, ``unfurl_*``, as a webhook
        takes it) to ``channel`` (an id or ``#name``), in the thread of ``thread_ts`` if given.

        Raises:
            SlackApiRefused: a permanent refusal; the message says what to do.
            DeliveryExhausted: transient failures outlived the attempts or the time left.
        """
        arguments = _arguments(payload)
        response = self._call(
            "chat.postMessage",
            channel,
            deadline,
            lambda client: client.chat_postMessage(channel=channel, thread_ts=thread_ts, **arguments),
        )
        return PostedMessage(channel_id=str(response["channel"]), ts=str(response["ts"]))

    def update(self, channel_id: str, ts: str, payload: dict[str, Any], *, deadline: Deadline) -> None:
        """``chat.update`` the message at ``ts`` in ``channel_id`` to show ``payload`` instead.

        Raises:
            MessageGone: the message was deleted or cannot be edited; post a new one instead.
            SlackApiRefused: any other permanent refusal.
            DeliveryExhausted: transient failures outlived the attempts or the time left.
        """
        arguments = {k: v for k, v in _arguments(payload).items() if k not in _NOT_FOR_UPDATE}
        self._call(
            "chat.update",
            channel_id,
            deadline,
            lambda client: client.chat_update(channel=channel_id, ts=ts, **arguments),
        )

    def direct_message(self, user_id: str, payload: dict[str, Any], *, deadline: Deadline) -> PostedMessage:
        """Open (or find) the direct conversation with ``user_id`` (``U...``) and post there.

        Raises:
            SlackApiRefused: a permanent refusal (``missing_scope`` names ``im:write``).
            DeliveryExhausted: transient failures outlived the attempts or the time left.
        """
        opened = self._call(
            "conversations.open", user_id, deadline, lambda client: client.conversations_open(users=user_id)
        )
        channel = opened["channel"]
        channel_id = str(channel["id"] if isinstance(channel, dict) else channel)
        return self.post(channel_id, payload, deadline=deadline)

    def call(self, method: str, *, deadline: Deadline, **arguments: Any) -> dict[str, Any]:
        """Any other Web API ``method`` (``chat.postEphemeral``, ``views.open``, ``reactions.add``,
        ``conversations.replies``) with JSON ``arguments``, under the same retries and errors."""
        target = str(arguments.get("channel") or arguments.get("user") or "")
        response = self._call(
            method, target, deadline, lambda client: client.api_call(method, json=arguments)
        )
        return dict(response.data) if isinstance(response.data, dict) else {}

    def _call(
        self,
        method: str,
        target: str,
        deadline: Deadline,
        call: Callable[[WebClient], SlackResponse],
    ) -> SlackResponse:
        """Run ``call`` under a fresh retry budget and turn its failure into a delivery error."""
        from slack_sdk.errors import SlackApiError

        from handler.deliver.slack_retry import RetryBudget, retry_handlers

        if deadline.seconds_left() < MIN_ATTEMPT_SECONDS:
            raise DeliveryExhausted(
                f"Slack's {method} was not attempted: no time was left; raising so Lambda retries the event",
                attempts=0,
            )
        budget = RetryBudget(
            deadline,
            sleep=self._sleep,
            rng=self._rng,
            wall_clock=self._wall_clock,
            set_timeout=self._set_socket_timeout,
        )
        self._set_socket_timeout(deadline.seconds_left())
        self._client.retry_handlers = retry_handlers(budget, self._max_attempts)
        try:
            return call(self._client)
        except SlackApiError as error:
            raise _api_failure(
                method, target, error.response.status_code, error.response.data, budget
            ) from None
        except (OSError, http.client.HTTPException) as error:  # URLError, timeouts, resets, bad answers
            raise DeliveryExhausted(
                f"Slack's {method} did not succeed after {budget.requests} attempt(s) in the time "
                f"available (last: {type(error).__name__}); raising so Lambda retries the event",
                attempts=budget.requests,
            ) from None

    def _set_socket_timeout(self, seconds_left: float) -> None:
        self._client.timeout = self._socket_timeout(seconds_left)

    def _socket_timeout(self, seconds_left: float) -> int:
        """Whole seconds (the client's timeout is an ``int``), at least 1, never past the time left."""
        return max(1, math.floor(min(self._timeout, seconds_left)))


def _arguments(payload: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in payload.items() if key not in _RESERVED}


def _api_failure(
    method: str, target: str, status: int, data: Any, budget: RetryBudget
) -> DeliveryExhausted | SlackApiRefused:
    """The delivery error for a final ``ok: false`` (or non-JSON) answer of ``method``.

    Raised ``from None``: slack_sdk's own exception repeats the whole response, which is noise in
    a log; the code, the status and the attempts are all here.
    """
    from handler.deliver.slack_retry import TRANSIENT_ERRORS

    body = data if isinstance(data, dict) else {}
    code = str(body.get("error") or "unexpected_answer")
    attempts = budget.requests
    if status == 429 or status >= 500 or code in TRANSIENT_ERRORS:
        return DeliveryExhausted(
            f"Slack's {method} did not succeed after {attempts} attempt(s) in the time available "
            f"(last: HTTP {status} {code}); raising so Lambda retries the event",
            status=status,
            attempts=attempts,
        )
    if method == "chat.update" and code in GONE_ERRORS:
        return MessageGone(
            f"Slack's chat.update cannot edit the message in {target} ({code}); post a new one instead",
            error=code,
            status=status,
            attempts=attempts,
        )
    scope = str(body.get("needed") or SCOPES.get(method, "chat:write"))
    advice = ADVICE.get(code, f"see https://api.slack.com/methods/{method}#errors for what {code} means")
    return SlackApiRefused(
        f"Slack refused {method} for good ({code}); " + advice.format(target=target, scope=scope),
        error=code,
        status=status,
        attempts=attempts,
    )
