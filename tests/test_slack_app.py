"""Slack app delivery: slack_sdk's real WebClient against a Slack Web API stand-in on 127.0.0.1."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from handler.deadline import Deadline
from handler.deliver.slack_app import CREDENTIAL_ERRORS, PostedMessage, SlackApp
from handler.errors import (
    ConfigurationError,
    DeliveryExhausted,
    DeliveryRefused,
    MessageGone,
    SlackApiRefused,
)
from tests.standins.slack_web_api import TOKEN, ApiReply, error, ratelimited, running, server_error

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD: dict[str, Any] = {
    "text": "alice pushed 2 commits to main",
    "attachments": [{"fallback": "2 commits", "color": "#2eb886", "text": "`abc1234` Fix the build"}],
    "unfurl_links": False,
    "unfurl_media": False,
}
NO_DEADLINE = Deadline(None)


class RecordingSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def app(base_url: str, sleep: RecordingSleep | None = None, token: str = TOKEN, **kwargs: Any) -> SlackApp:
    return SlackApp(token, base_url=base_url, sleep=sleep or RecordingSleep(), rng=lambda: 1.0, **kwargs)


def seconds_left(seconds: float) -> Deadline:
    """A deadline with ``seconds`` left (the margin taken off), standing still."""
    return Deadline(lambda: (seconds + 2.0) * 1000.0)


def test_post_returns_the_channel_id_and_ts_and_passes_the_payload_through() -> None:
    with running() as slack:
        posted = app(slack.base_url).post("C0REVIEWS01", PAYLOAD, deadline=NO_DEADLINE)
    assert posted == PostedMessage(channel_id="C0REVIEWS01", ts="1700000000.000100")
    [call] = slack.calls
    assert (call.method, call.channel, call.thread_ts, call.authorized) == (
        "chat.postMessage",
        "C0REVIEWS01",
        None,
        True,
    )
    assert call.payload == {"channel": "C0REVIEWS01", **PAYLOAD}


def test_a_channel_name_resolves_and_timestamps_grow() -> None:
    with running() as slack:
        client = app(slack.base_url)
        first = client.post("#reviews", PAYLOAD, deadline=NO_DEADLINE)
        second = client.post("#reviews", PAYLOAD, deadline=NO_DEADLINE)
    assert first.channel_id == second.channel_id == "C0REVIEWS01"
    assert float(second.ts) > float(first.ts)


def test_a_reply_carries_thread_ts() -> None:
    with running() as slack:
        client = app(slack.base_url)
        parent = client.post("C0REVIEWS01", PAYLOAD, deadline=NO_DEADLINE)
        reply = client.post("C0REVIEWS01", {"text": "approved"}, thread_ts=parent.ts, deadline=NO_DEADLINE)
    assert [call.thread_ts for call in slack.calls] == [None, parent.ts]
    assert slack.messages[("C0REVIEWS01", reply.ts)]["thread_ts"] == parent.ts


def test_update_edits_the_message_in_place() -> None:
    with running() as slack:
        client = app(slack.base_url)
        posted = client.post("C0REVIEWS01", PAYLOAD, deadline=NO_DEADLINE)
        client.update(posted.channel_id, posted.ts, {**PAYLOAD, "text": "merged"}, deadline=NO_DEADLINE)
    update = slack.calls_to("chat.update")[0]
    assert (update.channel, update.payload["ts"]) == (posted.channel_id, posted.ts)
    assert "unfurl_links" not in update.payload
    assert len(slack.messages) == 1
    assert slack.messages[(posted.channel_id, posted.ts)]["text"] == "merged"


@pytest.mark.parametrize("script", [[], [error("cant_update_message")]], ids=["not-found", "cant-update"])
def test_updating_a_message_that_is_gone_is_reported_distinctly(script: list[ApiReply | None]) -> None:
    with running(script) as slack:
        with pytest.raises(MessageGone, match="post a new one instead") as gone:
            app(slack.base_url).update("C0REVIEWS01", "1699999999.000100", PAYLOAD, deadline=NO_DEADLINE)
    assert isinstance(gone.value, DeliveryRefused)
    assert gone.value.error in ("message_not_found", "cant_update_message")
    assert len(slack.calls) == 1


def test_direct_message_opens_the_conversation_then_posts() -> None:
    with running() as slack:
        posted = app(slack.base_url).direct_message("U0ALICE01", PAYLOAD, deadline=NO_DEADLINE)
    assert [call.method for call in slack.calls] == ["conversations.open", "chat.postMessage"]
    assert slack.calls[0].payload == {"users": "U0ALICE01"}
    assert posted.channel_id == "D0ALICE01" == slack.calls[1].channel


def test_429_waits_for_retry_after_then_posts_once() -> None:
    sleep = RecordingSleep()
    with running([ratelimited("3")]) as slack:
        posted = app(slack.base_url, sleep).post("C0REVIEWS01", PAYLOAD, deadline=NO_DEADLINE)
    assert [(call.status, call.error) for call in slack.calls] == [(429, "ratelimited"), (200, None)]
    assert sleep.waits == [3.25]  # Retry-After, plus jitter (rng pinned to its ceiling: 0.125 * 2**1)
    assert list(slack.messages) == [("C0REVIEWS01", posted.ts)]


def test_429s_do_not_use_up_attempts_and_fractional_retry_after_is_read() -> None:
    sleep = RecordingSleep()
    with running([ratelimited("1.5")] * 4) as slack:
        app(slack.base_url, sleep, max_attempts=2).post("C0REVIEWS01", PAYLOAD, deadline=NO_DEADLINE)
    assert len(slack.calls) == 5
    assert sleep.waits == [1.75, 2.0, 2.0, 2.0]  # the jitter ceiling grows to 0.5, then stays
    assert len(slack.messages) == 1


def test_a_429_without_retry_after_backs_off() -> None:
    sleep = RecordingSleep()
    with running([ApiReply(429, {"ok": False, "error": "ratelimited"})]) as slack:
        app(slack.base_url, sleep).post("C0REVIEWS01", PAYLOAD, deadline=NO_DEADLINE)
    assert (len(slack.calls), sleep.waits) == (2, [1.0])


def test_a_retry_after_past_the_deadline_fails_at_once_without_sleeping() -> None:
    sleep = RecordingSleep()
    with running([ratelimited("30")]) as slack:
        with pytest.raises(DeliveryExhausted, match=r"after 1 attempt.*HTTP 429 ratelimited") as exhausted:
            app(slack.base_url, sleep).post("C0REVIEWS01", PAYLOAD, deadline=seconds_left(10))
    assert (exhausted.value.status, exhausted.value.attempts) == (429, 1)
    assert sleep.waits == []
    assert len(slack.calls) == 1


@pytest.mark.parametrize(
    "failure",
    [server_error(500), server_error(502), server_error(503), error("internal_error"), error("fatal_error")],
    ids=["500", "502", "503", "internal_error", "fatal_error"],
)
def test_transient_failures_back_off_then_post_once(failure: ApiReply) -> None:
    sleep = RecordingSleep()
    with running([failure, failure]) as slack:
        app(slack.base_url, sleep).post("C0REVIEWS01", PAYLOAD, deadline=NO_DEADLINE)
    assert len(slack.calls) == 3
    assert sleep.waits == [1.0, 2.0]  # rng pinned to 1.0: the full-jitter ceiling
    assert len(slack.messages) == 1


def test_persistent_500s_exhaust_the_attempts() -> None:
    sleep = RecordingSleep()
    with running([server_error()] * 10) as slack:
        with pytest.raises(DeliveryExhausted, match=r"after 3 attempt.*HTTP 500") as exhausted:
            app(slack.base_url, sleep, max_attempts=3).post("C0REVIEWS01", PAYLOAD, deadline=NO_DEADLINE)
    assert (exhausted.value.status, exhausted.value.attempts) == (500, 3)
    assert len(slack.calls) == 3
    assert sleep.waits == [1.0, 2.0]
    assert slack.messages == {}


def test_a_backoff_that_does_not_fit_before_the_deadline_is_not_waited() -> None:
    sleep = RecordingSleep()
    with running([server_error()] * 10) as slack:
        with pytest.raises(DeliveryExhausted, match="after 1 attempt"):
            app(slack.base_url, sleep).post("C0REVIEWS01", PAYLOAD, deadline=seconds_left(1.5))
    assert (len(slack.calls), sleep.waits) == (1, [])


def test_no_time_left_means_no_call() -> None:
    with running() as slack:
        with pytest.raises(DeliveryExhausted, match="not attempted") as exhausted:
            app(slack.base_url).post("C0REVIEWS01", PAYLOAD, deadline=seconds_left(0.5))
    assert exhausted.value.attempts == 0
    assert slack.calls == []


def test_connection_refused_is_retried_then_exhausts() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    sleep = RecordingSleep()
    with pytest.raises(DeliveryExhausted, match=r"after 3 attempt.*URLError") as exhausted:
        app(f"http://127.0.0.1:{port}/api/", sleep, max_attempts=3).post("C0X", PAYLOAD, deadline=NO_DEADLINE)
    assert exhausted.value.status is None
    assert sleep.waits == [1.0, 2.0]


def test_a_read_timeout_is_retried_and_posts_once() -> None:
    # held far past the 1 s timeout, so a busy machine cannot answer the first attempt in time
    with running([ApiReply(503, raw="slow", delay=6.0)]) as slack:
        app(slack.base_url, timeout_seconds=1).post("C0REVIEWS01", PAYLOAD, deadline=NO_DEADLINE)
    assert len(slack.calls) == 2
    assert len(slack.messages) == 1


@pytest.mark.parametrize(
    ("reply", "advice"),
    [
        (error("channel_not_found"), "channel C0REVIEWS01 does not exist or the app cannot see it"),
        (error("not_in_channel"), "invite the app to the channel (/invite @AppName)"),
        (error("is_archived"), "channel C0REVIEWS01 is archived"),
        (error("invalid_auth"), "Bot User OAuth Token (xoxb-"),
        (error("account_inactive"), "reinstall the app"),
        (error("token_revoked"), "bot token was revoked"),
        (error("missing_scope", needed="chat:write", provided="im:write"), "lacks the chat:write scope"),
        (error("msg_too_long"), "report it as a bug"),
        (error("no_text"), "report it as a bug"),
        (error("invalid_blocks"), "report it as a bug"),
        (error("invalid_attachments"), "report it as a bug"),
        (error("restricted_action"), "does not let the app post in C0REVIEWS01"),
        (error("something_new"), "api.slack.com/methods/chat.postMessage#errors"),
    ],
    ids=lambda value: value.body["error"] if isinstance(value, ApiReply) and value.body else "",
)
def test_permanent_errors_are_refused_at_once_with_advice(reply: ApiReply, advice: str) -> None:
    assert reply.body is not None
    code = reply.body["error"]
    with running([reply]) as slack:
        with pytest.raises(SlackApiRefused) as refused:
            app(slack.base_url).post("C0REVIEWS01", PAYLOAD, deadline=NO_DEADLINE)
    assert len(slack.calls) == 1
    assert refused.value.error == code
    assert str(refused.value).startswith(f"Slack refused chat.postMessage for good ({code}); ")
    assert advice in str(refused.value)
    assert not isinstance(refused.value, MessageGone)


def test_missing_im_write_is_named_for_direct_messages() -> None:
    with running([error("missing_scope")]) as slack:
        with pytest.raises(SlackApiRefused, match="lacks the im:write scope"):
            app(slack.base_url).direct_message("U0ALICE01", PAYLOAD, deadline=NO_DEADLINE)
    assert [call.method for call in slack.calls] == ["conversations.open"]


def test_a_wrong_token_is_invalid_auth_and_a_credentials_problem() -> None:
    wrong = "xoxb-9999999999-8888888888-SomeOtherTokenValue"
    with running() as slack:
        with pytest.raises(SlackApiRefused) as refused:
            app(slack.base_url, token=wrong).post("C0REVIEWS01", PAYLOAD, deadline=NO_DEADLINE)
    assert slack.calls[0].authorized is False
    assert refused.value.error == "invalid_auth"
    assert refused.value.error in CREDENTIAL_ERRORS


def _chain(error: BaseException) -> str:
    texts = []
    current: BaseException | None = error
    while current is not None:
        texts += [str(current), repr(current)]
        current = current.__cause__ or current.__context__
    return "\n".join(texts)


def test_the_token_never_reaches_an_exception_or_a_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    failures: list[BaseException] = []
    cases: list[tuple[ApiReply, type[Exception]]] = [
        (error("invalid_auth"), SlackApiRefused),
        (ratelimited("30"), DeliveryExhausted),
        (server_error(), DeliveryExhausted),
        (error("missing_scope"), SlackApiRefused),
    ]
    with running([reply for reply, _ in cases]) as slack:
        client = app(slack.base_url, max_attempts=1)
        for _, expected in cases:
            with pytest.raises(expected) as raised:
                client.post("C0REVIEWS01", PAYLOAD, deadline=seconds_left(20))
            failures.append(raised.value)
        with pytest.raises(MessageGone) as gone:
            client.update("C0REVIEWS01", "1.000001", PAYLOAD, deadline=NO_DEADLINE)
        failures.append(gone.value)
        representation = repr(client)
    assert any(record.name.startswith("slack_sdk") for record in caplog.records), "slack_sdk's log was read"
    secret = TOKEN.removeprefix("xoxb-")
    for text in [*map(_chain, failures), caplog.text, representation]:
        assert secret not in text


def test_a_token_that_is_not_a_bot_token_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="xoxb-") as wrong:
        SlackApp("xoxp-1111-2222-UserTokenValue")
    assert "UserTokenValue" not in str(wrong.value)


def test_importing_the_handler_does_not_import_slack_sdk() -> None:
    """Cold start: webhook-only deployments must not pay for slack_sdk."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, handler.app, handler.deliver.slack_app; "
            "assert 'slack_sdk' not in sys.modules, sorted(m for m in sys.modules if 'slack' in m); "
            "print('ok')",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert result.stdout.strip() == "ok", result.stderr
