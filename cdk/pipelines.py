"""Pipelines from chat: EventBridge rules for the named pipelines' events, and their IAM.

Off unless context ``pipelines`` names one or more CodePipeline pipelines (``PIPELINES``, which
the handler setting carries to the function by itself). Then:

* **rule ``Runs``**: ``source: aws.codepipeline``, detail types ``CodePipeline Pipeline Execution
  State Change`` and ``CodePipeline Action Execution State Change``, ``detail.pipeline`` one of the
  names, targeting the notifier function (as the pull-request rule does: asynchronous invoke,
  the same retries and dead-letter queue);
* **rule ``Builds``**: ``source: aws.codebuild``, ``CodeBuild Build State Change`` for finished
  builds that did not succeed, whose ``additional-information.initiator`` is
  ``codepipeline/<name>`` for one of the names. Builds are matched by the pipeline that started
  them, not by project, so a project shared with other pipelines (or started by hand) sends
  nothing, and no project list needs keeping in step with the pipelines;
* **the notifier** may ``GetPipeline``, ``GetPipelineExecution``, ``GetPipelineState`` and
  ``ListPipelineExecutions`` on those pipelines' ARNs only (``ReadPipelines``), and
  ``codecommit:ListPullRequests`` on the watched repositories (``FindBuiltPullRequests``: a run's
  result is told in the thread of the pull request whose tip it built);
* **the actor role** (the chat function's, acting as the person) is granted by
  :meth:`PipelineEvents.grant_actor`: the same reads, and ``StartPipelineExecution``,
  ``RollbackStage`` on the pipelines and ``PutApprovalResult`` on their actions
  (``arn:…:<pipeline>/<stage>/<action>``), nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk.config import StackConfigError
from cdk.nag import acknowledge_wildcard
from handler.aws.models import BUILD_STATUS_READS, PIPELINE_READS
from handler.settings import pipeline_names
from handler.sources.codepipeline import (
    ACTION_STATE_CHANGE,
    BUILD_STATE_CHANGE,
    CODEBUILD_SOURCE,
    CODEPIPELINE_SOURCE,
    PIPELINE_STATE_CHANGE,
)

#: What the notifier may do on the named pipelines (handler/enrich/codepipeline.py).
NOTIFIER_PIPELINE_ACTIONS = tuple(f"codepipeline:{operation}" for operation in PIPELINE_READS)
#: What it may do on the watched repositories for the build status beside the review.
NOTIFIER_BUILD_STATUS_ACTIONS = tuple(f"codecommit:{operation}" for operation in BUILD_STATUS_READS)
#: What a person may do on the named pipelines, through the actor role (handler/actions/pipelines.py).
ACTOR_PIPELINE_ACTIONS = (
    *NOTIFIER_PIPELINE_ACTIONS,
    "codepipeline:StartPipelineExecution",
    "codepipeline:RollbackStage",
)
ACTOR_APPROVAL_ACTIONS = ("codepipeline:PutApprovalResult",)
#: A build's final states the notifier remembers (its logs link for the run's failure message).
UNSUCCESSFUL_BUILDS = ("FAILED", "FAULT", "TIMED_OUT", "STOPPED")


def pipelines_from_context(get: Callable[[str], Any]) -> tuple[str, ...]:
    """Context ``pipelines`` (a list, or comma-separated text) as names, checked like ``PIPELINES``."""
    value = get("pipelines")
    if value in (None, "", []):
        return ()
    names = (
        value if isinstance(value, list) else [part.strip() for part in str(value).split(",") if part.strip()]
    )
    try:
        return tuple(sorted(pipeline_names(json.dumps(names))))
    except ValueError as error:
        raise StackConfigError(f"invalid CDK context (cdk.json or -c): pipelines {error}") from error


class PipelineEvents(Construct):
    """The two rules, their target and the notifier's reads; :meth:`grant_actor` for the chat role.

    Attributes:
        runs: the rule for pipeline and action state changes.
        builds: the rule for CodeBuild builds those pipelines started.
        pipeline_arns: the pipelines' ARNs (every statement is scoped to them).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        pipelines: Sequence[str],
        repository_arns: Sequence[str],
        function: lambda_.Function,
        role: iam.Role,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, id_)
        stack = Stack.of(self)
        self.pipelines = tuple(pipelines)
        self.pipeline_arns = [
            stack.format_arn(service="codepipeline", resource=name) for name in self.pipelines
        ]
        target = targets.LambdaFunction(
            function, dead_letter_queue=dead_letter_queue, retry_attempts=4, max_event_age=Duration.hours(6)
        )
        self.runs = events.Rule(
            self,
            "Runs",
            description="CodePipeline runs and actions of the pipelines in context pipelines",
            event_pattern=events.EventPattern(
                source=[CODEPIPELINE_SOURCE],
                detail_type=[PIPELINE_STATE_CHANGE, ACTION_STATE_CHANGE],
                detail={"pipeline": list(self.pipelines)},
            ),
        )
        self.runs.add_target(target)
        self.builds = events.Rule(
            self,
            "Builds",
            description="Unsuccessful CodeBuild builds that the pipelines in context pipelines started",
            event_pattern=events.EventPattern(
                source=[CODEBUILD_SOURCE],
                detail_type=[BUILD_STATE_CHANGE],
                detail={
                    "build-status": list(UNSUCCESSFUL_BUILDS),
                    "additional-information": {
                        "initiator": [f"codepipeline/{name}" for name in self.pipelines]
                    },
                },
            ),
        )
        self.builds.add_target(target)
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadPipelines", actions=list(NOTIFIER_PIPELINE_ACTIONS), resources=self.pipeline_arns
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="FindBuiltPullRequests",
                actions=list(NOTIFIER_BUILD_STATUS_ACTIONS),
                resources=list(repository_arns),
            )
        )

    def grant_actor(self, role: iam.IRole) -> None:
        """Let the chat function's actor role deploy, roll back and answer gates of these pipelines.

        The role is assumed as the person (``SourceIdentity``), so CloudTrail names them; nothing
        here reaches any other pipeline.
        """
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DeployPipelines", actions=list(ACTOR_PIPELINE_ACTIONS), resources=self.pipeline_arns
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="AnswerPipelineApprovals",
                actions=list(ACTOR_APPROVAL_ACTIONS),
                resources=[f"{arn}/*/*" for arn in self.pipeline_arns],
            )
        )
        for arn in self.pipeline_arns:
            acknowledge_wildcard(
                role,
                f"{arn}/*/*",
                "PutApprovalResult's resource is the approval action, <pipeline>/<stage>/<action>; this "
                "covers the named pipeline's gates only, and the function checks each click first.",
            )
