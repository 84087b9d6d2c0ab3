"""The review-reminder schedule in the synthesized template (cdk-nag on), its roles, and cfn-lint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from cdk.config import NotifierConfig, StackConfigError
from cdk.reminders import REVIEW_QUEUE_ACTIONS
from tests.test_stack import CDK_CONTEXT, cfn_lint, default, statements, synth

pytestmark = pytest.mark.slow
__all__ = ["default"]  # the session's default template, shared with tests/test_stack.py

REMINDERS = {"schedule": "cron(0 9 ? * MON-FRI *)", "timezone": "Europe/Berlin", "min_age_hours": 12}


@pytest.fixture(scope="session")
def with_reminders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Template, Path]:
    return synth(tmp_path_factory, repositories="payments,web-app", review_reminders=REMINDERS)


def the_schedule(template: Template) -> dict[str, Any]:
    (schedule,) = template.find_resources("AWS::Scheduler::Schedule").values()
    return schedule["Properties"]  # type: ignore[no-any-return]


def test_the_schedule_runs_the_cron_in_its_time_zone_and_invokes_the_notifier(
    with_reminders: tuple[Template, Path],
) -> None:
    schedule = the_schedule(with_reminders[0])
    assert schedule["ScheduleExpression"] == "cron(0 9 ? * MON-FRI *)"
    assert schedule["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["State"] == "ENABLED"
    target = schedule["Target"]
    assert target["Arn"]["Fn::GetAtt"][0].startswith("NotifierFunction")
    assert target["RoleArn"]["Fn::GetAtt"][0].startswith("ReviewRemindersRole")
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 10800, "MaximumRetryAttempts": 3}
    assert target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0].startswith("NotifierDeadLetterQueue")
    rendered = json.dumps(target["Input"])
    for part in (
        '\\"source\\":\\"codecommit-notifier.reminders\\"',
        '\\"version\\":1',
        "AWS::AccountId",
        "AWS::Region",
        "AWS::Partition",
        "<aws.scheduler.scheduled-time>",
    ):
        assert part in rendered, part


def test_the_scheduler_may_invoke_the_notifier_and_nothing_else(
    with_reminders: tuple[Template, Path],
) -> None:
    template = with_reminders[0]
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "scheduler.amazonaws.com"},
                        "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                    }
                ]
            }
        },
    )
    by_sid = {s["Sid"]: s for s in statements(template, "ReviewRemindersRole")}
    assert set(by_sid) == {"InvokeNotifier", "SendUndeliveredToDeadLetterQueue"}
    assert by_sid["InvokeNotifier"]["Action"] == "lambda:InvokeFunction"
    assert by_sid["InvokeNotifier"]["Resource"]["Fn::GetAtt"][0].startswith("NotifierFunction")
    assert by_sid["SendUndeliveredToDeadLetterQueue"]["Action"] == "sqs:SendMessage"
    assert by_sid["SendUndeliveredToDeadLetterQueue"]["Resource"]["Fn::GetAtt"][0].startswith(
        "NotifierDeadLetterQueue"
    )


def test_the_notifier_may_read_the_review_queue_of_the_watched_repositories_only(
    with_reminders: tuple[Template, Path],
) -> None:
    template = with_reminders[0]
    by_sid = {s.get("Sid", "destination"): s for s in statements(template, "NotifierRole")}
    read = by_sid["ReadReviewQueue"]
    assert read["Action"] == sorted(REVIEW_QUEUE_ACTIONS)
    assert "codecommit:ListPullRequests" in read["Action"]
    resources = json.dumps(read["Resource"])
    assert ":payments" in resources and ":web-app" in resources and "*" not in resources
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "WATCHED_REPOSITORIES": "payments,web-app",
                        "REVIEW_REMINDERS": json.dumps(REMINDERS, separators=(",", ":")),
                    }
                )
            }
        },
    )


def test_cfn_lint_is_clean_with_the_schedule(with_reminders: tuple[Template, Path]) -> None:
    result = cfn_lint(with_reminders[1])
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_schedule_unless_review_reminders_is_set(default: tuple[Template, Path]) -> None:
    default[0].resource_count_is("AWS::Scheduler::Schedule", 0)
    assert "ReadReviewQueue" not in json.dumps(default[0].find_resources("AWS::IAM::Policy"))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"review_reminders": {"schedule": "rate(1 day)"}}, "review_reminders schedule must be"),
        (
            {"review_reminders": {"schedule": "cron(0 9 ? * * *)", "timezone": "Berlin"}},
            "review_reminders timezone",
        ),
        ({"review_reminders": {"schedule": "cron(0 9 ? * * *)", "to": ["chat"]}}, "to names 'chat'"),
        (
            {
                "review_reminders": '{"schedule": "cron(0 9 ? * * *)"',
            },
            "review_reminders is not valid JSON",
        ),
        (
            {"repositories": "*", "review_reminders": {"schedule": "cron(0 9 ? * * *)"}},
            "needs the repositories named",
        ),
    ],
)
def test_bad_review_reminders_fail_synth_with_the_key_named(overrides: dict[str, Any], message: str) -> None:
    context: dict[str, Any] = {**CDK_CONTEXT, **overrides}
    with pytest.raises(StackConfigError, match=message.replace("(", r"\(")):
        NotifierConfig.from_context(context.get)
