"""The GitLab front door: nothing but a 401 for an unverified request; a verified one handed over once.

The edges are recording stand-ins: the secret reader counts its reads, the invoke records what it
was handed. An unverified request must leave the invoke list empty (no invoke, hence no state write
and no post: those happen only in the notifier, after the hand-over).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from handler.gitlab import MAX_BODY_BYTES, FrontDoor, handle
from handler.inbound.verify import sign
from tests.conftest import FIXTURES

TOKEN = "s3cret-gitlab-token"
KEY = bytes(range(32))
SIGNING_KEY = "whsec_" + base64.b64encode(KEY).decode()
NOW = 1_765_000_000
BODY = (FIXTURES / "gitlab" / "gitlabdoc_push.json").read_text()


class Recorder:
    def __init__(self, secret: dict[str, str]) -> None:
        self.secret = json.dumps(secret)
        self.invoked: list[dict[str, Any]] = []
        self.door = FrontDoor(read_secret=lambda: self.secret, invoke=self.invoked.append, clock=lambda: NOW)


def request(body: str = BODY, **headers: str) -> dict[str, Any]:
    base = {
        "content-type": "application/json",
        "x-gitlab-event": "Push Hook",
        "x-gitlab-token": TOKEN,
        "idempotency-key": "4f1c7c1e-0d3a-4d0b-9f5e-2f6a0d3b9c11",
        "x-gitlab-webhook-uuid": "0b6b1d1e-1111-2222-3333-444455556666",
    }
    base.update({name.replace("_", "-"): value for name, value in headers.items()})
    return {
        "headers": base,
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {"http": {"method": "POST"}},
    }


def signed(
    body: str = BODY, *, webhook_id: str = "msg_1", timestamp: int = NOW, **headers: str
) -> dict[str, Any]:
    signature = sign(KEY, webhook_id, str(timestamp), body.encode())
    return request(
        body, webhook_id=webhook_id, webhook_timestamp=str(timestamp), webhook_signature=signature, **headers
    )


def test_a_verified_push_is_answered_202_and_handed_over_in_the_envelope() -> None:
    recorder = Recorder({"gitlab-token": TOKEN})
    answer = handle(request(), recorder.door)
    assert answer["statusCode"] == 202
    [envelope] = recorder.invoked
    assert envelope == {
        "source": "gitlab",
        "event": "Push Hook",
        "delivery": "4f1c7c1e-0d3a-4d0b-9f5e-2f6a0d3b9c11",
        "payload": json.loads(BODY),
    }


def test_without_an_idempotency_key_the_webhook_uuid_is_the_delivery() -> None:
    recorder = Recorder({"gitlab-token": TOKEN})
    event = request()
    del event["headers"]["idempotency-key"]
    handle(event, recorder.door)
    assert recorder.invoked[0]["delivery"] == "0b6b1d1e-1111-2222-3333-444455556666"


def test_a_wrong_or_missing_token_is_401_and_nothing_is_handed_over() -> None:
    recorder = Recorder({"gitlab-token": TOKEN})
    wrong = handle(request(x_gitlab_token="guess"), recorder.door)
    event = request()
    del event["headers"]["x-gitlab-token"]
    missing = handle(event, recorder.door)
    assert (wrong["statusCode"], missing["statusCode"]) == (401, 401)
    assert recorder.invoked == []


def test_no_token_in_the_secret_refuses_everything() -> None:
    recorder = Recorder({})
    assert handle(request(x_gitlab_token=""), recorder.door)["statusCode"] == 401
    assert recorder.invoked == []


def test_with_a_signing_key_a_valid_signature_passes_and_a_token_alone_does_not() -> None:
    recorder = Recorder({"gitlab-token": TOKEN, "gitlab-signing-key": SIGNING_KEY})
    assert handle(request(), recorder.door)["statusCode"] == 401
    assert recorder.invoked == []
    assert handle(signed(), recorder.door)["statusCode"] == 202
    assert len(recorder.invoked) == 1


def test_a_signature_outside_the_time_tolerance_is_refused() -> None:
    recorder = Recorder({"gitlab-token": TOKEN, "gitlab-signing-key": SIGNING_KEY})
    assert handle(signed(timestamp=NOW - 301), recorder.door)["statusCode"] == 401
    assert handle(signed(timestamp=NOW + 301), recorder.door)["statusCode"] == 401
    assert recorder.invoked == []


def test_a_second_signature_in_the_list_may_be_the_valid_one() -> None:
    recorder = Recorder({"gitlab-token": TOKEN, "gitlab-signing-key": SIGNING_KEY})
    event = signed()
    event["headers"]["webhook-signature"] = "v1,bm90IGl0 " + event["headers"]["webhook-signature"]
    assert handle(event, recorder.door)["statusCode"] == 202


def test_a_base64_body_is_verified_as_its_decoded_bytes() -> None:
    recorder = Recorder({"gitlab-token": TOKEN, "gitlab-signing-key": SIGNING_KEY})
    event = signed()
    event["body"], event["isBase64Encoded"] = base64.b64encode(BODY.encode()).decode(), True
    assert handle(event, recorder.door)["statusCode"] == 202


def test_too_large_wrong_type_and_unknown_events_are_answered_without_a_hand_over() -> None:
    recorder = Recorder({"gitlab-token": TOKEN})
    big = handle(request(body="{" + " " * MAX_BODY_BYTES + "}"), recorder.door)
    form = handle(request(content_type="application/x-www-form-urlencoded"), recorder.door)
    issue = handle(request(x_gitlab_event="Issue Hook"), recorder.door)
    assert (big["statusCode"], form["statusCode"], issue["statusCode"]) == (413, 415, 202)
    assert recorder.invoked == []


def test_the_secret_is_read_once_per_cache_period() -> None:
    reads = []
    door = FrontDoor(
        read_secret=lambda: reads.append(1) or json.dumps({"gitlab-token": TOKEN}),  # type: ignore[func-returns-value]
        invoke=lambda envelope: None,
        clock=lambda: NOW,
    )
    for _ in range(3):
        handle(request(), door)
    assert len(reads) == 1


HEADER_NAMES = st.sampled_from(["x-gitlab-token", "webhook-id", "webhook-timestamp", "webhook-signature"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=HEADER_NAMES,
    value=st.text(max_size=80),
    body_edit=st.one_of(st.none(), st.text(min_size=1, max_size=5)),
)
@example(name="webhook-timestamp", value="²", body_edit=None)  # a Unicode digit int() refuses (found by it)
def test_any_tampered_header_or_body_is_401_and_hands_nothing_over(
    name: str, value: str, body_edit: str | None
) -> None:
    recorder = Recorder({"gitlab-token": TOKEN, "gitlab-signing-key": SIGNING_KEY})
    event = signed()
    original = event["headers"][name]
    if body_edit is not None:
        event["body"] = BODY + body_edit  # the body changed after signing
    elif value != original:
        event["headers"][name] = value
    else:
        event["headers"][name] = original + "x"
    assert handle(event, recorder.door)["statusCode"] == 401
    assert recorder.invoked == []


def test_an_envelope_lambda_refuses_as_too_large_is_413_not_a_retry_storm() -> None:
    from handler.gitlab import PayloadTooLarge

    def refuse(envelope: dict[str, Any]) -> None:
        raise PayloadTooLarge

    door = FrontDoor(
        read_secret=lambda: json.dumps({"gitlab-token": TOKEN}), invoke=refuse, clock=lambda: NOW
    )
    assert handle(request(), door)["statusCode"] == 413


def test_the_lambda_entry_answers_500_when_the_hand_over_fails_so_gitlab_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import handler.gitlab

    def fail(envelope: dict[str, Any]) -> None:
        raise ConnectionError("Lambda unreachable")

    door = FrontDoor(read_secret=lambda: json.dumps({"gitlab-token": TOKEN}), invoke=fail, clock=lambda: NOW)
    monkeypatch.setattr(handler.gitlab, "_door", door)
    assert handler.gitlab.lambda_handler(request(), None)["statusCode"] == 500
    assert handler.gitlab.lambda_handler(request(x_gitlab_token="guess"), None)["statusCode"] == 401
