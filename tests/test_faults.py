"""Fault suite: every fault, end to end through ``lambda_handler``, held to the outcome contract.

The contract (DESIGN.md): a notification is either delivered exactly once, or the invocation
raises with nothing posted, so Lambda's retries and the dead-letter queue keep the event. It is
never silently dropped, and a reference is never posted twice. Each case injects a fault, invokes,
checks the contract, then plays Lambda's async retry once the fault has cleared and checks that
the push was delivered exactly once in all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import boto3
import pytest
from moto import mock_aws

import handler.app
from handler.app import lambda_handler
from handler.errors import (
    ConfigurationError,
    DeliveryExhausted,
    DeliveryRefused,
    NotifierError,
    RepositoryReadError,
)
from tests.scenarios import ScenarioRepo, scenario_events
from tests.standins.codecommit import CodeCommitStandIn, Fault
from tests.standins.slack import Reply, SlackStandIn, running


class Context:
    def __init__(self, remaining_ms: int = 60_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class Case:
    """One fault: how to set it up, what the first invocation must do, how it clears."""

    name: str
    slack_script: list[Reply] = field(default_factory=list)
    codecommit_faults: list[Fault] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    secret: str | None = "slack"  # "slack": the stand-in's URL; None: no secret; else the literal value
    remaining_ms: int = 60_000
    expect_raise: type[NotifierError] | None = None
    slack_requests_at_most: int | None = None


CASES = [
    Case(
        "codecommit throttling burst, absorbed by botocore retries",
        codecommit_faults=[Fault(code="ThrottlingException", count=3, operation="GetDifferences")],
    ),
    Case(
        "codecommit throttling beyond the retry budget",
        codecommit_faults=[Fault(code="ThrottlingException", count=50)],
        environment={"CODECOMMIT_MAX_ATTEMPTS": "3"},
        expect_raise=RepositoryReadError,
    ),
    Case("codecommit 5xx burst", codecommit_faults=[Fault(status=500, code="InternalFailure", count=2)]),
    Case(
        "codecommit 5xx that persists",
        codecommit_faults=[Fault(status=503, code="ServiceUnavailable", count=50)],
        environment={"CODECOMMIT_MAX_ATTEMPTS": "2"},
        expect_raise=RepositoryReadError,
    ),
    Case(
        "codecommit timeout, then an answer",
        codecommit_faults=[
            Fault(status=500, code="InternalFailure", delay=1.6, count=1, operation="GetCommit")
        ],
        environment={"CODECOMMIT_TIMEOUT_SECONDS": "1"},
    ),
    Case("slack 429 with Retry-After", slack_script=[Reply(429, "rate_limited", {"Retry-After": "1"})]),
    Case("slack 500 twice", slack_script=[Reply(500, "rollup_error"), Reply(500, "rollup_error")]),
    Case(
        "slack timeout, then ok",
        slack_script=[Reply(504, "", delay=1.6)],
        environment={"SLACK_TIMEOUT_SECONDS": "1"},
    ),
    Case("slack connection reset", slack_script=[Reply(drop=True)]),
    Case(
        "slack 500 that persists",
        slack_script=[Reply(500, "rollup_error")] * 3,
        environment={"DELIVERY_MAX_ATTEMPTS": "3"},
        expect_raise=DeliveryExhausted,
    ),
    Case(
        "slack webhook gone (404 no_service)",
        slack_script=[Reply(404, "no_service")],
        expect_raise=DeliveryRefused,
        slack_requests_at_most=1,
    ),
    Case(
        "slack 429 longer than the time left",
        slack_script=[Reply(429, "rate_limited", {"Retry-After": "30"})],
        remaining_ms=8_000,
        expect_raise=DeliveryExhausted,
    ),
    Case("secret missing", secret=None, expect_raise=ConfigurationError),
    Case("secret empty", secret=" ", expect_raise=ConfigurationError),
    Case(
        "malformed webhook URL in the secret",
        secret="hooks.slack.com/services/T0/B0/X",
        expect_raise=ConfigurationError,
    ),
    Case(
        "lambda time nearly spent",
        remaining_ms=2_500,
        expect_raise=DeliveryExhausted,
        slack_requests_at_most=0,
    ),
]


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch, codecommit_standin: CodeCommitStandIn) -> Iterator[Any]:
    monkeypatch.setattr(handler.app, "_lambda_runtime", None)
    monkeypatch.setenv("AWS_ENDPOINT_URL_CODECOMMIT", codecommit_standin.url)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-2")
    codecommit_standin.faults.clear()


def fresh_container(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new Lambda container: settings and secret are read again, as after a redeploy."""
    monkeypatch.setattr(handler.app, "_lambda_runtime", None)


