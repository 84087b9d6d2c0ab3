"""The pull-request rule and permissions in the synthesized template, with cdk-nag and cfn-lint clean."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from cdk.config import StackConfigError
from cdk.pull_request_events import PULL_REQUEST_ACTIONS, PullRequestConfig
from tests.test_stack import CDK_CONTEXT, cfn_lint, statements, synth

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def with_pull_requests(tmp_path_factory: pytest.TempPathFactory) -> tuple[Template, Path]:
    """Two watched repositories, the map in SSM and a quieter event list (synthesized with cdk-nag on)."""
    return synth(
        tmp_path_factory,
        repositories="payments,web-app",
        user_map_parameter="/team/chat-users",
        user_map={"alice": "U0ALICE01"},
        pull_request_events="default,-comment",
        review_commands={"/lgtm": "review-done"},
    )


def test_rule_matches_pull_request_and_comment_events_of_the_watched_repositories(
    with_pull_requests: tuple[Template, Path],
) -> None:
    template = with_pull_requests[0]
    template.resource_count_is("AWS::Events::Rule", 1)
    rule = next(iter(template.find_resources("AWS::Events::Rule").values()))["Properties"]
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.codecommit"]
    assert pattern["detail-type"] == [
        "CodeCommit Pull Request State Change",
        "CodeCommit Comment on Pull Request",
        "CodeCommit Comment on Commit",
    ]
    resources = json.dumps(pattern["resources"])
    assert ":payments" in resources and ":web-app" in resources and "*" not in resources
    [target] = rule["Targets"]
    assert target["Arn"]["Fn::GetAtt"][0].startswith("NotifierFunction")
    assert target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0].startswith("NotifierDeadLetterQueue")
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 21600, "MaximumRetryAttempts": 4}
    template.has_resource_properties(
        "AWS::Lambda::Permission", {"Principal": "events.amazonaws.com", "Action": "lambda:InvokeFunction"}
    )


def test_function_may_read_pull_requests_of_the_watched_repositories_only(
    with_pull_requests: tuple[Template, Path],
) -> None:
    by_sid = {s.get("Sid", "destination"): s for s in statements(with_pull_requests[0], "NotifierRole")}
    read = by_sid["ReadPullRequests"]
    assert read["Action"] == list(PULL_REQUEST_ACTIONS)
    assert [arn["Fn::Join"][1][-1] for arn in read["Resource"]] == [":payments", ":web-app"]
    parameter = by_sid["ReadUserMapParameter"]
    assert parameter["Action"] == "ssm:GetParameter"
    assert json.dumps(parameter["Resource"]).endswith(':parameter/team/chat-users"]]}')


def test_function_environment_carries_the_pull_request_settings(
    with_pull_requests: tuple[Template, Path],
) -> None:
    with_pull_requests[0].has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "USER_MAP_PARAMETER": "/team/chat-users",
                        "USER_MAP": '{"alice": "U0ALICE01"}',
                        "PULL_REQUEST_EVENTS": "default,-comment",
                        "REVIEW_COMMANDS": '{"/lgtm": "review-done"}',
                    }
                )
            }
        },
    )


def test_cfn_lint_is_clean_with_the_rule(with_pull_requests: tuple[Template, Path]) -> None:
    result = cfn_lint(with_pull_requests[1])
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rule_can_be_turned_off(tmp_path_factory: pytest.TempPathFactory) -> None:
    template, _ = synth(tmp_path_factory, pull_request_notifications=False)
    template.resource_count_is("AWS::Events::Rule", 0)
    sids = {s.get("Sid") for s in statements(template, "NotifierRole")}
    assert "ReadPullRequests" not in sids


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"user_map": {"alice": "<!channel>"}}, r"USER_MAP\['alice'\] must be a Slack member id"),
        ({"pull_request_events": "everything"}, "PULL_REQUEST_EVENTS: 'everything' is not one of"),
        ({"review_commands": {"lgtm": "review-done"}}, "must be one word starting with /"),
        ({"user_map_parameter": "team/users"}, "user_map_parameter must be a parameter name"),
        (
            {"user_map": {f"user{i}": "U0000000000" for i in range(200)}},
            "too big for Lambda's 4 KB environment",
        ),
    ],
)
def test_bad_pull_request_context_fails_synth(overrides: dict[str, Any], message: str) -> None:
    context: dict[str, Any] = {**CDK_CONTEXT, **overrides}
    with pytest.raises(StackConfigError, match=message):
        PullRequestConfig.from_context(context.get)
