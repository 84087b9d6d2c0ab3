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

ALICE = "arn:aws:sts::123456789012:assumed-role/Dev/alice"
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

    def client(runtime: chat.ChatRuntime, service: str) -> Any:  # a method: the runtime is passed
        return recorder(runtime, service)

    monkeypatch.setattr(chat.ChatRuntime, "client", client)
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


# -- the hand-over, run by the same entry: the deployed wiring with stand-ins at its edges ----------


def test_handed_on_work_acts_as_the_person_and_answers_through_slack(
    clients: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handler.demos.review_api import ReviewBook, StoredPullRequest, StsStandIn, stand_in_clients
    from handler.preview import capture_slack_api, capture_webhook

    book = ReviewBook()
    book.add(StoredPullRequest("12", "my-repo", "Add retries", ALICE, "a" * 40, "b" * 40, "rev-1"))
    sts = StsStandIn()
    monkeypatch.setattr(
        chat.ChatRuntime, "acting_client", lambda runtime, *args: stand_in_clients(book, sts)(*args)
    )
    with capture_slack_api() as (api_url, calls), capture_webhook() as (response_url, responses):
        monkeypatch.setenv("SLACK_API_URL", api_url)
        monkeypatch.setenv("CHAT_ACTOR_ROLE_ARN", "arn:aws:iam::123456789012:role/CodeCommitChatActor")
        monkeypatch.setenv("WATCHED_REPOSITORIES", "my-repo")
        monkeypatch.setenv("USER_MAP", json.dumps({"bob": "U0BOB0001"}))
        monkeypatch.setenv(
            "DESTINATIONS",
            json.dumps({"reviews": {"type": "slack-app", "channel": "C0REVIEWS1", "interactive": True}}),
        )
        work = {
            "kind": "button",
            "name": APPROVE,
            "value": ButtonTarget("reviews", "my-repo", "12", "rev-1").value(),
            "user": "U0BOB0001",
            "channel": "C0REVIEWS1",
            "message_ts": "1.0",
            "message": {"ts": "1.0", "text": "PR", "attachments": []},
            "response_url": response_url,
        }
        assert chat.lambda_handler({"codecommit_chat": work}, Context()) == {"ok": True}
    assert book.pull_requests["12"].approvals == {
        "arn:aws:sts::123456789012:assumed-role/CodeCommitChatActor/bob": "APPROVE"
    }
    assert [call.method for call in calls] == ["chat.update"]
    assert calls[0].arguments["ts"] == "1.0"
    assert [r["response_type"] for r in responses] == ["ephemeral"]
    assert "Approved" in responses[0]["text"]


def test_the_comment_button_opens_the_modal_through_the_bot(
    clients: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handler.preview import capture_slack_api
    from handler.render.actions import COMMENT

    with capture_slack_api() as (api_url, calls):
        monkeypatch.setenv("SLACK_API_URL", api_url)
        monkeypatch.setenv(
            "DESTINATIONS",
            json.dumps({"reviews": {"type": "slack-app", "channel": "C0REVIEWS1", "interactive": True}}),
        )
        target = ButtonTarget("reviews", "my-repo", "12", "rev-1")
        body = interaction_body(
            {
                "type": "block_actions",
                "team": {"id": TEAM},
                "user": {"id": "U0BOB0001"},
                "trigger_id": "123.456.abc",
                "actions": [{"action_id": COMMENT, "value": target.value()}],
            }
        )
        now = int(time.time())
        assert chat.lambda_handler(signed(body, timestamp=now), Context())["statusCode"] == 200
    [call] = calls
    assert call.method == "views.open"
    assert call.arguments["trigger_id"] == "123.456.abc"
    assert call.arguments["view"]["private_metadata"] == target.value()
    assert [operation for _, operation, _ in clients.calls] == ["get_secret_value"]  # no self-invoke


@pytest.mark.parametrize("url", ["http://slack.example.com/api/", "ftp://127.0.0.1/", "slack.com/api"])
def test_slack_api_url_must_be_https_unless_loopback(url: str) -> None:
    from handler.errors import ConfigurationError
    from handler.settings import Settings

    with pytest.raises(ConfigurationError, match="SLACK_API_URL"):
        Settings.from_environ({"SLACK_API_URL": url})


def test_the_notifier_posts_through_slack_api_url_too() -> None:
    from handler.runtime import aws_runtime
    from handler.settings import Settings

    runtime = aws_runtime(Settings.from_environ({"SLACK_API_URL": "http://127.0.0.1:9/api/"}), environ={})
    assert runtime.slack_api_url == "http://127.0.0.1:9/api/"


def test_a_mismatch_rereads_the_secret_at_most_once_a_minute(
    clients: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rotated signing secret needs no redeploy, and forged requests can't make it a read each."""
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    now = int(time.time())
    forged = signed(click(now), timestamp=now, secret="forged")
    for _ in range(3):
        chat.lambda_handler(forged, Context())
    assert [operation for _, operation, _ in clients.calls] == ["get_secret_value"]
    clock[0] += chat.SECRET_RECHECK_SECONDS + 1
    chat.lambda_handler(forged, Context())  # forgets the secret read over a minute ago
    chat.lambda_handler(forged, Context())  # so this one reads it again
    assert [operation for _, operation, _ in clients.calls] == ["get_secret_value"] * 2
