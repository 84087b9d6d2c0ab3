"""Deliver: a real HTTP server on 127.0.0.1 plays Slack; every delivery outcome in the README is checked."""

from __future__ import annotations

import logging
from email.utils import formatdate
from typing import Any

import pytest
import requests

from handler.deadline import Deadline
from handler.deliver.webhook import (
    SlackWebhook,
    attempt_timeouts,
    is_loopback_host,
    parse_retry_after,
    redact,
    validate_webhook_url,
)
from handler.errors import ConfigurationError, DeliveryExhausted, DeliveryRefused
from tests.standins.slack import Reply, running

PAYLOAD = {"text": "hello", "attachments": []}


class RecordingSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def webhook(url: str, sleep: RecordingSleep | None = None, **kwargs: float) -> SlackWebhook:
    return SlackWebhook(url, sleep=sleep or RecordingSleep(), rng=lambda: 1.0, **kwargs)  # type: ignore[arg-type]


def test_ok_is_one_attempt() -> None:
    with running() as slack:
        receipt = webhook(slack.url).send(PAYLOAD, deadline=Deadline(None))
    assert receipt.attempts == 1
    assert slack.delivered == [PAYLOAD]


def test_429_waits_for_retry_after_then_delivers_once() -> None:
    sleep = RecordingSleep()
    with running([Reply(429, "rate_limited", {"Retry-After": "3"})]) as slack:
        receipt = webhook(slack.url, sleep).send(PAYLOAD, deadline=Deadline(None))
    assert receipt.attempts == 2
    assert sleep.waits == [3.25]  # Retry-After, plus jitter (rng pinned to its ceiling: 0.125 * 2**1)
    assert slack.delivered == [PAYLOAD]


def test_429s_do_not_use_up_attempts() -> None:
    rate_limited = [Reply(429, "rate_limited", {"Retry-After": "1"})] * 4
    with running(rate_limited) as slack:
        receipt = webhook(slack.url, max_attempts=2).send(PAYLOAD, deadline=Deadline(None))
    assert (receipt.attempts, receipt.rate_limited) == (5, 4)
    assert slack.delivered == [PAYLOAD]


def test_500s_back_off_exponentially_then_deliver_once() -> None:
    sleep = RecordingSleep()
    with running([Reply(500, "rollup_error"), Reply(503, ""), Reply(502, "")]) as slack:
        receipt = webhook(slack.url, sleep).send(PAYLOAD, deadline=Deadline(None))
    assert receipt.attempts == 4
    assert sleep.waits == [1.0, 2.0, 4.0]  # rng pinned to 1.0: the full-jitter ceiling
    assert len(slack.delivered) == 1


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (404, "no_service"),
        (410, "channel_is_archived"),
        (403, "action_prohibited"),
        (404, "channel_not_found"),
    ],
)
def test_gone_webhook_is_not_hammered(status: int, body: str) -> None:
    with running(default=Reply(status, body)) as slack:
        with pytest.raises(DeliveryRefused, match="redrive the dead-letter queue") as refused:
            webhook(slack.url).send(PAYLOAD, deadline=Deadline(None))
    assert slack.requests == 1
    assert refused.value.status == status


def test_invalid_payload_is_not_retried() -> None:
    with running(default=Reply(400, "invalid_payload")) as slack:
        with pytest.raises(DeliveryRefused, match="invalid_payload"):
            webhook(slack.url).send(PAYLOAD, deadline=Deadline(None))
    assert slack.requests == 1


def test_persistent_500_exhausts_the_attempts_and_raises() -> None:
    with running(default=Reply(500, "rollup_error")) as slack:
        with pytest.raises(DeliveryExhausted, match="after 3 attempt"):
            webhook(slack.url, max_attempts=3).send(PAYLOAD, deadline=Deadline(None))
    assert slack.requests == 3
    assert slack.delivered == []


def test_slow_but_within_timeout_is_one_post() -> None:
    with running([Reply(delay=0.5)]) as slack:
        receipt = webhook(slack.url, timeout_seconds=5).send(PAYLOAD, deadline=Deadline(None))
    assert receipt.attempts == 1
    assert len(slack.delivered) == 1


