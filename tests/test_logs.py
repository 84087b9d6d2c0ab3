"""The outcome line: one structured record per push, with the same keys whatever became of it.

The records are produced by the real entry point (``lambda_handler``) against the CodeCommit and
Slack stand-ins, then formatted the way the Lambda runtime's JSON log format would.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from handler.app import lambda_handler
from handler.demo import trigger_event
from handler.errors import DeliveryRefused
from handler.logs import OUTCOME_LOGGER, JsonLineFormatter, configure_logging, log_outcome
from tests.conftest import load_event
from tests.scenarios import GONE_COMMIT, ScenarioRepo, scenario_events
from tests.standins.slack import Reply, SlackStandIn, running
from tests.test_app import Context, lambda_env, use_secret

__all__ = ["lambda_env"]  # the fixture, imported so these tests run in the same fresh container

KEYS = {
    "outcome",
    "event_id",
    "repository",
    "refs",
    "commits",
    "reason",
    "error_class",
    "attempts",
    "unavailable",
}


def outcome_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """Each outcome record, formatted as a JSON log line and parsed back."""
    formatter = JsonLineFormatter()
    lines = []
    for record in caplog.records:
        if record.name == OUTCOME_LOGGER:
            text = formatter.format(record)
            assert "\n" not in text
            lines.append(json.loads(text))
    return lines


def test_a_delivered_push_logs_one_line_with_its_refs_commits_and_attempts(
    lambda_env: Any, scenario_repo: ScenarioRepo, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with running([Reply(500, "oops"), Reply()]) as slack:
        use_secret(lambda_env, slack.url)
        event = scenario_events(scenario_repo.commits)["merge_commit"]
        lambda_handler(event, Context())
    [line] = outcome_lines(caplog)
    assert line.keys() >= KEYS
    assert line["outcome"] == "delivered" and line["level"] == "INFO"
    assert line["event_id"] == "00000000-0000-4000-8000-000000000000"
    assert line["repository"] == "scenario-repo"
    assert line["refs"] == ["refs/heads/main"]
    assert line["commits"] == [scenario_repo.commits["merge"]]
    assert line["attempts"] == 2
    assert line["reason"] == "" and line["error_class"] == "" and line["unavailable"] == []
    assert "SECRETPATH" not in json.dumps(line)


def test_an_unreadable_commit_is_listed_with_its_reason(
    lambda_env: Any,
    scenario_repo: ScenarioRepo,
    slack_standin: SlackStandIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    use_secret(lambda_env, slack_standin.url)
    lambda_handler(scenario_events(scenario_repo.commits)["deleted_branch_commit_gone"], Context())
    [line] = outcome_lines(caplog)
    assert line["outcome"] == "delivered"
    [unavailable] = line["unavailable"]
    assert unavailable["ref"] == "refs/heads/feature/old"
    assert unavailable["commit"] == GONE_COMMIT
    assert "no commit has this id" in unavailable["reason"]


def test_a_dropped_event_logs_why_at_warning(
    lambda_env: Any, slack_standin: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    use_secret(lambda_env, slack_standin.url)
    test_trigger = trigger_event([], pusher_arn="arn:aws:iam::1:user/a", event_name="TriggerEventTest")
    lambda_handler(test_trigger, Context())
    lambda_handler(load_event("awslambdago_TriggerEventTest_record.json"), Context())
    [test_line, not_sns_line] = outcome_lines(caplog)
    assert test_line["outcome"] == "dropped" and test_line["level"] == "WARNING"
    assert "console Test trigger with no usable references" in test_line["reason"]
    assert test_line["event_id"] == "00000000-0000-4000-8000-000000000000"
    assert "not an SNS or CodeCommit event" in not_sns_line["reason"]
    line = not_sns_line
    assert line["attempts"] == 0


def test_a_raised_error_logs_its_class_and_attempts_before_lambda_retries(
    lambda_env: Any, scenario_repo: ScenarioRepo, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with running(default=Reply(404, "no_service")) as slack:
        use_secret(lambda_env, slack.url)
        with pytest.raises(DeliveryRefused):
            lambda_handler(scenario_events(scenario_repo.commits)["root_commit"], Context())
    [line] = outcome_lines(caplog)
    assert line["outcome"] == "raised" and line["level"] == "ERROR"
    assert line["error_class"] == "DeliveryRefused"
    assert line["attempts"] == 1
    assert "HTTP 404" in line["reason"] and "SECRETPATH" not in line["reason"]


def test_configure_logging_leaves_the_runtimes_json_format_alone() -> None:
    root = logging.getLogger()
    handler = logging.StreamHandler()
    text_format = logging.Formatter("%(message)s")
    handler.setFormatter(text_format)
    saved = root.handlers[:], root.level
    root.handlers[:] = [handler]
    try:
        configure_logging({"AWS_LAMBDA_LOG_FORMAT": "JSON", "LOG_LEVEL": "warning"})
        assert handler.formatter is text_format and root.level == logging.WARNING
        configure_logging({"LOG_LEVEL": "nonsense"})  # Text format: our formatter writes the JSON
        assert isinstance(handler.formatter, JsonLineFormatter) and root.level == logging.INFO
    finally:
        root.handlers[:], root.level = saved[0], saved[1]


def test_every_key_is_present_even_when_empty(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    log_outcome(outcome="duplicate", event_id="e-1", repository="r", refs=["refs/heads/a"] * 5)
    [line] = outcome_lines(caplog)
    assert line.keys() >= KEYS
    assert line["message"] == "duplicate: r refs/heads/a, refs/heads/a, refs/heads/a and 2 more"


def test_every_outcome_has_a_log_level() -> None:
    from typing import get_args

    from handler.logs import _LEVELS, Outcome

    assert set(get_args(Outcome)) == set(_LEVELS)
