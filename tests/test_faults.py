"""Fault suite: every fault, end to end through ``lambda_handler``, held to the outcome contract.

The contract (README, Reliability): a notification is either delivered exactly once, or the invocation
raises with nothing posted, so Lambda's retries and the dead-letter queue keep the event. It is
never silently dropped, and a reference is never posted twice. Each case injects a fault, invokes,
checks the contract, then plays Lambda's async retry once the fault has cleared and checks that
the push was delivered exactly once in all.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

import handler.app
from handler.app import lambda_handler
from handler.deadline import Deadline
from handler.demo import ScriptedGitRepo
from handler.enrich.push import enrich
from handler.enrich.reader import CodeCommitReader, botocore_config
from handler.errors import (
    ConfigurationError,
    DeliveryExhausted,
    DeliveryRefused,
    DiffTruncated,
    NotifierError,
    ReadDeadlineReached,
    RepositoryReadError,
)
from handler.model import Push, RefAction, RefChange, RefKind, Repository, parse_pusher
from tests.conftest import codecommit_client
from tests.scenarios import ScenarioRepo, scenario_events
from tests.standins.codecommit import CodeCommitStandIn, Fault
from tests.standins.codecommit import running as codecommit_running
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
            # held far past the timeout, and a timeout far above a loopback answer's time, so a busy
            # machine can neither answer the first attempt in time nor miss the second
            Fault(status=500, code="InternalFailure", delay=8.0, count=1, operation="GetCommit")
        ],
        environment={"CODECOMMIT_TIMEOUT_SECONDS": "2"},
    ),
    Case("slack 429 with Retry-After", slack_script=[Reply(429, "rate_limited", {"Retry-After": "1"})]),
    Case("slack 500 twice", slack_script=[Reply(500, "rollup_error"), Reply(500, "rollup_error")]),
    Case(
        "slack timeout, then ok",
        slack_script=[Reply(504, "", delay=8.0)],  # see "codecommit timeout" for the margins
        environment={"SLACK_TIMEOUT_SECONDS": "2"},
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
        remaining_ms=20_000,
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
        expect_raise=ReadDeadlineReached,
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

    (SNS redeliveries of a posted message are recognised by their delivery marks: see
    tests/test_whole_push.py.)
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


# --- CodeCommit reads are bounded by the invocation's deadline ------------------------------------


class SteppedDeadline(Deadline):
    """A deadline whose time left is scripted per check (no wall clock): ``lefts`` then ``rest``."""

    def __init__(self, lefts: list[float], rest: float) -> None:
        super().__init__(None)
        self.lefts, self.rest, self.checks = list(lefts), rest, 0

    def seconds_left(self) -> float:
        self.checks += 1
        return self.lefts.pop(0) if self.lefts else self.rest


def closed_port() -> int:
    """A loopback port nobody listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_codecommit_fails_cleanly_before_the_deadline() -> None:
    """20 attempts allowed (the documented maximum), an endpoint that refuses every connection."""
    client = boto3.client(
        "codecommit",
        region_name="us-east-2",
        endpoint_url=f"http://127.0.0.1:{closed_port()}",
        config=botocore_config(max_attempts=20, read_timeout=1),
    )
    deadline = SteppedDeadline([], rest=8.0)  # 8 s left, whatever the machine's load
    reader = CodeCommitReader(client, "payments", deadline=deadline)
    with pytest.raises(ReadDeadlineReached, match="GetCommit on payments was not attempted"):
        reader.get_commit("a" * 40)
    # connect 3 s + read 1 s per attempt, plus botocore's longest wait before the next retry
    # (1 s, 2 s, 4 s, 8 s): attempts 1-3 fit in 8 s, the fourth is not started.
    assert deadline.checks == 4


@pytest.fixture(scope="module")
def wide_commit(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A repository whose one commit adds 9 files (5 pages at 2 files a page)."""
    repo = ScriptedGitRepo(tmp_path_factory.mktemp("wide") / "wide")
    repo.path.mkdir()
    repo.git("init", "-q", "-b", "main")
    for index in range(9):
        repo.write(f"file-{index}.txt", f"{index}\n")
    return repo.path, repo.commit("Nine files")


def test_a_diff_cut_short_by_the_deadline_says_what_was_not_read(wide_commit: tuple[Path, str]) -> None:
    path, commit_id = wide_commit
    with codecommit_running({"wide": path}, page_size=2) as stand_in:
        client = codecommit_client(stand_in.url)
        # time enough for two pages, then none
        reader = CodeCommitReader(client, "wide", deadline=SteppedDeadline([60.0, 60.0], rest=0.5))
        with pytest.raises(DiffTruncated) as truncated:
            reader.get_differences(commit_id, None)
        assert stand_in.calls["GetDifferences"] == 2
    assert [change.path for change in truncated.value.changes] == [f"file-{i}.txt" for i in range(4)]
    assert "only the first 4 changed files" in truncated.value.reason
    assert "the rest were not" in truncated.value.reason


def test_a_truncated_diff_still_reaches_the_message(wide_commit: tuple[Path, str]) -> None:
    """Through enrich: the parent's changes carry the reason, and the commit itself is kept."""
    path, commit_id = wide_commit
    with codecommit_running({"wide": path}, page_size=2) as stand_in:
        client = codecommit_client(stand_in.url)
        # GetCommit's one attempt, then one page of GetDifferences, then no time
        reader = CodeCommitReader(client, "wide", deadline=SteppedDeadline([60.0, 60.0], rest=0.5))
        change = RefChange("refs/heads/main", RefKind.BRANCH, "main", RefAction.UPDATED, commit_id)
        push = Push(
            Repository("wide", "us-east-2", "123456789012"), parse_pusher(""), (change,), None, "e", "t"
        )
        notification = enrich(push, reader, max_refs=10)
    [report] = notification.reports
    assert report.commit is not None
    [diff] = report.parent_diffs
    assert diff.error is not None and "were not" in diff.error


def test_a_shared_client_without_a_deadline_is_not_bounded(wide_commit: tuple[Path, str]) -> None:
    path, commit_id = wide_commit
    with codecommit_running({"wide": path}, page_size=2) as stand_in:
        client = codecommit_client(stand_in.url)
        CodeCommitReader(client, "wide", deadline=SteppedDeadline([], rest=0.0))  # registers the hook
        changes = CodeCommitReader(client, "wide").get_differences(commit_id, None)
    assert len(changes) == 9
