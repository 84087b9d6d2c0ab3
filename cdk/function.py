"""The notifier function with everything that keeps its events safe and visible.

* least-privilege role: CloudWatch Logs on its own log group, the CodeCommit reads the notifier
  makes (:data:`CODECOMMIT_READS`) on the watched repositories, ``secretsmanager:GetSecretValue`` on
  the one secret (and ``kms:Decrypt`` only if that secret uses a customer-managed key); the
  stack adds item access to its state table (cdk/state_table.py);
* async invocation: 2 retries within 6 hours, then the event goes to an encrypted SQS queue;
* alarms on function errors and on any message in that queue, optionally sent to an ops topic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from cdk.bundling import notifier_code
from cdk.config import LOG_RETENTION
from cdk.nag import acknowledge_wildcard
from cdk.queues import dead_letter_queue
from handler.aws.models import PUSH_READS

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
HANDLER = "handler.app.lambda_handler"
#: Every CodeCommit call the notifier's reader makes, and nothing else (tests/test_stack.py checks
#: this list against handler/enrich/reader.py): a push's commit and diffs, and for whole pushes the
#: commits it added (BatchGetCommits), merge bases (GetMergeOptions), where a branch points
#: (GetBranch), the default branch (GetRepository) and an annotated tag's commit (GetFolder). The
#: same list trims the function's botocore data (handler/aws/models.py).
CODECOMMIT_READS = PUSH_READS
ASYNC_RETRY_ATTEMPTS = 2
MAX_EVENT_AGE = Duration.hours(6)


class NotifierFunction(Construct):
    """The Lambda function subscribed to the topic.

    Attributes:
        function: the Lambda function.
        role: its execution role.
        log_group: its log group, with retention.
        dead_letter_queue: where events go when every attempt failed (SSE-SQS, TLS only).
        error_alarm: fires when an invocation fails.
        dead_letter_alarm: fires when an event reaches the dead-letter queue.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        repository_arns: Sequence[str],
        secret_id: str,
        secret_resource: str,
        secret_key_arn: str | None,
        environment: Mapping[str, str],
        log_retention_days: int,
        timeout_seconds: int,
        reserved_concurrency: int | None,
        alarm_topic_arn: str | None,
    ) -> None:
        super().__init__(scope, id_)
        self.dead_letter_queue = dead_letter_queue(
            self, "DeadLetterQueue", holds="the function's asynchronous invocations"
        )
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            retention=log_retention(log_retention_days),
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="CodeCommit -> Slack notifier: read commits, read the webhook secret, write logs",
        )
        grant_own_log_streams(self.role, self.log_group)
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadWatchedRepositories",
                actions=[f"codecommit:{operation}" for operation in CODECOMMIT_READS],
                resources=list(repository_arns),
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadWebhookSecret",
                actions=["secretsmanager:GetSecretValue"],
                resources=[secret_resource],
            )
        )
        if secret_resource.endswith("-??????"):
            acknowledge_wildcard(
                self.role,
                secret_resource,
                "A secret imported by name has a random six-character suffix only Secrets Manager knows.",
            )
        if secret_key_arn:
            kms.Key.from_key_arn(self, "SecretKey", secret_key_arn).grant_decrypt(self.role)

        self.function = lambda_.Function(
            self,
            "Function",
            description="Posts a Slack message for every push to the watched CodeCommit repositories",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=HANDLER,
            code=notifier_code(RUNTIME, ARCHITECTURE),
            role=self.role,
            memory_size=256,
            timeout=Duration.seconds(timeout_seconds),
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,  # one searchable record per line (handler/logs.py)
            reserved_concurrent_executions=reserved_concurrency,
            environment={"SLACK_WEBHOOK_SECRET_ARN": secret_id, **environment},
        )
        self.function.configure_async_invoke(
            retry_attempts=ASYNC_RETRY_ATTEMPTS,
            max_event_age=MAX_EVENT_AGE,
            on_failure=destinations.SqsDestination(self.dead_letter_queue),
        )

        self.error_alarm = self._alarm_on_any(
            "ErrorAlarm",
            self.function.metric_errors(period=Duration.minutes(5)),
            "The Slack notifier failed an invocation; Lambda will retry it",
        )
        self.dead_letter_alarm = self._alarm_on_any(
            "DeadLetterAlarm",
            self.dead_letter_queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(5)),
            "A push notification was not delivered; see docs/deploy.md, 'Redrive the dead-letter queue'",
        )
        if alarm_topic_arn:
            ops_topic = sns.Topic.from_topic_arn(self, "OpsTopic", alarm_topic_arn)
            for alarm in (self.error_alarm, self.dead_letter_alarm):
                alarm.add_alarm_action(cloudwatch_actions.SnsAction(ops_topic))

    def _alarm_on_any(self, id_: str, metric: cloudwatch.Metric, description: str) -> cloudwatch.Alarm:
        """An alarm that fires as soon as ``metric`` is 1 or more in a five-minute period."""
        return metric.create_alarm(
            self,
            id_,
            alarm_description=description,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )


def grant_own_log_streams(role: iam.Role, log_group: logs.LogGroup) -> None:
    """Let ``role`` write log streams in ``log_group`` and nowhere else (no managed policy)."""
    resource = f"{log_group.log_group_arn}:log-stream:*"
    role.add_to_policy(
        iam.PolicyStatement(
            sid="WriteOwnLogs", actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[resource]
        )
    )
    acknowledge_wildcard(
        role,
        resource,
        "Lambda names its log streams at run time; the grant is limited to the function's own log group.",
    )


def log_retention(days: int) -> logs.RetentionDays:
    """CDK's enum member for a number of days that config validation has already checked."""
    return getattr(logs.RetentionDays, LOG_RETENTION[days])  # type: ignore[no-any-return]