def test_timeout_is_retried_and_delivers_once() -> None:
    # held far past the timeout, and a timeout far above a loopback answer's time: a busy machine
    # can neither answer the first attempt in time nor miss the second
    with running([Reply(504, "", delay=8.0)]) as slack:
        receipt = webhook(slack.url, timeout_seconds=2).send(PAYLOAD, deadline=Deadline(None))
    assert receipt.attempts == 2
    assert len(slack.delivered) == 1


def test_connection_reset_is_retried() -> None:
    with running([Reply(drop=True)]) as slack:
        receipt = webhook(slack.url).send(PAYLOAD, deadline=Deadline(None))
    assert receipt.attempts == 2
    assert len(slack.delivered) == 1


def test_retry_after_longer_than_the_time_left_raises_without_waiting() -> None:
    sleep = RecordingSleep()
    with running(default=Reply(429, "rate_limited", {"Retry-After": "30"})) as slack:
        with pytest.raises(DeliveryExhausted, match="rate_limited"):
            webhook(slack.url, sleep).send(PAYLOAD, deadline=Deadline(lambda: 12_000))
    assert sleep.waits == []
    assert slack.requests == 1


def test_no_time_left_means_no_attempt_and_a_raise() -> None:
    with running() as slack, pytest.raises(DeliveryExhausted, match="after 0 attempt"):
        webhook(slack.url).send(PAYLOAD, deadline=Deadline(lambda: 2_500))
    assert slack.requests == 0


