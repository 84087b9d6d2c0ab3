"""Our trigger on every repository (``repositories: "*"``): an asynchronous custom resource.

CDK's Provider framework serves it: CloudFormation's request goes to the framework's function,
which calls ``on_event`` once and then ``is_complete`` every :data:`QUERY_INTERVAL` until the work
is done (``cdk/trigger_manager/all_repositories.py``: pagination, bounded batches, progress in the
log, a delete that always completes), or until :data:`TOTAL_TIMEOUT` passes; the framework answers
CloudFormation. How far a request has got is kept in one SSM parameter the stack owns.

It replaces the synchronous resource earlier versions had (one invocation of about 105 s, which
failed on accounts with hundreds of repositories). CloudFormation cannot change a custom
resource's service token, so this is a new resource (a new logical id) with a new trigger name
(:func:`cdk.triggers.all_repositories_trigger_name`): on upgrade, the old resource's delete removes
the old name only, and never the trigger this one just put (nor, if the upgrade rolls back, the
other way round).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, CustomResource, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from constructs import Construct

from cdk.function import ARCHITECTURE, RUNTIME, grant_own_log_streams, log_retention
from cdk.nag import acknowledge, acknowledge_wildcard

#: The resource's CloudFormation type (Custom:: plus at most 60 characters).
RESOURCE_TYPE = "Custom::CodeCommitEveryRepositoryTrigger"
#: How often the framework asks whether the work is done (each poll does one batch).
QUERY_INTERVAL = Duration.seconds(15)
#: How long the framework keeps polling before it fails the request. One poll does up to 200
#: repositories in at most a few minutes, so an hour covers thousands; it stays below
#: CloudFormation's own limit (:data:`SERVICE_TIMEOUT`) so the framework answers with a reason.
TOTAL_TIMEOUT = Duration.minutes(55)
#: CloudFormation's wait for an answer, at most an hour.
SERVICE_TIMEOUT = Duration.hours(1)
#: The poll's timeout: 200 repositories, stopping early when 130 s are left (all_repositories.py).
IS_COMPLETE_TIMEOUT = Duration.minutes(5)
ON_EVENT_TIMEOUT = Duration.minutes(1)
#: The managed policy CDK gives the framework's functions, as cdk-nag renders it.
MANAGED_BASIC_EXECUTION = "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


class EveryRepositoryTriggers(Construct):
    """Puts our trigger on every repository of the account and region, in batches, asynchronously.

    Attributes:
        role: the two functions' role (trigger reads and writes, listing, the progress parameter).
        on_event: the function the framework calls first.
        is_complete: the function the framework polls.
        progress: the SSM parameter holding how far the current request has got.
        provider: the Provider framework (its functions, roles and waiter state machine).
        resource: the custom resource.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        code_dir: str,
        topic_arn: str,
        trigger_name: str,
        branches: Sequence[str],
        log_retention_days: int,
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
        self.progress = ssm.StringParameter(
            self,
            "Progress",
            description="How far the CodeCommit notifier has got putting its trigger on every repository",
            string_value="{}",
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Puts the Slack notifier's trigger on every repository, in batches",
        )
        grant_own_log_streams(self.role, log_group)
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ManageTriggers",
                actions=["codecommit:GetRepositoryTriggers", "codecommit:PutRepositoryTriggers"],
                resources=[any_repository],
            )
        )
        acknowledge_wildcard(
            self.role,
            any_repository,
            'repositories: "*" puts our trigger on every repository of this account and region; only '
            "the two trigger actions are granted, and the function changes nothing but its own trigger.",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ListRepositories", actions=["codecommit:ListRepositories"], resources=["*"]
            )
        )
        acknowledge_wildcard(
            self.role,
            "*",
            "codecommit:ListRepositories supports no resource-level permissions, so its resource must be *. "
            "It lists repository names only.",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="KeepProgress",
                actions=["ssm:GetParameter", "ssm:PutParameter"],
                resources=[self.progress.parameter_arn],
            )
        )
        code = lambda_.Code.from_asset(code_dir, exclude=["__pycache__"])
        common = {
            "runtime": RUNTIME,
            "architecture": ARCHITECTURE,
            "code": code,
            "role": self.role,
            "memory_size": 128,
            "log_group": log_group,
            "environment": {"PROGRESS_PARAMETER": self.progress.parameter_name},
        }
        self.on_event = lambda_.Function(
            self,
            "OnEvent",
            description="Custom resource (every repository): names the resource; the polls do the work",
            handler="all_repositories.on_event",
            timeout=ON_EVENT_TIMEOUT,
            **common,  # type: ignore[arg-type]
        )
        self.is_complete = lambda_.Function(
            self,
            "IsComplete",
            description="Custom resource (every repository): one batch of repositories per poll",
            handler="all_repositories.is_complete",
            timeout=IS_COMPLETE_TIMEOUT,
            **common,  # type: ignore[arg-type]
        )
        framework_logs = logs.LogGroup(
            self,
            "FrameworkLogGroup",
            retention=log_retention(log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        # Step Functions delivers its log through CloudWatch Logs' vended logs; a name under
        # /aws/vendedlogs/ keeps the account's log resource policy from growing with each group.
        waiter_logs = logs.LogGroup(
            self,
            "WaiterLogGroup",
            log_group_name=f"/aws/vendedlogs/states/{stack.stack_name}-every-repository-waiter",
            retention=log_retention(log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.on_event,
            is_complete_handler=self.is_complete,
            query_interval=QUERY_INTERVAL,
            total_timeout=TOTAL_TIMEOUT,
            log_group=framework_logs,
            disable_waiter_state_machine_logging=False,
            waiter_state_machine_log_options=cr.LogOptions(
                destination=waiter_logs, include_execution_data=False, level=sfn.LogLevel.ALL
            ),
        )
        _acknowledge_framework(self.provider, [self.on_event, self.is_complete])
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=self.provider.service_token,
            resource_type=RESOURCE_TYPE,
            service_timeout=SERVICE_TIMEOUT,
            properties={
                "RepositoryName": "*",
                "TriggerName": trigger_name,
                "DestinationArn": topic_arn,
                "Branches": list(branches),
                "Events": ["all"],
                "CustomData": "",
            },
        )


def _acknowledge_framework(provider: cr.Provider, handlers: Sequence[lambda_.IFunction]) -> None:
    """What cdk-nag finds in the Provider framework: CDK writes these parts, not us."""
    Validations.of(provider).acknowledge(
        Acknowledgment(
            id=f"AwsSolutions::AwsSolutions-IAM4[Policy::{MANAGED_BASIC_EXECUTION}]",
            reason="The Provider framework's three functions use AWSLambdaBasicExecutionRole (CloudWatch "
            "Logs only), which CDK attaches to the roles it creates for them.",
        )
    )
    framework = [provider.node.find_child(name) for name in ("framework-isComplete", "framework-onTimeout")]
    for function in [*handlers, *framework]:
        acknowledge_wildcard(
            provider,
            f"{function.function_arn}:*",  # type: ignore[attr-defined]
            "CDK grants the framework's functions and its waiter state machine lambda:InvokeFunction "
            "on a function and its versions (<arn>:*); each grant names one function of this construct.",
        )
    waiter = provider.node.find_child("waiter-state-machine")
    acknowledge_wildcard(
        waiter,
        "*",
        "CloudWatch Logs' log-delivery actions (logs:CreateLogDelivery and the like) support no "
        "resource-level permissions; CDK grants them so the waiter writes its execution log.",
    )
    acknowledge(
        waiter,
        "AwsSolutions-SF2",
        "The waiter only calls one poll function on a timer; its execution log (level ALL) and the "
        "functions' own logs show every step, so X-Ray tracing would add nothing.",
    )
