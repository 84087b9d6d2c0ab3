"""Repository triggers, managed without disturbing anyone else's, and the name ours carries.

Every watched repository, the one the stack may create included, gets our trigger through the
same custom resource, so destroying the stack removes it everywhere (a retained repository would
otherwise keep a trigger to a deleted topic).

With ``repositories: "*"`` one asynchronous custom resource puts our trigger on every repository
of the account and region, in batches (``cdk/all_repository_triggers.py``), and an EventBridge rule
on CloudTrail's ``CreateRepository`` event has the per-repository function put it on each
repository created later (which needs a CloudTrail trail: CodeCommit itself sends no event when a
repository is created). That trigger has its own name
(:func:`all_repositories_trigger_name`), so switching a deployed stack between a list and ``"*"``
never has the old resources' cleanup remove the trigger the new ones just put. That rule's
target has a dead-letter queue and an alarm on it.

The per-repository resources' function (``cdk/trigger_manager/index.py``) answers CloudFormation
itself: one repository is a few calls. It also still answers the delete of the synchronous
every-repository resource of earlier versions, which an upgrade removes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path

from aws_cdk import CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk.all_repository_triggers import EveryRepositoryTriggers
from cdk.function import ARCHITECTURE, RUNTIME, grant_own_log_streams, log_retention
from cdk.nag import acknowledge_wildcard
from cdk.queues import dead_letter_queue

TRIGGER_MANAGER_DIR = Path(__file__).resolve().parent / "trigger_manager"
#: CodeCommit's rule for trigger names.
MAX_TRIGGER_NAME = 100
_TRIGGER_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_HASH_CHARS = 10
#: The manager function's timeout. It answers CloudFormation before this runs out (see index.py).
MANAGER_TIMEOUT_SECONDS = 120
#: How long CloudFormation waits for an answer before failing the resource (its default: an hour).
#: It only matters when the function cannot answer at all (it never ran, or its runtime crashed);
#: it leaves room for Lambda's two retries of a crashed invocation.
SERVICE_TIMEOUT_SECONDS = 600
RESOURCE_TYPE = "Custom::CodeCommitRepositoryTrigger"
#: The synchronous every-repository resource of earlier versions (its delete is still served).
LEGACY_ALL_REPOSITORIES_RESOURCE_TYPE = "Custom::CodeCommitAllRepositoryTriggers"


def trigger_name_for(prefix: str, stack_name: str) -> str:
    """Our trigger's name: ``<prefix>-<stack name>``, unique per stack whatever the lengths.

    CodeCommit allows 1-100 letters, digits, ``.``, ``_`` and ``-``. A name that fits is used as
    is (so existing deployments keep their trigger's name). A longer one keeps a readable start and
    ends with a hash of the whole name, so two long stack names that share a prefix still get two
    different triggers instead of overwriting and deleting each other's.
    """
    full = f"{prefix}-{stack_name}"
    safe = _TRIGGER_NAME_CHARS.sub("-", full)
    if len(safe) <= MAX_TRIGGER_NAME and safe == full:
        return full
    digest = hashlib.sha256(full.encode("utf-8")).hexdigest()[:_HASH_CHARS]
    return f"{safe[: MAX_TRIGGER_NAME - _HASH_CHARS - 1]}-{digest}"


def all_repositories_trigger_name(prefix: str, stack_name: str) -> str:
    """Our trigger's name when every repository is watched: ``<prefix>-every-<stack name>``.

    It differs from :func:`trigger_name_for`'s on purpose. When a deployed stack switches from a
    list of repositories to ``"*"``, CloudFormation creates the new resource (which puts this
    trigger everywhere) before it deletes the old per-repository ones (which remove theirs); with
    one name, that cleanup would take the listed repositories' trigger away. The reverse switch
    is safe for the same reason.

    It also differs from :func:`legacy_all_repositories_trigger_name`, for the same reason: an
    upgrade creates the asynchronous resource, then deletes the synchronous one of earlier
    versions, whose delete removes the old name only.
    """
    return trigger_name_for(f"{prefix}-every", stack_name)


def legacy_all_repositories_trigger_name(prefix: str, stack_name: str) -> str:
    """The every-repository trigger's name before its resource became asynchronous.

    ``<prefix>-all-<stack name>``: what an upgrade's delete of the old resource removes.
    """
    return trigger_name_for(f"{prefix}-all", stack_name)


#: The ``detail`` of what EventBridge receives from CloudTrail when a repository is created
#: (``source: aws.codecommit``, ``detail-type: AWS API Call via CloudTrail``).
REPOSITORY_CREATED_DETAIL: dict[str, list[str]] = {
    "eventSource": ["codecommit.amazonaws.com"],
    "eventName": ["CreateRepository"],
}


class RepositoryTriggers(Construct):
    """One custom resource per watched repository, all served by one small function.

    The function (``cdk/trigger_manager/index.py``) reads the repository's triggers, upserts ours
    by name and writes the list back; on delete it removes only ours.

    Its role may get and put triggers on every repository of the account and region, not only the
    watched ones. When a name leaves ``repositories``, CloudFormation updates this role's policy
    before it deletes that repository's custom resource; a policy scoped to the watched names
    would already refuse that delete, leaving our trigger behind (the same happens when an update
    that added a repository rolls back). The function only ever touches the repository and the
    trigger name its resource names, and removes nothing but its own trigger.

    The role may also list repositories (ListRepositories has no resource-level permissions, so
    its resource is ``*``), in either mode, for the same reason: when a stack goes back from
    ``"*"`` to a list (or an update to ``"*"`` rolls back), CloudFormation deletes the resource
    that covered every repository after it has applied the list's policy, and that delete must
    list the repositories to take our trigger off each one.

    With ``watch_all``, one asynchronous resource (:class:`EveryRepositoryTriggers`, keyed
    ``"*"``) covers every repository, and :attr:`new_repository_rule` sends each created
    repository to the function; what EventBridge cannot deliver, and what fails in the function
    after Lambda's retries, lands in :attr:`new_repository_dead_letter_queue`, which raises
    :attr:`new_repository_alarm`.

    Attributes:
        function: the per-repository custom resources' function.
        resources: repository name (``"*"`` for all) → its custom resource.
        every_repository: the asynchronous every-repository resource (watch_all only).
        new_repository_rule: the rule on CloudTrail's CreateRepository event (watch_all only).
        new_repository_dead_letter_queue: where a created repository's failed event waits (watch_all only).
        new_repository_alarm: fires when that queue holds a message (watch_all only).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        repository_names: Sequence[str],
        topic_arn: str,
        trigger_name: str,
        branches: Sequence[str],
        log_retention_days: int,
        watch_all: bool = False,
        alarm_topic_arn: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        stack = Stack.of(self)
        any_repository = stack.format_arn(service="codecommit", resource="*")
        log_group = logs.LogGroup(
            self,
            "LogGroup",
            retention=log_retention(log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Adds and removes the Slack notifier's trigger on the watched repositories",
        )
        grant_own_log_streams(role, log_group)
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ManageTriggers",
                actions=["codecommit:GetRepositoryTriggers", "codecommit:PutRepositoryTriggers"],
                resources=[any_repository],
            )
        )
        acknowledge_wildcard(
            role,
            any_repository,
            "Removing a repository from the stack deletes its trigger after CloudFormation has "
            "already narrowed this policy, so the policy must cover repositories the stack no "
            "longer lists. Only the two trigger actions are granted, in this account and region; "
            "the function changes nothing but its own trigger.",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ListRepositories", actions=["codecommit:ListRepositories"], resources=["*"]
            )
        )
        acknowledge_wildcard(
            role,
            "*",
            "codecommit:ListRepositories supports no resource-level permissions, so its resource must "
            'be *. It lists repository names only: with repositories "*" the function puts our trigger '
            "on each, and after a switch back to a list (or a rollback) the delete that CloudFormation "
            "runs under the list's policy must still find every repository to remove our trigger.",
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description="Custom resource: merges the Slack notifier's trigger into a repository's triggers",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler="index.handler",
            code=lambda_.Code.from_asset(str(TRIGGER_MANAGER_DIR), exclude=["__pycache__"]),
            role=role,
            timeout=Duration.seconds(MANAGER_TIMEOUT_SECONDS),
            memory_size=128,
            log_group=log_group,
        )
        self.resources: dict[str, CustomResource] = {}
        self.every_repository: EveryRepositoryTriggers | None = None
        self.new_repository_rule: events.Rule | None = None
        self.new_repository_dead_letter_queue: sqs.Queue | None = None
        self.new_repository_alarm: cloudwatch.Alarm | None = None
        if watch_all:
            self._watch_all(topic_arn, trigger_name, branches, alarm_topic_arn)
            self.every_repository = EveryRepositoryTriggers(
                self,
                "Every",
                code_dir=str(TRIGGER_MANAGER_DIR),
                topic_arn=topic_arn,
                trigger_name=trigger_name,
                branches=branches,
                log_retention_days=log_retention_days,
            )
            self.resources["*"] = self.every_repository.resource
            repository_names = []
        for name in repository_names:
            self.resources[name] = CustomResource(
                self,
                f"Trigger-{name}",
                service_token=self.function.function_arn,
                resource_type=RESOURCE_TYPE,
                service_timeout=Duration.seconds(SERVICE_TIMEOUT_SECONDS),
                properties={
                    "RepositoryName": name,
                    "TriggerName": trigger_name,
                    "DestinationArn": topic_arn,
                    "Branches": list(branches),
                    "Events": ["all"],
                    "CustomData": "",
                },
            )

    def _watch_all(
        self, topic_arn: str, trigger_name: str, branches: Sequence[str], alarm_topic_arn: str | None
    ) -> None:
        """Tell the function our trigger, and send it each repository created after the deploy."""
        self.function.add_environment("TRIGGER_NAME", trigger_name)
        self.function.add_environment("DESTINATION_ARN", topic_arn)
        self.function.add_environment("BRANCHES", json.dumps(list(branches)))
        self.new_repository_rule = events.Rule(
            self,
            "NewRepositoryRule",
            description="A CodeCommit repository was created (CloudTrail): put the notifier's trigger on it",
            event_pattern=events.EventPattern(
                source=["aws.codecommit"],
                detail_type=["AWS API Call via CloudTrail"],
                detail=dict(REPOSITORY_CREATED_DETAIL),
            ),
        )
        queue = dead_letter_queue(
            self,
            "NewRepositoryDeadLetterQueue",
            holds="the CreateRepository rule's target and of the function's asynchronous invocations",
        )
        self.new_repository_dead_letter_queue = queue
        self.new_repository_rule.add_target(
            targets.LambdaFunction(
                self.function, retry_attempts=4, max_event_age=Duration.hours(2), dead_letter_queue=queue
            )
        )
        # EventBridge's queue catches what it could not deliver; a failure inside the function
        # (after Lambda's two retries) goes to the same queue.
        self.function.configure_async_invoke(retry_attempts=2, on_failure=destinations.SqsDestination(queue))
        self.new_repository_alarm = queue.metric_approximate_number_of_messages_visible(
            period=Duration.minutes(5)
        ).create_alarm(
            self,
            "NewRepositoryDeadLetterAlarm",
            alarm_description=(
                "A repository created after the deploy may lack the notifier's trigger: see "
                "docs/operations.md, 'A new repository got no trigger'"
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        if alarm_topic_arn:
            ops_topic = sns.Topic.from_topic_arn(self, "OpsTopic", alarm_topic_arn)
            self.new_repository_alarm.add_alarm_action(cloudwatch_actions.SnsAction(ops_topic))
