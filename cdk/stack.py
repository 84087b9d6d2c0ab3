"""The stack: repositories → triggers → encrypted topic → notifier function (+ state table) → Slack.

The stack composes the constructs and owns the wiring between them: the subscription, the
repository ARNs each policy is scoped to, the secret and the outputs. Each cdk-nag finding the
design accepts is acknowledged where it arises, with its reason (see cdk/nag.py).
"""

from __future__ import annotations

from aws_cdk import Annotations, ArnFormat, CfnOutput, RemovalPolicy, SecretValue, Stack
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from cdk.chat import ChatConfig, ChatFrontDoor
from cdk.config import NotifierConfig
from cdk.function import NotifierFunction
from cdk.gitlab import GitLabWebhook, gitlab_enabled
from cdk.nag import acknowledge, acknowledge_wildcard
from cdk.observability import DEFAULT_NAMESPACE, Observability, WatchedQueue
from cdk.pipelines import PipelineEvents, pipelines_from_context
from cdk.pull_request_events import PullRequestConfig, PullRequestEvents
from cdk.reminders import ReviewReminderSchedule
from cdk.state_table import StateTable
from cdk.topic import NotificationTopic
from cdk.triggers import RepositoryTriggers, all_repositories_trigger_name, trigger_name_for
from handler.deliver.webhook_url import PLACEHOLDER_SECRET_STRING


