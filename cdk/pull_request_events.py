"""Pull-request, comment and approval events: an EventBridge rule that sends them to the notifier.

CodeCommit publishes these to EventBridge only (repository triggers carry pushes). The rule
matches ``source: aws.codecommit``, the three detail types below and the watched repositories'
ARNs (any repository's, with ``repositories: "*"``), and **targets the function directly**, not
the existing topic, because:

* the topic is encrypted with a customer-managed key whose policy admits CodeCommit only; an
  EventBridge → topic route would need ``events.amazonaws.com`` added to that key and topic
  policy, widening both, for no gain;
* a direct target is one hop fewer, and EventBridge invokes Lambda asynchronously, so the
  function's own retries, on-failure queue and alarms apply unchanged; events EventBridge cannot
  deliver at all go to the same dead-letter queue.

The function may read pull requests, comments and approval states of the watched repositories
and nothing else (``ReadPullRequests``); with ``user_map_parameter`` it may also read that one
SSM parameter.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk.config import StackConfigError
from handler.aws.models import PULL_REQUEST_READS
from handler.errors import ConfigurationError
from handler.pull_requests.settings import PullRequestSettings
from handler.sources.eventbridge import EVENTBRIDGE_SOURCE, HANDLED_DETAIL_TYPES

#: Every CodeCommit read the pull-request pipeline makes (handler/enrich/pull_request_reader.py).
PULL_REQUEST_ACTIONS = tuple(f"codecommit:{operation}" for operation in PULL_REQUEST_READS)
#: Context key → the function's environment variable.
CONTEXT_SETTINGS = {
    "user_map": "USER_MAP",
    "user_map_file": "USER_MAP_FILE",
    "user_map_parameter": "USER_MAP_PARAMETER",
    "review_commands": "REVIEW_COMMANDS",
    "pull_request_events": "PULL_REQUEST_EVENTS",
}
MAX_ENVIRONMENT_BYTES = 4_096


@dataclass(frozen=True)
class PullRequestConfig:
    """The pull-request keys of the CDK context, validated with the handler's own parsers.

    Attributes:
        enabled: ``pull_request_notifications`` (default true): whether the rule exists.
        environment: the function's variables for the keys that were set.
        user_map_parameter: the SSM parameter holding ``USER_MAP``, if any.
    """

    enabled: bool = True
    environment: dict[str, str] = field(default_factory=dict)
    user_map_parameter: str | None = None

    @classmethod
    def from_context(cls, get: Callable[[str], Any]) -> PullRequestConfig:
        """Read and check; raise :class:`StackConfigError` naming the key."""
        enabled = str(get("pull_request_notifications")).lower() not in ("false", "0", "no", "off")
        environment: dict[str, str] = {}
        for key, variable in CONTEXT_SETTINGS.items():
            value = get(key)
            if value not in (None, ""):
                environment[variable] = value if isinstance(value, str) else json.dumps(value)
        try:
            PullRequestSettings.from_environ(
                {k: v for k, v in environment.items() if k not in ("USER_MAP_FILE", "USER_MAP_PARAMETER")}
            )
        except ConfigurationError as error:
            raise StackConfigError(f"invalid CDK context (cdk.json or -c): {error}") from error
        if len(environment.get("USER_MAP", "").encode()) > MAX_ENVIRONMENT_BYTES // 2:
            raise StackConfigError(
                "invalid CDK context: user_map is too big for Lambda's 4 KB environment; put it in an SSM "
                "parameter (user_map_parameter) or a file in handler/ (user_map_file)"
            )
        parameter = environment.get("USER_MAP_PARAMETER")
        if parameter is not None and not parameter.startswith("/"):
            raise StackConfigError(
                "invalid CDK context: user_map_parameter must be a parameter name like /team/users"
            )
        return cls(enabled=enabled, environment=environment, user_map_parameter=parameter)


class PullRequestEvents(Construct):
    """The rule, its target and the function's extra permissions and settings.

    Attributes:
        rule: the EventBridge rule.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        repository_arns: Sequence[str],
        function: lambda_.Function,
        role: iam.Role,
        dead_letter_queue: sqs.IQueue,
        config: PullRequestConfig,
        watch_all: bool = False,
    ) -> None:
        super().__init__(scope, id_)
        self.rule = events.Rule(
            self,
            "Rule",
            description="CodeCommit pull requests, comments and approvals of the watched repositories",
            event_pattern=events.EventPattern(
                source=[EVENTBRIDGE_SOURCE],
                detail_type=list(HANDLED_DETAIL_TYPES),
                # Every repository: no resources key (the default bus carries this account's events only).
                resources=None if watch_all else list(repository_arns),
            ),
        )
        self.rule.add_target(
            targets.LambdaFunction(
                function,
                dead_letter_queue=dead_letter_queue,
                retry_attempts=4,
                max_event_age=Duration.hours(6),
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadPullRequests", actions=list(PULL_REQUEST_ACTIONS), resources=list(repository_arns)
            )
        )
        if config.user_map_parameter:
            role.add_to_policy(
                iam.PolicyStatement(
                    sid="ReadUserMapParameter",
                    actions=["ssm:GetParameter"],
                    resources=[
                        Stack.of(self).format_arn(
                            service="ssm",
                            resource="parameter",
                            resource_name=config.user_map_parameter.lstrip("/"),
                            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
                        )
                    ],
                )
            )
        for variable, value in config.environment.items():
            function.add_environment(variable, value)
