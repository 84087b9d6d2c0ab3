"""Deliver: a real HTTP server on 127.0.0.1 plays Slack; every outcome in DESIGN.md is checked."""

from __future__ import annotations

import logging
import time

import pytest

from handler.deliver import Deadline, SlackWebhook, redact, validate_webhook_url
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
    with running([Reply(504, "", delay=2.0)]) as slack:
        receipt = webhook(slack.url, timeout_seconds=1).send(PAYLOAD, deadline=Deadline(None))
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


def counting_down(seconds: float) -> Deadline:
    """A deadline that runs out on the wall clock, like a Lambda context's."""
    end = time.monotonic() + seconds
    return Deadline(lambda: int((end - time.monotonic()) * 1000))


def test_request_timeout_is_capped_by_the_time_left() -> None:
    with running([Reply(504, "", delay=3.0)]) as slack:
        started = time.monotonic()
        with pytest.raises(DeliveryExhausted, match="ReadTimeout"):
            webhook(slack.url, timeout_seconds=30).send(PAYLOAD, deadline=counting_down(4.0))
    assert time.monotonic() - started < 3.0
    assert slack.delivered == []


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
