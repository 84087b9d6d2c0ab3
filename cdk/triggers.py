"""Repository triggers, managed without disturbing anyone else's, and the name ours carries.

Every watched repository, the one the stack may create included, gets our trigger through the
same custom resource, so destroying the stack removes it everywhere (a retained repository would
otherwise keep a trigger to a deleted topic).

With ``repositories: "*"`` one custom resource puts our trigger on every repository of the
account and region, and an EventBridge rule on CloudTrail's ``CreateRepository`` event has the
same function put it on each repository created later (which needs a CloudTrail trail: CodeCommit
itself sends no event when a repository is created). That trigger has its own name
(:func:`all_repositories_trigger_name`), so switching a deployed stack between a list and ``"*"``
never has the old resources' cleanup remove the trigger the new ones just put.

The custom resource's function (``cdk/trigger_manager/index.py``) answers CloudFormation itself
rather than through CDK's ``custom_resources.Provider`` framework: see that module's docstring for
why, and for how it always answers before its time runs out.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path

from aws_cdk import CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk.function import ARCHITECTURE, RUNTIME, grant_own_log_streams, log_retention
from cdk.nag import acknowledge_wildcard

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
#: The one resource that puts our trigger on every repository (``repositories: "*"``).
ALL_REPOSITORIES_RESOURCE_TYPE = "Custom::CodeCommitAllRepositoryTriggers"


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
    """Our trigger's name when every repository is watched: ``<prefix>-all-<stack name>``.

    It differs from :func:`trigger_name_for`'s on purpose. When a deployed stack switches from a
    list of repositories to ``"*"``, CloudFormation creates the new resource (which puts this
    trigger everywhere) before it deletes the old per-repository ones (which remove theirs); with
    one name, that cleanup would take the listed repositories' trigger away. The reverse switch
    is safe for the same reason.
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

    With ``watch_all``, one resource (keyed ``"*"``) covers every repository, and
    :attr:`new_repository_rule` sends each created repository to the function.

    Attributes:
        function: the custom resource's function.
        resources: repository name (``"*"`` for all) → its custom resource.
        new_repository_rule: the rule on CloudTrail's CreateRepository event (watch_all only).
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
        self.new_repository_rule: events.Rule | None = None
        if watch_all:
            self._watch_all(topic_arn, trigger_name, branches)
            repository_names = ["*"]
        for name in repository_names:
            self.resources[name] = CustomResource(
                self,
                f"Trigger-{name}" if name != "*" else "TriggerAllRepositories",
                service_token=self.function.function_arn,
                resource_type=RESOURCE_TYPE if name != "*" else ALL_REPOSITORIES_RESOURCE_TYPE,
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

    def _watch_all(self, topic_arn: str, trigger_name: str, branches: Sequence[str]) -> None:
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
        self.new_repository_rule.add_target(
            targets.LambdaFunction(self.function, retry_attempts=4, max_event_age=Duration.hours(2))
        )