class CodeCommitSlackNotifierStack(Stack):
    """Everything a CodeCommit → Slack notifier needs, from one ``cdk deploy``.

    Attributes:
        topic: the encrypted topic and its key.
        notifier: the function, its queue, alarms and log group.
        triggers: the trigger manager, one custom resource per watched repository.
        state: the table the function keeps its state in (``STATE_TABLE_NAME``).
        pull_request_events: the EventBridge rule for pull requests and comments (None if turned off).
        gitlab: GitLab's webhook front door (None unless context ``gitlab`` is set).
        chat: the Slack app's front door (None unless the ``chat`` context is set; cdk/chat.py).
        pipeline_events: the rules for the pipelines in context ``pipelines`` (None without any);
            the chat construct calls its ``grant_actor(actor_role)``.
        review_reminders: the review-reminder schedule (None unless ``review_reminders`` is set).
        created_repository: the repository the stack created, if asked to.
        secret: the webhook secret (imported, or created holding a placeholder).
        observability: the dashboard and the alarms on the functions' metrics.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: NotifierConfig, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        for index, warning in enumerate(config.warnings):
            Annotations.of(self).add_warning_v2(f"codecommit-notifier:identity:{index}", warning)
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

        self.pipeline_events = None
        pipelines = pipelines_from_context(self.node.try_get_context)
        if pipelines:  # pipeline runs, approval gates and builds: EventBridge → the function
            self.pipeline_events = PipelineEvents(
                self,
                "PipelineEvents",
                pipelines=pipelines,
                repository_arns=repository_arns,
                function=self.notifier.function,
                role=self.notifier.role,
                dead_letter_queue=self.notifier.dead_letter_queue,
            )
        self._front_doors(config, repository_arns, secret_id, secret_resource, pull_requests)

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
            alarm_topic_arn=config.alarm_topic_arn,
        )
        for resource in self.triggers.resources.values():
            resource.node.add_dependency(self.topic)
            if self.created_repository is not None:
                resource.node.add_dependency(self.created_repository)

        self.observability = Observability(
            self,
            "Observability",
            functions=self._watched_functions(),
            dead_letter_queues=self._watched_queues(),
            namespace=config.handler_environment.get("METRICS_NAMESPACE", DEFAULT_NAMESPACE),
            alarm_topic_arn=config.alarm_topic_arn,
        )
        self._outputs(config)

    def _front_doors(
        self,
        config: NotifierConfig,
        repository_arns: list[str],
        secret_id: str,
        secret_resource: str,
        pull_requests: PullRequestConfig,
    ) -> None:
        """The HTTP front doors, each off unless its context is set: GitLab's webhook (``gitlab``)
        and the Slack app's (``chat``), whose actor role also gets the pipelines' actions."""
        any_repository = self.format_arn(service="codecommit", resource="*")
        self.gitlab = None
        if gitlab_enabled(self.node.try_get_context("gitlab")):  # GitLab's webhook → verify → the function
            self.gitlab = GitLabWebhook(
                self,
                "GitLabWebhook",
                notifier=self.notifier.function,
                secret_id=secret_id,
                secret_resource=secret_resource,
                secret_key_arn=config.webhook_secret_kms_key_arn,
                secret_name=self.secret.secret_name,
                log_retention_days=config.log_retention_days,
            )
            api_url = self.node.try_get_context("gitlab_api_url")
            if api_url:
                self.notifier.function.add_environment("GITLAB_API_URL", str(api_url))
        self.chat = None
        chat = ChatConfig.from_context(self.node.try_get_context)
        if chat.enabled:  # the Slack app's front door (docs/chat.md)
            self.chat = ChatFrontDoor(
                self,
                "Chat",
                repository_arns=repository_arns,
                watched="*" if config.watch_all else ",".join(config.watched_repositories),
                secret_id=secret_id,
                secret_resource=secret_resource,
                secret_key_arn=config.webhook_secret_kms_key_arn,
                state=self.state,
                environment={**config.handler_environment, **_chat_people(pull_requests.environment)},
                log_retention_days=config.log_retention_days,
                config=chat,
            )
            if self.pipeline_events is not None:  # deploy, rollback and approval gates, as the person
                self.pipeline_events.grant_actor(self.chat.actor_role)
            if config.watch_all:
                acknowledge_wildcard(
                    self.chat.actor_role,
                    any_repository,
                    'repositories: "*" watches every repository; the actor role may take the review '
                    "actions on any of them, as the person, and the function checks each click first.",
                )

    def _watched_functions(self) -> list[tuple[str, lambda_.IFunction]]:
        """The functions on the dashboard: those that handle events at run time (the notifier, and
        the chat and GitLab front doors where they are on), not the custom resources that run only
        at deploy time."""
        functions: list[tuple[str, lambda_.IFunction]] = [("notifier", self.notifier.function)]
        if self.chat is not None:
            functions.append(("chat", self.chat.function))
        if self.gitlab is not None:
            functions.append(("gitlab", self.gitlab.function))
        if self.triggers.new_repository_rule is not None:
            functions.append(("new repositories", self.triggers.function))
        return functions

    def _watched_queues(self) -> list[WatchedQueue]:
        queues = [WatchedQueue("notifier", self.notifier.dead_letter_queue, self.notifier.dead_letter_alarm)]
        if self.chat is not None:
            queues.append(WatchedQueue("chat", self.chat.dead_letter_queue))
        if self.triggers.new_repository_dead_letter_queue is not None:
            queues.append(
                WatchedQueue(
                    "new repositories",
                    self.triggers.new_repository_dead_letter_queue,
                    self.triggers.new_repository_alarm,
                )
            )
        return queues

    def _webhook_secret(self, config: NotifierConfig) -> secretsmanager.ISecret:
        name = config.webhook_secret
        if name is None:
            # Never a generated value: a random password reads as a malformed URL. The function
            # recognises this placeholder and says which command sets the URL (issue 17 item 10).
            secret = secretsmanager.Secret(
                self,
                "WebhookSecret",
                description="Slack incoming-webhook URL for the CodeCommit notifier; put the URL in it",
                secret_string_value=SecretValue.unsafe_plain_text(PLACEHOLDER_SECRET_STRING),
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
        if self.triggers.every_repository is not None:
            CfnOutput(
                self,
                "RepositoriesWithoutTrigger",
                value=self.triggers.every_repository.resource.get_att_string("Refused"),
                description="Repositories that refused our trigger: none, or how many and which",
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


def _chat_people(environment: dict[str, str]) -> dict[str, str]:
    """The pull-request settings the chat function needs: who is who (``USER_MAP``, or the file).

    ``USER_MAP_PARAMETER`` is left out: the chat function's role reads no SSM parameter.
    """
    return {k: v for k, v in environment.items() if k in ("USER_MAP", "USER_MAP_FILE")}
