"""The Slack app's front door (docs/chat.md): the chat function, its URL and the actor role.

Off unless the context key ``chat`` is set: ``"chat": {"team_id": "T0123ABCD"}`` (with, optionally,
``"permissions": {"merge": ["lead@example.com"]}``, which becomes ``CHAT_PERMISSIONS``). Then:

* the chat function (``handler.chat.lambda_handler``, the notifier's own code asset) with a
  function URL whose auth type is ``NONE``: Slack cannot sign AWS requests, so the URL is public
  and the Slack signature, checked before anything else, is the authentication;
* its own role: read the one secret, assume the actor role, invoke itself (the acknowledged work
  is finished in an asynchronous invocation), read and write its own items of the state table, and
  write its own logs. It never touches CodeCommit itself;
* the actor role, trusted only by the chat function's role (``sts:AssumeRole`` with
  ``sts:SetSourceIdentity``), allowed only the review actions on the watched repositories: what
  CodeCommit records as ``assumed-role/<actor role>/<person>``;
* outputs: the Request URL, the actor role's ARN, and the Slack app manifest filled in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk.bundling import notifier_code
from cdk.config import StackConfigError
from cdk.function import ARCHITECTURE, RUNTIME, grant_own_log_streams, log_retention
from cdk.nag import acknowledge_wildcard
from cdk.queues import dead_letter_queue
from cdk.slack_manifest import manifest
from cdk.state_table import StateTable
from handler.settings import parse_chat_permissions, team_id
from handler.state.chat_comments import PREFIX as CHAT_COMMENT_PREFIX
from handler.state.chat_comments import REQUEST_PREFIX

HANDLER = "handler.chat.lambda_handler"
#: What the actor role may do, and only on the watched repositories: read the pull request, its
#: approval state and rules, approve or revoke, merge three ways, comment.
REVIEW_ACTIONS = (
    "codecommit:GetPullRequest",
    "codecommit:EvaluatePullRequestApprovalRules",
    "codecommit:UpdatePullRequestApprovalState",
    "codecommit:MergePullRequestByFastForward",
    "codecommit:MergePullRequestBySquash",
    "codecommit:MergePullRequestByThreeWay",
    "codecommit:PostCommentForPullRequest",
    # ``prs``: the review queue, read as the person (handler/actions/review_queue.py)
    "codecommit:ListPullRequests",
    "codecommit:GetPullRequestApprovalStates",
    # ``deploy <pipeline> <branch or commit>``: the ref resolved to the commit the run pins
    "codecommit:GetBranch",
    "codecommit:GetCommit",
)
#: More memory is more CPU: the cold acknowledgement (``make bench``) is CPU-bound.
MEMORY_MB = 1024


@dataclass(frozen=True)
class ChatConfig:
    """The ``chat`` context key, checked with the handler's own parsers.

    Attributes:
        enabled: the key is set.
        environment: ``SLACK_TEAM_ID`` and ``CHAT_PERMISSIONS`` for the function.
    """

    enabled: bool = False
    environment: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_context(cls, get: Callable[[str], Any]) -> ChatConfig:
        """Read and check ``chat``; raise :class:`StackConfigError` saying what to write."""
        raw = get("chat")
        if raw in (None, "", False, "false"):
            return cls()
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raw = None
        example = '{"team_id": "T0123ABCD"}'
        if not isinstance(raw, dict) or not set(raw) <= {"team_id", "permissions"} or "team_id" not in raw:
            raise StackConfigError(f"invalid CDK context: chat must be an object like {example}")
        environment = {}
        try:
            environment["SLACK_TEAM_ID"] = team_id(str(raw["team_id"]))
            if "permissions" in raw:
                text = json.dumps(raw["permissions"])
                parse_chat_permissions(text)
                environment["CHAT_PERMISSIONS"] = text
        except ValueError as error:
            raise StackConfigError(f"invalid CDK context: chat {error}") from error
        return cls(enabled=True, environment=environment)


class ChatFrontDoor(Construct):
    """See the module docstring.

    Attributes:
        function: the chat function.
        role: its execution role.
        url: its function URL (the Slack app's Request URL).
        actor_role: the role actions run as.
        dead_letter_queue: handed-on work every attempt failed for.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        repository_arns: Sequence[str],
        watched: str,
        secret_id: str,
        secret_resource: str,
        secret_key_arn: str | None,
        state: StateTable,
        environment: Mapping[str, str],
        log_retention_days: int,
        config: ChatConfig,
    ) -> None:
        super().__init__(scope, id_)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="CodeCommit notifier chat: read the secret, assume the actor role, invoke itself",
        )
        log_group = logs.LogGroup(
            self, "LogGroup", retention=log_retention(log_retention_days), removal_policy=RemovalPolicy.RETAIN
        )
        grant_own_log_streams(self.role, log_group)
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadSecret", actions=["secretsmanager:GetSecretValue"], resources=[secret_resource]
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
        # Only the chat's own items: marks of comments made from threads, and request claims; never
        # the notifier's ledger, thread marks or reminder claims.
        state.grant_item_access(self.role, key_prefixes=(CHAT_COMMENT_PREFIX, REQUEST_PREFIX))

        self.actor_role = iam.Role(
            self,
            "ActorRole",
            assumed_by=iam.ArnPrincipal(self.role.role_arn),
            description="Chat actions run as this role, one session per person (its SourceIdentity)",
            max_session_duration=Duration.hours(1),
        )
        # AssumeRole with SourceIdentity needs sts:SetSourceIdentity in the trust policy too.
        self.actor_role.assume_role_policy.add_statements(  # type: ignore[union-attr]
            iam.PolicyStatement(
                actions=["sts:SetSourceIdentity"], principals=[iam.ArnPrincipal(self.role.role_arn)]
            )
        )
        self.actor_role.add_to_policy(
            iam.PolicyStatement(
                sid="ReviewActions", actions=list(REVIEW_ACTIONS), resources=list(repository_arns)
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ActAsThePerson",
                actions=["sts:AssumeRole", "sts:SetSourceIdentity"],
                resources=[self.actor_role.role_arn],
            )
        )

        self.dead_letter_queue = dead_letter_queue(
            self, "DeadLetterQueue", holds="the chat function's handed-on work"
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description="Slack app front door: verifies, acknowledges, acts as the person",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=HANDLER,
            code=notifier_code(RUNTIME, ARCHITECTURE),
            role=self.role,
            memory_size=MEMORY_MB,
            timeout=Duration.seconds(30),
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            environment={
                **environment,
                **config.environment,
                "SLACK_WEBHOOK_SECRET_ARN": secret_id,
                "STATE_TABLE_NAME": state.table.table_name,
                "CHAT_ACTOR_ROLE_ARN": self.actor_role.role_arn,
                "WATCHED_REPOSITORIES": watched,
            },
        )
        self.function.configure_async_invoke(
            retry_attempts=1,
            max_event_age=Duration.minutes(15),
            on_failure=destinations.SqsDestination(self.dead_letter_queue),
        )
        # Its own ARN in a policy of its own: in the role's default policy it would be a cycle.
        iam.Policy(
            self,
            "InvokeItself",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="HandOnWork",
                    actions=["lambda:InvokeFunction"],
                    resources=[self.function.function_arn],
                )
            ],
        )
        # Auth NONE: Slack cannot sign AWS requests, so the URL is public and the Slack signature,
        # checked before anything else (handler/inbound/slack.py), is the authentication.
        self.url = self.function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.NONE)

        CfnOutput(
            scope,
            "ChatRequestUrl",
            value=self.url.url,
            description="The Slack app's Request URL (docs/chat.md)",
        )
        CfnOutput(
            scope,
            "ChatActorRoleArn",
            value=self.actor_role.role_arn,
            description="Chat actions run as this role; name assumed-role/<its name>/* in approval pools",
        )
        CfnOutput(
            scope,
            "SlackAppManifest",
            value=json.dumps(manifest(self.url.url), separators=(",", ":")),
            description="Paste into https://api.slack.com/apps > Create New App > From a manifest",
        )