class RecordedTimeouts:
    """Wraps ``requests.Session.post`` to record the ``timeout`` each attempt was given."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.timeouts: list[tuple[float, float]] = []
        original = requests.Session.post

        def post(session: requests.Session, url: str, **kwargs: Any) -> requests.Response:
            self.timeouts.append(kwargs["timeout"])
            return original(session, url, **kwargs)

        monkeypatch.setattr(requests.Session, "post", post)


@pytest.mark.parametrize("left_ms", [3_100, 4_000, 5_500, 60_000])
def test_request_timeout_is_capped_by_the_time_left(monkeypatch: pytest.MonkeyPatch, left_ms: int) -> None:
    recorded = RecordedTimeouts(monkeypatch)
    with running() as slack:
        webhook(slack.url, timeout_seconds=30).send(PAYLOAD, deadline=Deadline(lambda: left_ms))
    (connect, read), seconds_left = recorded.timeouts[0], left_ms / 1000 - 2.0
    assert connect + read <= seconds_left  # both parts, not only the read timeout
    assert 0 < connect <= 3.05 and 0 < read <= 30


def test_attempt_timeouts_never_exceed_the_time_left() -> None:
    for left in (0.0, 0.5, 1.0, 2.0, 6.1, 100.0):
        connect, read = attempt_timeouts(10.0, left)
        assert connect + read <= left + 1e-9
    assert attempt_timeouts(10.0, 100.0) == (3.05, 10.0)
    assert attempt_timeouts(10.0, -5.0) == (0.0, 0.0)


@pytest.mark.parametrize("status", [201, 202, 204])
def test_any_2xx_is_delivered_once(status: int) -> None:
    with running(default=Reply(status, "")) as slack:
        receipt = webhook(slack.url).send(PAYLOAD, deadline=Deadline(None))
    assert receipt.attempts == 1
    assert slack.requests == 1


@pytest.mark.parametrize("body", ["ok", "OK", " ok\n", ""])
def test_slack_and_mattermost_answers_are_delivered(body: str) -> None:
    with running(default=Reply(200, body)) as slack:
        assert webhook(slack.url).send(PAYLOAD, deadline=Deadline(None)).attempts == 1


@pytest.mark.parametrize(
    "body", ["<html><body>Please log in to the proxy</body></html>", '{"ok": false}', "queued"]
)
def test_a_2xx_with_a_foreign_body_is_refused_loudly(caplog: pytest.LogCaptureFixture, body: str) -> None:
    with running(default=Reply(200, body)) as slack:
        with pytest.raises(DeliveryRefused, match="most likely not posted") as refused:
            webhook(slack.url).send(PAYLOAD, deadline=Deadline(None))
    assert slack.requests == 1  # the same proxy would answer the same way: not hammered
    assert refused.value.status == 200
    assert any(record.levelno == logging.ERROR for record in caplog.records)


NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", 3.0),
        ("1.5", 1.5),
        ("-7", 0.0),
        ("0", 0.0),
        ("99999999999", 60.0),
        ("1e400", None),
        ("nan", None),
        ("NaN", None),
        ("inf", None),
        ("-inf", None),
        ("soon", None),
        ("", None),
        (formatdate(NOW + 12, usegmt=True), 12.0),
        (formatdate(NOW - 3600, usegmt=True), 0.0),
        (formatdate(NOW + 86_400 * 365, usegmt=True), 60.0),
        ("Sun, 99 Nov 1994 08:49:37 GMT", None),
        ("Sun, 06 Nov 1994 08:49:37", None),
    ],
)
def test_retry_after_forms(header: str, expected: float | None) -> None:
    assert parse_retry_after(header, NOW) == expected


@pytest.mark.parametrize("header", ["nan", "-inf", "inf", "Wed, 21 Oct 2015 07:28:00 GMT", "1e999", "-3"])
def test_odd_retry_after_never_crashes_delivery(header: str) -> None:
    sleep = RecordingSleep()
    with running([Reply(429, "rate_limited", {"Retry-After": header})]) as slack:
        receipt = webhook(slack.url, sleep).send(PAYLOAD, deadline=Deadline(None))
    assert receipt.attempts == 2
    assert all(0.0 <= wait <= 60.5 for wait in sleep.waits)
    assert len(slack.delivered) == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://127.evil.com/services/T9/B9/SECRET4",
        "http://127.0.0.1.nip.io/services/T9/B9/SECRET5",
        "http://localhost.evil.com/services/T9/B9/SECRET6",
        "http://[::2]/services/T9/B9/SECRET7",
        "http://10.0.0.1/services/T9/B9/SECRET8",
    ],
)
def test_plain_http_is_refused_unless_the_address_is_loopback(url: str) -> None:
    with pytest.raises(ConfigurationError, match="must use https"):
        validate_webhook_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/services/T/B/X",
        "http://127.1.2.3/services/T/B/X",
        "http://localhost/services/T/B/X",
        "http://[::1]:9/services/T/B/X",
        "http://[::ffff:127.0.0.1]/services/T/B/X",
    ],
)
def test_plain_http_on_loopback_is_allowed(url: str) -> None:
    assert validate_webhook_url(url) == url


def test_loopback_is_decided_by_address() -> None:
    assert is_loopback_host("127.0.0.1") and is_loopback_host("::1") and is_loopback_host("localhost")
    assert not is_loopback_host("127.evil.com") and not is_loopback_host("1270.0.0.1")


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        "ftp://hooks.slack.com/services/T9/B9/SECRET1",
        "https://",
        "https://hooks.slack.com",
        "http://hooks.slack.com/services/T9/B9/SECRET2",
        "https://hooks.slack.com:99999/services/T9/B9/SECRET3",
    ],
)
def test_malformed_webhook_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        validate_webhook_url(url)
    if "/services/" in url:
        assert url.split("/services/")[1] not in str(error.value)


def test_the_url_never_appears_in_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with running(default=Reply(500, "echo /services/T000/B000/SECRETPATH")) as slack:
        with pytest.raises(DeliveryExhausted) as error:
            webhook(slack.url, max_attempts=2).send(PAYLOAD, deadline=Deadline(None))
    assert "SECRETPATH" not in str(error.value)
    assert "SECRETPATH" not in caplog.text
    assert "slack attempt 2 got HTTP 500" in caplog.text  # the failures themselves are logged


def test_redact_hides_the_path() -> None:
    url = "https://hooks.slack.com/services/T1/B2/C3"
    assert "T1/B2/C3" not in redact(f"error for {url} and services/T1/B2/C3", url)
