"""Deliver to Mattermost: a loopback server answers as Mattermost's incoming webhook does."""

from __future__ import annotations

import logging

import pytest

from handler.deadline import Deadline
from handler.deliver.webhook import SlackWebhook, Webhook
from handler.errors import ConfigurationError, DeliveryExhausted, DeliveryRefused
from tests.standins.mattermost import (
    CHANNEL_NOT_FOUND,
    DISABLED,
    HOOK_ID,
    RATE_LIMITED,
    SERVER_ERROR,
    app_error,
    running,
)
from tests.standins.slack import Reply

PAYLOAD = {"text": "hello", "attachments": [{"fallback": "f", "text": "t"}]}


class RecordingSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def mattermost(url: str, sleep: RecordingSleep | None = None, max_attempts: int = 5) -> Webhook:
    return Webhook(
        url, sleep=sleep or RecordingSleep(), rng=lambda: 1.0, max_attempts=max_attempts, flavor="mattermost"
    )


def test_webhook_is_the_slack_webhook_class() -> None:
    assert Webhook is SlackWebhook


def test_ok_is_one_post() -> None:
    with running() as server:
        receipt = mattermost(server.url).send(PAYLOAD, deadline=Deadline(None))
    assert receipt.attempts == 1
    assert server.delivered == [PAYLOAD]


def test_blocks_beside_text_are_dropped_by_the_server() -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    with running() as server:
        mattermost(server.url).send({"text": "hello", "blocks": blocks}, deadline=Deadline(None))
    assert server.delivered == [{"text": "hello"}]


def test_blocks_only_payload_is_refused_once_as_a_bug() -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    with running() as server:
        with pytest.raises(DeliveryRefused, match=r"text.app_error.*report it as a bug") as refused:
            mattermost(server.url).send({"blocks": blocks}, deadline=Deadline(None))
    assert (server.requests, refused.value.status) == (1, 400)
    assert server.delivered == []


def test_webhooks_disabled_is_permanent_and_says_who_can_fix_it() -> None:
    with running(default=DISABLED) as server:
        with pytest.raises(DeliveryRefused) as refused:
            mattermost(server.url).send(PAYLOAD, deadline=Deadline(None))
    assert server.requests == 1
    assert refused.value.status == 501
    message = str(refused.value)
    assert message.startswith("Mattermost refused the message for good")
    assert "incoming webhooks are disabled on this Mattermost server: a system admin enables them" in message
    assert "Integrations" in message


def test_the_same_501_from_a_slack_flavoured_webhook_stays_transient() -> None:
    """The flavour decides: Slack never answers this body, so its 501 is an ordinary 5xx."""
    with running(default=DISABLED) as server:
        with pytest.raises(DeliveryExhausted, match=r"^Slack did not take the message after 2 attempt"):
            SlackWebhook(server.url, sleep=RecordingSleep(), rng=lambda: 1.0, max_attempts=2).send(
                PAYLOAD, deadline=Deadline(None)
            )
    assert server.requests == 2


@pytest.mark.parametrize(
    "failure",
    [SERVER_ERROR, Reply(502, "Bad Gateway"), Reply(503, ""), app_error(501, "some.other.app_error", "x")],
    ids=["500", "502", "503", "501-other"],
)
def test_other_5xx_are_retried_then_deliver_once(failure: Reply) -> None:
    sleep = RecordingSleep()
    with running([failure, failure]) as server:
        receipt = mattermost(server.url, sleep).send(PAYLOAD, deadline=Deadline(None))
    assert receipt.attempts == 3
    assert sleep.waits == [1.0, 2.0]
    assert server.delivered == [PAYLOAD]


def test_persistent_500_exhausts_naming_mattermost() -> None:
    with running(default=SERVER_ERROR) as server:
        with pytest.raises(DeliveryExhausted, match=r"^Mattermost did not take the message after 3 attempt"):
            mattermost(server.url, max_attempts=3).send(PAYLOAD, deadline=Deadline(None))
    assert server.requests == 3
    assert server.delivered == []


def test_429_waits_for_retry_after_then_posts_once() -> None:
    sleep = RecordingSleep()
    with running([RATE_LIMITED]) as server:
        receipt = mattermost(server.url, sleep).send(PAYLOAD, deadline=Deadline(None))
    assert (receipt.attempts, receipt.rate_limited) == (2, 1)
    assert sleep.waits == [1.25]  # Retry-After 1, plus the jitter ceiling for a first 429
    assert server.delivered == [PAYLOAD]


@pytest.mark.parametrize(
    "refusal",
    [
        CHANNEL_NOT_FOUND,
        app_error(404, "web.incoming_webhook.channel.app_error", "Couldn't find the channel."),
        app_error(403, "web.incoming_webhook.channel_locked.app_error", "This webhook is not permitted."),
        app_error(403, "web.incoming_webhook.permissions.app_error", "Inappropriate channel permissions."),
    ],
    ids=["400-channel", "404-channel", "403-locked", "403-permissions"],
)
def test_channel_problems_are_permanent_and_point_at_the_webhook_settings(refusal: Reply) -> None:
    with running(default=refusal) as server:
        with pytest.raises(DeliveryRefused, match=r"channel is gone or locked.*Incoming Webhooks") as refused:
            mattermost(server.url).send(PAYLOAD, deadline=Deadline(None))
    assert server.requests == 1
    assert refused.value.status == refusal.status


@pytest.mark.parametrize("refusal", [Reply(404, "404 page not found"), Reply(403, "")], ids=["404", "403"])
def test_gone_hook_is_permanent(refusal: Reply) -> None:
    with running(default=refusal) as server:
        with pytest.raises(DeliveryRefused, match="webhook does not exist"):
            mattermost(server.url).send(PAYLOAD, deadline=Deadline(None))
    assert server.requests == 1


def test_unknown_hook_id_is_refused_without_repeating_the_url(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with running() as server:
        url = server.url.replace(HOOK_ID, "x" * 26)
        with pytest.raises(DeliveryRefused, match=r"invalid.app_error.*webhook does not exist") as refused:
            mattermost(url).send(PAYLOAD, deadline=Deadline(None))
    assert server.requests == 1
    assert "x" * 26 not in str(refused.value)
    assert "x" * 26 not in caplog.text


def test_unparsable_body_is_refused_as_a_bug() -> None:
    """What the stand-in answers a body that is not JSON (the client itself never sends one)."""
    import requests

    with running() as server:
        response = requests.post(server.url, data=b"payload=nope", timeout=10)
    assert response.status_code == 400
    assert response.json()["id"] == "web.incoming_webhook.parse.app_error"
    assert response.json()["message"] == "Unable to parse incoming data."


def test_unknown_flavor_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown webhook flavor 'teams'"):
        Webhook("https://hooks.example.com/x", flavor="teams")  # type: ignore[arg-type]
