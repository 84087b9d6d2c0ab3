"""The stack: repositories → triggers → encrypted topic → notifier function (+ state table) → Slack.

The stack composes the constructs and owns the wiring between them: the subscription, the
repository ARNs each policy is scoped to, the secret and the outputs. Each cdk-nag finding the
design accepts is acknowledged where it arises, with its reason (see cdk/nag.py).
"""

from __future__ import annotations

from aws_cdk import ArnFormat, CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from cdk.config import NotifierConfig
from cdk.function import NotifierFunction
from cdk.nag import acknowledge, acknowledge_wildcard
from cdk.pull_request_events import PullRequestConfig, PullRequestEvents
from cdk.reminders import ReviewReminderSchedule
from cdk.state_table import StateTable
from cdk.topic import NotificationTopic
from cdk.triggers import RepositoryTriggers, all_repositories_trigger_name, trigger_name_for


class CodeCommitSlackNotifierStack(Stack):
    """Everything a CodeCommit → Slack notifier needs, from one ``cdk deploy``.

    Attributes:
        topic: the encrypted topic and its key.
        notifier: the function, its queue, alarms and log group.
        triggers: the trigger manager, one custom resource per watched repository.
        state: the table the function keeps its state in (``STATE_TABLE_NAME``).
        pull_request_events: the EventBridge rule for pull requests and comments (None if turned off).
        review_reminders: the review-reminder schedule (None unless ``review_reminders`` is set).
        created_repository: the repository the stack created, if asked to.
        secret: the webhook secret (imported, or created empty).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: NotifierConfig, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        any_repository = self.format_arn(service="codecommit", resource="*")
        repository_arns = (
            [any_repository]
            if config.watch_all
            else [
                self.format_arn(service="codecommit", resource=name) for name in config.watched_repositories
            ]
        )
        trigger_name = (
            all_repositories_trigger_name(config.trigger_name, self.stack_name)
            if config.watch_all
            else trigger_name_for(config.trigger_name, self.stack_name)
        )

        self.topic = NotificationTopic(self, "Notifications", repository_arns=repository_arns)
        self.secret = self._webhook_secret(config)
        secret_id, secret_resource = self._secret_reference(config)
        self.notifier = NotifierFunction(
            self,
            "Notifier",
            repository_arns=repository_arns,
            secret_id=secret_id,
            secret_resource=secret_resource,
            secret_key_arn=config.webhook_secret_kms_key_arn,
            environment=config.handler_environment,
            log_retention_days=config.log_retention_days,
            timeout_seconds=config.function_timeout_seconds,
            reserved_concurrency=config.reserved_concurrency,
            alarm_topic_arn=config.alarm_topic_arn,
        )
        if config.watch_all:
            acknowledge_wildcard(
                self.notifier.role,
                any_repository,
                'repositories: "*" watches every repository of this account and region, those created '
                "after the deploy too; only the notifier's read actions are granted on them.",
            )
        self.topic.topic.add_subscription(subscriptions.LambdaSubscription(self.notifier.function))
        self.state = StateTable(self, "State")
        self.notifier.function.add_environment("STATE_TABLE_NAME", self.state.table.table_name)
        self.state.grant_item_access(self.notifier.role)
        pull_requests = PullRequestConfig.from_context(self.node.try_get_context)
        self.pull_request_events = None
        if pull_requests.enabled:  # pull requests, comments, approvals: EventBridge → the function
            self.pull_request_events = PullRequestEvents(
                self,
                "PullRequestEvents",
                repository_arns=repository_arns,
                function=self.notifier.function,
                role=self.notifier.role,
                dead_letter_queue=self.notifier.dead_letter_queue,
                config=pull_requests,
                watch_all=config.watch_all,
            )
        reminders = config.review_reminders
        self.review_reminders = None
        if reminders is not None:  # the digest of pull requests waiting for review: Scheduler → the function
            self.review_reminders = ReviewReminderSchedule(
                self,
                "ReviewReminders",
                reminders=reminders,
                function=self.notifier.function,
                function_role=self.notifier.role,
                dead_letter_queue=self.notifier.dead_letter_queue,
                repository_names=config.watched_repositories,
                repository_arns=repository_arns,
            )

        self.created_repository = None
        if config.create_repository:
            self.created_repository = codecommit.Repository(
                self,
                "Repository",
                repository_name=config.create_repository,
                description="Created by the CodeCommit -> Slack notifier stack",
            )
            # Removing the notifier must never remove anyone's code.
            self.created_repository.apply_removal_policy(RemovalPolicy.RETAIN)
        # Every watched repository, the created one too, gets our trigger from the same custom
        # resource, so destroying the stack removes it even from the repository it keeps.
        self.triggers = RepositoryTriggers(
            self,
            "ExistingRepositoryTriggers",
            repository_names=config.watched_repositories,
            topic_arn=self.topic.topic.topic_arn,
            trigger_name=trigger_name,
            branches=config.branches,
            log_retention_days=config.log_retention_days,
            watch_all=config.watch_all,
        )
        for resource in self.triggers.resources.values():
            resource.node.add_dependency(self.topic)
            if self.created_repository is not None:
                resource.node.add_dependency(self.created_repository)

        self._outputs(config)

    def _webhook_secret(self, config: NotifierConfig) -> secretsmanager.ISecret:
        name = config.webhook_secret
        if name is None:
            secret = secretsmanager.Secret(
                self,
                "WebhookSecret",
                description="Slack incoming-webhook URL for the CodeCommit notifier; put the URL in it",
            )
            acknowledge(
                secret,
                "AwsSolutions-SMG4",
                "The secret holds a Slack webhook URL, which only Slack can reissue; rotate it by "
                "putting the new URL in the secret (the function re-reads it after a refusal).",
            )
            return secret
        if name.startswith("arn:"):
            return secretsmanager.Secret.from_secret_complete_arn(self, "WebhookSecret", name)
        return secretsmanager.Secret.from_secret_name_v2(self, "WebhookSecret", name)

    def _secret_reference(self, config: NotifierConfig) -> tuple[str, str]:
        """What the function is told (``SLACK_WEBHOOK_SECRET_ARN``) and what its policy names.

        A secret imported by name has an ARN ending in a random ``-XXXXXX`` suffix that only
        Secrets Manager knows, so the policy names ``<name>-??????`` and the function asks by name.
        """
        name = config.webhook_secret
        if name is None or name.startswith("arn:"):
            return self.secret.secret_arn, self.secret.secret_arn
        arn = self.format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        return name, f"{arn}-??????"

    def _outputs(self, config: NotifierConfig) -> None:
        CfnOutput(
            self,
            "TopicArn",
            value=self.topic.topic.topic_arn,
            description="SNS topic the repository triggers publish to",
        )
        CfnOutput(
            self,
            "FunctionName",
            value=self.notifier.function.function_name,
            description="The notifier function (logs, test invokes)",
        )
        CfnOutput(
            self,
            "DeadLetterQueueUrl",
            value=self.notifier.dead_letter_queue.queue_url,
            description="Undelivered notifications wait here; see README 'Redrive'",
        )
        CfnOutput(
            self,
            "WebhookSecretName",
            value=self.secret.secret_name,
            description="Secrets Manager secret holding the Slack webhook URL",
        )
        if config.webhook_secret is None:
            CfnOutput(
                self,
                "PutWebhookUrlCommand",
                description="Run once, with your webhook URL, before the first push",
                value=(
                    f"aws secretsmanager put-secret-value --region {self.region} --secret-id "
                    f"{self.secret.secret_arn} --secret-string 'https://hooks.slack.com/services/...'"
                ),
            )