def invoke(event: Any, remaining_ms: int) -> tuple[str, BaseException | None]:
    try:
        lambda_handler(event, Context(remaining_ms))
    except NotifierError as error:
        return "raised", error
    return "returned", None


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_fault_keeps_the_outcome_contract(
    case: Case,
    lambda_env: Any,
    monkeypatch: pytest.MonkeyPatch,
    scenario_repo: ScenarioRepo,
    codecommit_standin: CodeCommitStandIn,
) -> None:
    event = scenario_events(scenario_repo.commits)["two_refs_one_record"]
    with running(list(case.slack_script)) as slack:
        for name, value in case.environment.items():
            monkeypatch.setenv(name, value)
        secret_arn = _configure_secret(lambda_env, monkeypatch, case.secret, slack)
        injected = [replace(fault) for fault in case.codecommit_faults]  # the cases stay unconsumed
        for fault in injected:
            codecommit_standin.inject(fault)

        outcome, error = invoke(event, case.remaining_ms)

        assert all(fault.count == 0 for fault in injected if fault.count <= 3), "fault not hit"
        if case.expect_raise is None:
            assert outcome == "returned", f"expected delivery, got {error!r}"
            assert len(slack.delivered) == 1, "delivered must mean exactly one post"
            assert not slack.script and slack.requests == len(case.slack_script) + 1, "fault not hit"
        else:
            assert outcome == "raised" and isinstance(error, case.expect_raise), error
            assert slack.delivered == [], "a raise must not leave a post behind"
        if case.slack_requests_at_most is not None:
            assert slack.requests <= case.slack_requests_at_most

        # Lambda retries the event after the fault has cleared (and, for config faults, after the fix).
        codecommit_standin.faults.clear()
        slack.script.clear()
        for name in case.environment:
            monkeypatch.delenv(name)
        if secret_arn is None or case.secret != "slack":
            _fix_secret(lambda_env, monkeypatch, secret_arn, slack)
        fresh_container(monkeypatch)
        if outcome == "raised":
            assert invoke(event, 60_000)[0] == "returned"
        _assert_delivered_once(slack)


def _configure_secret(
    secrets: Any, monkeypatch: pytest.MonkeyPatch, secret: str | None, slack: SlackStandIn
) -> str | None:
    if secret is None:
        monkeypatch.setenv(
            "SLACK_WEBHOOK_SECRET_ARN", "arn:aws:secretsmanager:us-east-2:123456789012:secret:gone-AbCdEf"
        )
        return None
    arn: str = secrets.create_secret(Name="webhook", SecretString="placeholder")["ARN"]
    secrets.put_secret_value(SecretId=arn, SecretString=slack.url if secret == "slack" else secret)
    monkeypatch.setenv("SLACK_WEBHOOK_SECRET_ARN", arn)
    return arn


def _fix_secret(secrets: Any, monkeypatch: pytest.MonkeyPatch, arn: str | None, slack: SlackStandIn) -> None:
    if arn is None:
        arn = secrets.create_secret(Name="webhook-fixed", SecretString=slack.url)["ARN"]
        monkeypatch.setenv("SLACK_WEBHOOK_SECRET_ARN", arn)
    else:
        secrets.put_secret_value(SecretId=arn, SecretString=slack.url)


def _assert_delivered_once(slack: SlackStandIn) -> None:
    assert len(slack.delivered) == 1, f"delivered {len(slack.delivered)} times in all"
    sentences = [attachment["fallback"] for attachment in slack.delivered[0]["attachments"]]
    assert [sentence.split(" in ")[0].rsplit(" ", 1)[-1] for sentence in sentences] == [
        "release/2026.11",
        "feature/login-v2",
    ]


def test_a_failed_invocation_posts_nothing_so_the_retry_posts_once(
    lambda_env: Any, monkeypatch: pytest.MonkeyPatch, scenario_repo: ScenarioRepo
) -> None:
    """A push is one POST: when Slack fails, no part of it was posted, so Lambda's retry can't duplicate.

    (SNS itself may deliver a message twice; removing those duplicates needs the table of seen
    event ids that DESIGN.md plans. The README lists this under known limits.)
    """
    event = scenario_events(scenario_repo.commits)["two_refs_one_record"]
    with running([Reply(500, "")] * 2) as slack:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.url)
        monkeypatch.setenv("DELIVERY_MAX_ATTEMPTS", "2")
        outcomes = [invoke(event, 60_000)[0], invoke(event, 60_000)[0]]
    assert outcomes == ["raised", "returned"]
    assert slack.requests == 3
    [payload] = slack.delivered
    assert len(payload["attachments"]) == 2
