"""cdk/pipelines.py in the synthesized template: the two rules, IAM scoped to the named pipelines,
cdk-nag (on at synth) and cfn-lint clean; off without context pipelines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template

from cdk.config import StackConfigError
from cdk.pipelines import (
    ACTOR_APPROVAL_ACTIONS,
    ACTOR_PIPELINE_ACTIONS,
    NOTIFIER_PIPELINE_ACTIONS,
    PipelineEvents,
    pipelines_from_context,
)
from tests.test_stack import cfn_lint, default, statements, synth  # noqa: F401 (default: a fixture)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def with_pipelines(tmp_path_factory: pytest.TempPathFactory) -> tuple[Template, Path]:
    return synth(
        tmp_path_factory,
        repositories="payments,web-app",
        pipelines=["web-deploy", "api-deploy"],
        pipeline_events="failed,fixed,approval",
    )


def rules(template: Template) -> dict[str, dict[str, Any]]:
    found = template.find_resources("AWS::Events::Rule")
    return {key: value["Properties"] for key, value in found.items() if key.startswith("PipelineEvents")}


def test_runs_rule_matches_the_named_pipelines_run_and_action_events(
    with_pipelines: tuple[Template, Path],
) -> None:
    [runs] = [rule for key, rule in rules(with_pipelines[0]).items() if "Runs" in key]
    assert runs["EventPattern"] == {
        "source": ["aws.codepipeline"],
        "detail-type": [
            "CodePipeline Pipeline Execution State Change",
            "CodePipeline Action Execution State Change",
        ],
        "detail": {"pipeline": ["api-deploy", "web-deploy"]},
    }
    [target] = runs["Targets"]
    assert target["Arn"]["Fn::GetAtt"][0].startswith("NotifierFunction")
    assert target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0].startswith("NotifierDeadLetterQueue")
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 21600, "MaximumRetryAttempts": 4}


def test_builds_rule_matches_unsuccessful_builds_those_pipelines_started(
    with_pipelines: tuple[Template, Path],
) -> None:
    [builds] = [rule for key, rule in rules(with_pipelines[0]).items() if "Builds" in key]
    assert builds["EventPattern"] == {
        "source": ["aws.codebuild"],
        "detail-type": ["CodeBuild Build State Change"],
        "detail": {
            "build-status": ["FAILED", "FAULT", "TIMED_OUT", "STOPPED"],
            "additional-information": {"initiator": ["codepipeline/api-deploy", "codepipeline/web-deploy"]},
        },
    }


def test_the_notifier_reads_those_pipelines_only(with_pipelines: tuple[Template, Path]) -> None:
    by_sid = {s.get("Sid", "destination"): s for s in statements(with_pipelines[0], "NotifierRole")}
    read = by_sid["ReadPipelines"]
    assert read["Action"] == list(NOTIFIER_PIPELINE_ACTIONS)
    assert [arn["Fn::Join"][1][-1] for arn in read["Resource"]] == [":api-deploy", ":web-deploy"]
    assert "codepipeline:StartPipelineExecution" not in json.dumps(by_sid)
    find = by_sid["FindBuiltPullRequests"]
    assert find["Action"] == "codecommit:ListPullRequests"
    assert [arn["Fn::Join"][1][-1] for arn in find["Resource"]] == [":payments", ":web-app"]


def test_the_function_is_told_the_pipelines_and_the_noise_setting(
    with_pipelines: tuple[Template, Path],
) -> None:
    functions = with_pipelines[0].find_resources("AWS::Lambda::Function")
    [environment] = [
        f["Properties"]["Environment"]["Variables"]
        for key, f in functions.items()
        if key.startswith("NotifierFunction")
    ]
    assert json.loads(environment["PIPELINES"]) == ["web-deploy", "api-deploy"]
    assert environment["PIPELINE_EVENTS"] == "failed,fixed,approval"


def test_cfn_lint_is_clean_with_the_pipeline_rules(with_pipelines: tuple[Template, Path]) -> None:
    result = cfn_lint(with_pipelines[1])
    assert result.returncode == 0, result.stdout + result.stderr


def test_off_without_context_pipelines(default: tuple[Template, Path]) -> None:  # noqa: F811 (the fixture)
    assert rules(default[0]) == {}
    assert "codepipeline:" not in json.dumps(statements(default[0], "NotifierRole"))


@pytest.mark.parametrize(
    ("value", "names"), [(None, ()), ("", ()), ("web,api", ("api", "web")), (["web"], ("web",))]
)
def test_pipelines_context(value: Any, names: tuple[str, ...]) -> None:
    assert pipelines_from_context(lambda key: value) == names


def test_a_bad_pipeline_name_names_the_context_key() -> None:
    with pytest.raises(StackConfigError, match="pipelines 'no spaces' is not a pipeline name"):
        pipelines_from_context(lambda key: ["no spaces"])


def test_grant_actor_allows_deploy_rollback_and_approvals_on_those_pipelines_only() -> None:
    app = App()
    stack = Stack(app, "Actors")
    role = iam.Role(stack, "NotifierRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    function = lambda_.Function(
        stack,
        "Fn",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(e, c): pass"),
        role=role,
    )
    actor = iam.Role(stack, "ActorRole", assumed_by=iam.AccountRootPrincipal())
    events = PipelineEvents(
        stack,
        "PipelineEvents",
        pipelines=["web-deploy"],
        repository_arns=["arn:aws:codecommit:eu-west-1:123456789012:web"],
        function=function,
        role=role,
        dead_letter_queue=sqs.Queue(stack, "Dlq"),
    )
    events.grant_actor(actor)
    template = Template.from_stack(stack)
    by_sid = {s["Sid"]: s for s in statements(template, "ActorRole")}
    assert by_sid["DeployPipelines"]["Action"] == list(ACTOR_PIPELINE_ACTIONS)
    assert json.dumps(by_sid["DeployPipelines"]["Resource"]).endswith(':web-deploy"]]}')
    assert by_sid["AnswerPipelineApprovals"]["Action"] == ACTOR_APPROVAL_ACTIONS[0]
    assert json.dumps(by_sid["AnswerPipelineApprovals"]["Resource"]).endswith(':web-deploy/*/*"]]}')


def test_chat_and_pipelines_together_synthesize_with_cdk_nag_on(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Review finding: with both on, the actor role's PutApprovalResult grant (``<pipeline>/*/*``,
    the action resource type) failed AwsSolutions-IAM5 at synth, so ``cdk deploy`` could not run."""
    template, path = synth(
        tmp_path_factory,
        repositories="payments,web-app",
        pipelines=["web-deploy"],
        chat={"team_id": "T0123ABCD"},
    )
    by_sid = {s["Sid"]: s for s in statements(template, "ChatActorRole")}
    assert by_sid["AnswerPipelineApprovals"]["Action"] == ACTOR_APPROVAL_ACTIONS[0]
    assert json.dumps(by_sid["AnswerPipelineApprovals"]["Resource"]).endswith(':web-deploy/*/*"]]}')
    assert json.dumps(by_sid["DeployPipelines"]["Resource"]).endswith(':web-deploy"]]}')
    result = cfn_lint(path)
    assert result.returncode == 0, result.stdout + result.stderr
