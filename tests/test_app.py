"""The Lambda entry point end to end: real boto3 clients, CodeCommit and Slack stand-ins, moto secrets.

Configuration is exactly what the deployed function gets: environment variables, with
``AWS_ENDPOINT_URL_CODECOMMIT`` pointing boto3 at the CodeCommit stand-in.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

import handler.app
from handler.app import lambda_handler
from handler.errors import ConfigurationError, DeliveryExhausted, DeliveryRefused, RepositoryReadError
from tests.conftest import load_event
from tests.scenarios import ScenarioRepo, scenario_events
from tests.standins.codecommit import CodeCommitStandIn, Fault
from tests.standins.slack import Reply, SlackStandIn, running


class Context:
    """The part of the Lambda context the handler uses."""

    def __init__(self, remaining_ms: int = 60_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch, codecommit_standin: CodeCommitStandIn) -> Iterator[Any]:
    """A fresh container: no cached runtime, CodeCommit at the stand-in, Secrets Manager in moto."""
    monkeypatch.setattr(handler.app, "_lambda_runtime", None)
    monkeypatch.setenv("AWS_ENDPOINT_URL_CODECOMMIT", codecommit_standin.url)
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="us-east-2")
        yield SimpleNamespace(monkeypatch=monkeypatch, secrets=secrets)


def use_secret(env: Any, value: str) -> str:
    arn: str = env.secrets.create_secret(Name="slack-webhook", SecretString=value)["ARN"]
    env.monkeypatch.setenv("SLACK_WEBHOOK_SECRET_ARN", arn)
    return arn


def test_push_is_posted_once_with_the_webhook_from_the_secret(
    lambda_env: Any, scenario_repo: ScenarioRepo, slack_standin: SlackStandIn
) -> None:
    use_secret(lambda_env, slack_standin.url)
    event = scenario_events(scenario_repo.commits)["merge_commit"]
    assert lambda_handler(event, Context()) == {"delivered": 1}
    [payload] = slack_standin.delivered
    assert payload["attachments"][0]["fallback"] == "alice pushed to branch main in scenario-repo"
    assert "Merge branch" in payload["attachments"][0]["text"]


def test_secret_may_hold_json(
    lambda_env: Any, scenario_repo: ScenarioRepo, slack_standin: SlackStandIn
) -> None:
    use_secret(lambda_env, json.dumps({"webhook_url": slack_standin.url}))
    lambda_handler(scenario_events(scenario_repo.commits)["root_commit"], Context())
    assert len(slack_standin.delivered) == 1


@pytest.mark.parametrize(
    "event", [load_event("awslambdago_TriggerEventTest_record.json"), {"Records": []}, "junk"]
)
def test_poison_returns_normally_without_a_post(
    lambda_env: Any, event: Any, slack_standin: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    use_secret(lambda_env, slack_standin.url)
    assert lambda_handler(event, Context()) == {"delivered": 0}
    assert slack_standin.requests == 0
    assert "dropped" in caplog.text


@pytest.mark.parametrize(
    ("secret", "message"),
    [("", "is empty; put the webhook URL in it"), ("not a url", "malformed"), ("{}", "is empty")],
)
def test_unusable_secret_raises_so_the_event_is_kept(
    lambda_env: Any, scenario_repo: ScenarioRepo, secret: str, message: str
) -> None:
    if secret:
        use_secret(lambda_env, secret)
    else:  # Secrets Manager refuses an empty SecretString, so create the secret without a value
        arn = lambda_env.secrets.create_secret(Name="empty-webhook")["ARN"]
        lambda_env.secrets.put_secret_value(SecretId=arn, SecretString=" ")
        lambda_env.monkeypatch.setenv("SLACK_WEBHOOK_SECRET_ARN", arn)
    with pytest.raises(ConfigurationError, match=message):
        lambda_handler(scenario_events(scenario_repo.commits)["root_commit"], Context())


def test_missing_secret_raises(lambda_env: Any, scenario_repo: ScenarioRepo) -> None:
    lambda_env.monkeypatch.setenv(
        "SLACK_WEBHOOK_SECRET_ARN", "arn:aws:secretsmanager:us-east-2:123456789012:secret:gone-AbCdEf"
    )
    with pytest.raises(ConfigurationError, match="does not exist"):
        lambda_handler(scenario_events(scenario_repo.commits)["root_commit"], Context())


def test_no_webhook_configured_raises(lambda_env: Any, scenario_repo: ScenarioRepo) -> None:
    with pytest.raises(ConfigurationError, match="set SLACK_WEBHOOK_SECRET_ARN"):
        lambda_handler(scenario_events(scenario_repo.commits)["root_commit"], Context())


def test_rotated_secret_is_reread_after_a_refusal(lambda_env: Any, scenario_repo: ScenarioRepo) -> None:
    with running(default=Reply(404, "no_service")) as old, running() as new:
        arn = use_secret(lambda_env, old.url)
        event = scenario_events(scenario_repo.commits)["root_commit"]
        with pytest.raises(DeliveryRefused):
            lambda_handler(event, Context())
        lambda_env.secrets.put_secret_value(SecretId=arn, SecretString=new.url)
        assert lambda_handler(event, Context()) == {"delivered": 1}
    assert old.requests == 2  # once per invocation: a gone hook is never retried in a loop
    assert len(new.delivered) == 1


def test_codecommit_failure_raises_and_posts_nothing(
    lambda_env: Any,
    scenario_repo: ScenarioRepo,
    slack_standin: SlackStandIn,
    codecommit_standin: CodeCommitStandIn,
) -> None:
    use_secret(lambda_env, slack_standin.url)
    codecommit_standin.inject(Fault(status=500, code="InternalFailure", count=10, operation="GetCommit"))
    lambda_env.monkeypatch.setenv("CODECOMMIT_MAX_ATTEMPTS", "2")
    with pytest.raises(RepositoryReadError, match="InternalFailure"):
        lambda_handler(scenario_events(scenario_repo.commits)["root_commit"], Context())
    codecommit_standin.faults.clear()
    assert slack_standin.requests == 0


def test_slack_down_raises_after_bounded_attempts(lambda_env: Any, scenario_repo: ScenarioRepo) -> None:
    with running(default=Reply(503, "")) as slack:
        use_secret(lambda_env, slack.url)
        lambda_env.monkeypatch.setenv("DELIVERY_MAX_ATTEMPTS", "2")
        with pytest.raises(DeliveryExhausted):
            lambda_handler(scenario_events(scenario_repo.commits)["root_commit"], Context())
    assert slack.requests == 2


def test_direct_url_in_environment_for_local_runs(
    lambda_env: Any, scenario_repo: ScenarioRepo, slack_standin: SlackStandIn
) -> None:
    lambda_env.monkeypatch.setenv("SLACK_WEBHOOK_URL", slack_standin.url)
    lambda_handler(scenario_events(scenario_repo.commits)["two_refs_one_record"], Context())
    [payload] = slack_standin.delivered
    assert len(payload["attachments"]) == 2
