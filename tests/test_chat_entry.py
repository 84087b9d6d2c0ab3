"""handler.chat.lambda_handler: the function-URL request and the asynchronous hand-over, wired to
recording Secrets Manager and Lambda clients."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from handler import chat
from handler.render.actions import APPROVE, ButtonTarget
from tests.chat_requests import SECRET, TEAM, interaction_body, signed

FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:chat"


class Clients:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def __call__(self, runtime: chat.ChatRuntime, service: str) -> Any:
        outer = self

        class Client:
            def __getattr__(self, operation: str) -> Any:
                def call(**arguments: Any) -> Any:
                    outer.calls.append((service, operation, arguments))
                    if operation == "get_secret_value":
                        return {
                            "SecretString": json.dumps({"slack-signing-secret": SECRET, "reviews": "xoxb-1"})
                        }
                    return {"StatusCode": 202}

                return call

        return Client()


class Context:
    invoked_function_arn = FUNCTION_ARN


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> Clients:
    recorder = Clients()
    monkeypatch.setattr(chat.ChatRuntime, "client", lambda runtime, service: recorder(runtime, service))
    monkeypatch.setenv(
        "SLACK_WEBHOOK_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:chat"
    )
    monkeypatch.setenv("SLACK_TEAM_ID", TEAM)
    monkeypatch.setattr(chat, "_runtime", None)
    return recorder


def click(timestamp: int) -> bytes:
    target = ButtonTarget("reviews", "my-repo", "12", "rev-1")
    return interaction_body(
        {
            "type": "block_actions",
            "team": {"id": TEAM},
            "user": {"id": "U0BOB0001"},
            "response_url": "https://hooks.slack.com/actions/T1/1/abc",
            "actions": [{"action_id": APPROVE, "value": target.value()}],
            "container": {"channel_id": "C1", "message_ts": "1.0"},
            "message": {"ts": "1.0"},
        }
    )


def test_a_signed_click_is_handed_to_this_function_asynchronously(clients: Clients) -> None:
    now = int(time.time())
    answer = chat.lambda_handler(signed(click(now), timestamp=now), Context())
    assert answer["statusCode"] == 200
    services = [(service, operation) for service, operation, _ in clients.calls]
    assert services == [("secretsmanager", "get_secret_value"), ("lambda", "invoke")]
    invoke = clients.calls[1][2]
    assert (invoke["FunctionName"], invoke["InvocationType"]) == (FUNCTION_ARN, "Event")
    work = json.loads(invoke["Payload"])["codecommit_chat"]
    assert (work["kind"], work["name"], work["user"]) == ("button", APPROVE, "U0BOB0001")


def test_a_forged_click_reads_the_secret_and_nothing_else(clients: Clients) -> None:
    now = int(time.time())
    answer = chat.lambda_handler(signed(click(now), timestamp=now, secret="forged"), Context())
    assert answer["statusCode"] == 401
    assert [operation for _, operation, _ in clients.calls] == ["get_secret_value"]


def test_a_replayed_click_is_refused(clients: Clients) -> None:
    old = int(time.time()) - 3600
    answer = chat.lambda_handler(signed(click(old), timestamp=old), Context())
    assert answer["statusCode"] == 401
    assert [operation for _, operation, _ in clients.calls] == ["get_secret_value"]


def test_a_work_shaped_body_through_the_url_is_just_an_unsigned_request(clients: Clients) -> None:
    event = {
        "codecommit_chat": {"kind": "button"},
        "requestContext": {"http": {"method": "POST"}},
        "body": "{}",
    }
    assert chat.lambda_handler(event, Context())["statusCode"] == 401
    assert [operation for _, operation, _ in clients.calls] == ["get_secret_value"]


def test_an_event_of_another_shape_is_ignored(clients: Clients) -> None:
    assert chat.lambda_handler({"Records": []}, Context())["statusCode"] == 400
    assert clients.calls == []
