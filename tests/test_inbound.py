"""The front door's verification: a forged, replayed, stale or foreign request is refused and causes
nothing; a genuine one is acknowledged (handler/inbound/, handler/actions/front_door.py)."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.signature import SignatureVerifier

from handler.actions.front_door import acknowledge
from handler.inbound.request import FunctionUrlRequest
from handler.inbound.slack import MAX_AGE_SECONDS, check_signature, signature
from handler.render.actions import APPROVE, COMMENT, ButtonTarget
from tests.chat_requests import (
    NOW,
    SECRET,
    TEAM,
    Recorder,
    command_body,
    event_body,
    function_url_event,
    interaction_body,
    signed,
)

#: Slack's documented example (api.slack.com/authentication/verifying-requests-from-slack).
SLACK_EXAMPLE_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_EXAMPLE_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
TARGET = ButtonTarget("reviews", "my-repo", "12", "rev1")


def click(action_id: str = APPROVE, *, team: str = TEAM) -> bytes:
    return interaction_body(
        {
            "type": "block_actions",
            "team": {"id": team, "domain": "example"},
            "user": {"id": "U0BOB0001"},
            "trigger_id": "111.222.abc",
            "response_url": "https://hooks.slack.com/actions/T1/1/abc",
            "container": {"type": "message", "channel_id": "C0REVIEWS1", "message_ts": "1700000000.000100"},
            "message": {"ts": "1700000000.000100", "text": "PR", "attachments": []},
            "actions": [{"action_id": action_id, "value": TARGET.value(), "type": "button"}],
        }
    )


def test_slacks_documented_example_verifies() -> None:
    headers = {
        "x-slack-request-timestamp": str(NOW),
        "x-slack-signature": SLACK_EXAMPLE_SIGNATURE,
        "content-type": "application/x-www-form-urlencoded",
    }
    request = FunctionUrlRequest(function_url_event(SLACK_EXAMPLE_BODY, headers))
    assert signature(SECRET, str(NOW), SLACK_EXAMPLE_BODY) == SLACK_EXAMPLE_SIGNATURE
    assert check_signature(request, SECRET, NOW) is None


def test_a_signed_click_is_acknowledged_and_handed_on() -> None:
    recorder = Recorder()
    answer = acknowledge(FunctionUrlRequest(signed(click())), recorder.door())
    assert answer["statusCode"] == 200
    assert [work["kind"] for work in recorder.handed_on] == ["button"]
    assert recorder.handed_on[0]["value"] == TARGET.value()
    assert recorder.handed_on[0]["user"] == "U0BOB0001"


def test_a_base64_body_is_verified_over_its_decoded_bytes() -> None:
    recorder = Recorder()
    answer = acknowledge(FunctionUrlRequest(signed(click(), base64_encoded=True)), recorder.door())
    assert answer["statusCode"] == 200
    assert recorder.handed_on


@pytest.mark.parametrize(
    ("name", "event"),
    [
        (
            "forged signature",
            {
                **signed(click()),
                "headers": {**signed(click())["headers"], "x-slack-signature": "v0=" + "0" * 64},
            },
        ),
        ("wrong secret", signed(click(), secret="not-the-secret")),
        (
            "no signature",
            {
                **signed(click()),
                "headers": {
                    "content-type": "application/x-www-form-urlencoded",
                    "x-slack-request-timestamp": str(NOW),
                },
            },
        ),
        (
            "no timestamp",
            {**signed(click()), "headers": {"x-slack-signature": signature(SECRET, str(NOW), click())}},
        ),
        ("replayed: timestamp too old", signed(click(), timestamp=NOW - MAX_AGE_SECONDS - 1)),
        ("timestamp from the future", signed(click(), timestamp=NOW + MAX_AGE_SECONDS + 1)),
        ("timestamp not a number", signed(click(), extra={"x-slack-request-timestamp": "1e9"})),
        ("body swapped after signing", {**signed(click()), "body": click(COMMENT).decode()}),
        ("base64 flag on a plain body", {**signed(click()), "isBase64Encoded": True}),
    ],
)
def test_a_bad_request_is_401_and_causes_nothing(name: str, event: dict[str, object]) -> None:
    recorder = Recorder()
    answer = acknowledge(FunctionUrlRequest(event), recorder.door())
    assert answer["statusCode"] == 401, name
    assert not recorder.caused_anything, name
    assert answer["body"] == "unauthorized"  # says nothing that helps a forger


def test_the_window_edge_is_inside() -> None:
    recorder = Recorder()
    answer = acknowledge(
        FunctionUrlRequest(signed(click(), timestamp=NOW - MAX_AGE_SECONDS)), recorder.door()
    )
    assert answer["statusCode"] == 200


def test_no_signing_secret_refuses_everything() -> None:
    recorder = Recorder(secret="")
    answer = acknowledge(FunctionUrlRequest(signed(click(), secret="")), recorder.door())
    assert answer["statusCode"] == 401
    assert not recorder.caused_anything


@pytest.mark.parametrize(
    "body",
    [
        click(team="T0FOREIGN1"),
        command_body("approve my-repo 12", team="T0FOREIGN1"),
        event_body(
            {"type": "message", "user": "U1", "ts": "2.0", "thread_ts": "1.0", "text": "hi"},
            team="T0FOREIGN1",
        ),
    ],
    ids=["click", "command", "event"],
)
def test_a_verified_request_from_another_workspace_is_403_and_causes_nothing(body: bytes) -> None:
    recorder = Recorder()
    content_type = "application/json" if body.startswith(b"{") else "application/x-www-form-urlencoded"
    answer = acknowledge(FunctionUrlRequest(signed(body, content_type=content_type)), recorder.door())
    assert answer["statusCode"] == 403
    assert not recorder.caused_anything


def test_url_verification_is_answered_only_when_signed() -> None:
    body = json.dumps(
        {
            "token": "x",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    ).encode()
    recorder = Recorder(team=None)
    answer = acknowledge(FunctionUrlRequest(signed(body, content_type="application/json")), recorder.door())
    assert json.loads(answer["body"]) == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    forged = signed(body, content_type="application/json", secret="forged")
    assert acknowledge(FunctionUrlRequest(forged), recorder.door())["statusCode"] == 401


@pytest.mark.parametrize("text", ["", "help", "HELP me", "frobnicate", "approve", "'; DROP TABLE", "\u202e"])
def test_help_and_unknown_input_get_the_usage_and_nothing_else(text: str) -> None:
    recorder = Recorder()
    answer = acknowledge(FunctionUrlRequest(signed(command_body(text))), recorder.door())
    if text.lower().startswith("approve"):
        assert recorder.handed_on  # a known sub-command: its own usage comes from the action
        return
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["response_type"] == "ephemeral"
    assert "Usage:" in json.loads(answer["body"])["text"]
    assert not recorder.caused_anything


def test_a_known_command_is_handed_on_with_its_words() -> None:
    recorder = Recorder()
    acknowledge(FunctionUrlRequest(signed(command_body("approve my-repo 12"))), recorder.door())
    assert recorder.handed_on == [
        {
            "kind": "command",
            "name": "approve",
            "args": ["my-repo", "12"],
            "user": "U0BOB0001",
            "channel": "C0REVIEWS1",
            "response_url": "https://hooks.slack.com/commands/T1DC2JH3J/1/abc",
            "request": "1.2.3",
        }
    ]


def test_the_comment_button_opens_the_modal_at_once() -> None:
    recorder = Recorder()
    acknowledge(FunctionUrlRequest(signed(click(COMMENT))), recorder.door())
    assert not recorder.handed_on
    ((destination, trigger, view),) = recorder.modals
    assert (destination, trigger) == ("reviews", "111.222.abc")
    assert view["private_metadata"] == TARGET.value()


@pytest.mark.parametrize(
    "event",
    [
        {"type": "message", "user": "U1", "ts": "1.0", "text": "top-level"},
        {"type": "message", "user": "U1", "ts": "1.0", "thread_ts": "1.0", "text": "the parent itself"},
        {"type": "message", "bot_id": "B1", "ts": "2.0", "thread_ts": "1.0", "text": "a bot"},
        {"type": "message", "subtype": "message_changed", "ts": "2.0", "thread_ts": "1.0"},
        {"type": "reaction_added", "user": "U1"},
    ],
    ids=["top-level", "parent", "bot", "edit", "other-event"],
)
def test_only_a_humans_thread_reply_is_handed_on(event: dict[str, str]) -> None:
    recorder = Recorder()
    answer = acknowledge(
        FunctionUrlRequest(signed(event_body(event), content_type="application/json")), recorder.door()
    )
    assert answer["statusCode"] == 200
    assert not recorder.caused_anything


def test_a_thread_reply_is_handed_on_with_its_event_id_even_when_retried() -> None:
    recorder = Recorder()
    body = event_body(
        {"type": "message", "user": "U1", "ts": "2.0", "thread_ts": "1.0", "text": "LGTM", "channel": "C1"}
    )
    event = signed(
        body,
        content_type="application/json",
        extra={"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"},
    )
    acknowledge(FunctionUrlRequest(event), recorder.door())
    (work,) = recorder.handed_on
    assert (work["event_id"], work["retry"], work["text"]) == ("Ev0THREAD01", "1", "LGTM")


# -- the property: every single tamper is refused, and nothing else happens ------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(position=st.integers(min_value=0), byte=st.integers(min_value=0, max_value=255))
def test_any_one_byte_changed_in_the_body_is_refused(position: int, byte: int) -> None:
    body = bytearray(click())
    index = position % len(body)
    if body[index] == byte:
        byte = (byte + 1) % 256
    original = signed(click())
    body[index] = byte
    tampered = {**original, "body": base64.b64encode(bytes(body)).decode(), "isBase64Encoded": True}
    recorder = Recorder()
    answer = acknowledge(FunctionUrlRequest(tampered), recorder.door())
    assert answer["statusCode"] == 401
    assert not recorder.caused_anything


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=st.sampled_from(["x-slack-signature", "x-slack-request-timestamp"]),
    position=st.integers(min_value=0),
    char=st.characters(codec="ascii"),
)
def test_any_one_character_changed_in_a_signed_header_is_refused(
    header: str, position: int, char: str
) -> None:
    event = signed(click())
    value = event["headers"][header]
    index = position % len(value)
    if value[index] == char:
        return
    event["headers"] = {**event["headers"], header: value[:index] + char + value[index + 1 :]}
    recorder = Recorder()
    answer = acknowledge(FunctionUrlRequest(event), recorder.door())
    assert answer["statusCode"] == 401
    assert not recorder.caused_anything


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.text(max_size=300),
    timestamp=st.integers(min_value=NOW - 400, max_value=NOW + 400),
    secret=st.sampled_from([SECRET, "other"]),
)
def test_the_check_agrees_with_slack_sdks_verifier(text: str, timestamp: int, secret: str) -> None:
    body = text.encode("utf-8", "surrogatepass")
    event = signed(body, timestamp=timestamp, secret=secret, base64_encoded=True)
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        return  # slack_sdk cannot decode a lone surrogate; ours refuses it below anyway
    ours = check_signature(FunctionUrlRequest(event), SECRET, NOW) is None
    theirs = SignatureVerifier(
        SECRET, clock=type("C", (), {"now": staticmethod(lambda: float(NOW))})()
    ).is_valid(body, str(timestamp), event["headers"]["x-slack-signature"])
    assert ours == theirs


def test_a_thread_reply_also_sent_to_the_channel_is_handed_on() -> None:
    recorder = Recorder()
    event = {"type": "message", "subtype": "thread_broadcast", "user": "U1", "ts": "2.0", "thread_ts": "1.0"}
    acknowledge(
        FunctionUrlRequest(signed(event_body(event), content_type="application/json")), recorder.door()
    )
    assert [work["kind"] for work in recorder.handed_on] == ["thread_reply"]


def test_a_modal_that_cannot_open_is_logged_and_the_click_still_acknowledged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from dataclasses import replace

    from handler.errors import SlackApiRefused

    def refuse(*_: object) -> None:
        raise SlackApiRefused(
            "Slack refused views.open for good (expired_trigger_id)", error="expired_trigger_id"
        )

    recorder = Recorder()
    door = replace(recorder.door(), open_modal=refuse)
    answer = acknowledge(FunctionUrlRequest(signed(click(COMMENT))), door)
    assert answer["statusCode"] == 200
    assert "could not open the comment modal" in caplog.text


def test_url_verification_is_answered_when_a_workspace_is_configured() -> None:
    """Slack's url_verification body names no team (api.slack.com/events/url_verification): with
    SLACK_TEAM_ID set, as the stack always sets it, the Request URL must still verify."""
    body = json.dumps({"token": "x", "challenge": "c-123", "type": "url_verification"}).encode()
    recorder = Recorder()  # SLACK_TEAM_ID set
    answer = acknowledge(FunctionUrlRequest(signed(body, content_type="application/json")), recorder.door())
    assert answer["statusCode"] == 200 and json.loads(answer["body"]) == {"challenge": "c-123"}
    assert not recorder.caused_anything
    forged = signed(body, content_type="application/json", secret="forged")
    assert acknowledge(FunctionUrlRequest(forged), recorder.door())["statusCode"] == 401


def test_a_signed_event_callback_of_no_team_is_still_refused() -> None:
    """Only url_verification is answered without a team: an event naming none is 403."""
    body = json.dumps({"type": "event_callback", "event": {"type": "message"}}).encode()
    recorder = Recorder()
    answer = acknowledge(FunctionUrlRequest(signed(body, content_type="application/json")), recorder.door())
    assert answer["statusCode"] == 403 and not recorder.caused_anything


@pytest.mark.parametrize("timestamp", ["9" * 5000, "1" * 4301, "0" * 13 + "1"])
def test_an_absurdly_long_timestamp_is_refused_not_raised(timestamp: str) -> None:
    """int() of over 4300 digits raises ValueError: the check must refuse, not crash the entry."""
    event = function_url_event(
        b"text=help",
        {
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": timestamp,
            "x-slack-signature": signature(SECRET, timestamp, b"text=help"),
        },
    )
    refusal = check_signature(FunctionUrlRequest(event), SECRET, NOW)
    assert refusal is not None and refusal.status == 401


def test_commands_and_clicks_hand_on_their_trigger_id_as_the_request() -> None:
    """The work's replay key: Slack gives every command and click its own trigger_id."""
    recorder = Recorder()
    acknowledge(FunctionUrlRequest(signed(command_body("deploy web"))), recorder.door())
    acknowledge(FunctionUrlRequest(signed(click())), recorder.door())
    assert [work["request"] for work in recorder.handed_on] == ["1.2.3", "111.222.abc"]
