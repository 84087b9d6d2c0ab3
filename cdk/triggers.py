"""Repository triggers on existing repositories, managed without disturbing anyone else's."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aws_cdk import CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk.function import ARCHITECTURE, RUNTIME, grant_own_log_streams, log_retention

TRIGGER_MANAGER_DIR = Path(__file__).resolve().parent / "trigger_manager"


class RepositoryTriggers(Construct):
    """One custom resource per existing repository, all served by one small function.

    The function (``cdk/trigger_manager/index.py``) reads the repository's triggers, upserts ours
    by name and writes the list back; on delete it removes only ours. Its role may read and write
    triggers on the watched repositories and nothing else.

    Attributes:
        function: the custom resource's function.
        resources: repository name → its custom resource.
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
    ) -> None:
        super().__init__(scope, id_)
        stack = Stack.of(self)
        repository_arns = [stack.format_arn(service="codecommit", resource=name) for name in repository_names]
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
                resources=repository_arns,
            )
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
            timeout=Duration.minutes(1),
            memory_size=128,
            log_group=log_group,
        )
        self.resources: dict[str, CustomResource] = {}
        for name in repository_names:
            self.resources[name] = CustomResource(
                self,
                f"Trigger-{name}",
                service_token=self.function.function_arn,
                resource_type="Custom::CodeCommitRepositoryTrigger",
                properties={
                    "RepositoryName": name,
                    "TriggerName": trigger_name,
                    "DestinationArn": topic_arn,
                    "Branches": list(branches),
                    "Events": ["all"],
                    "CustomData": "",
                },
            )
