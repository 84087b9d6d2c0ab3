"""GitLab's webhook front door: a function behind a Lambda function URL that verifies and hands over.

Off unless the context key ``gitlab`` is set (``-c gitlab=true``). Then the stack adds:

* a small function (``handler.gitlab.lambda_handler``, the notifier's own code) behind a function
  URL with ``AuthType NONE``: GitLab cannot sign AWS requests, so the request is authenticated by
  the function itself (``X-Gitlab-Token`` in constant time, and the Standard Webhooks signature
  when the secret holds a signing key) before anything else happens;
* its role: write its own logs, read the one secret (``gitlab-token``, ``gitlab-signing-key``),
  invoke the notifier function (asynchronously), nothing else;
* outputs: the URL, and the exact settings to paste into GitLab (which triggers to tick, where the
  secret token comes from).

The notifier keeps doing the work (its retries, dead-letter queue and alarms apply unchanged);
``gitlab_api_url`` (context) reaches it as ``GITLAB_API_URL``.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk.bundling import notifier_code
from cdk.function import ARCHITECTURE, RUNTIME, grant_own_log_streams, log_retention

HANDLER = "handler.gitlab.lambda_handler"
#: GitLab's webhook triggers the notifier reports, as GitLab's settings page names them.
TRIGGERS = ("Push events", "Tag push events", "Comments", "Merge request events", "Pipeline events")
#: GitLab times a webhook out after 10 s; the front door answers in well under one.
TIMEOUT = Duration.seconds(10)


class GitLabWebhook(Construct):
    """The GitLab front door.

    Attributes:
        function: the front-door function.
        role: its execution role.
        url: its function URL.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        notifier: lambda_.IFunction,
        secret_id: str,
        secret_resource: str,
        secret_key_arn: str | None,
        secret_name: str,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, id_)
        log_group = logs.LogGroup(
            self, "LogGroup", retention=log_retention(log_retention_days), removal_policy=RemovalPolicy.RETAIN
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="GitLab webhook front door: read the webhook secret, invoke the notifier, write logs",
        )
        grant_own_log_streams(self.role, log_group)
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadWebhookSecret",
                actions=["secretsmanager:GetSecretValue"],
                resources=[secret_resource],
            )
        )
        if secret_key_arn:
            kms.Key.from_key_arn(self, "SecretKey", secret_key_arn).grant_decrypt(self.role)
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="InvokeNotifier", actions=["lambda:InvokeFunction"], resources=[notifier.function_arn]
            )
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description="Verifies GitLab webhooks and hands them to the notifier",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=HANDLER,
            code=notifier_code(RUNTIME, ARCHITECTURE),
            role=self.role,
            memory_size=256,
            timeout=TIMEOUT,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            environment={
                "SLACK_WEBHOOK_SECRET_ARN": secret_id,
                "NOTIFIER_FUNCTION_NAME": notifier.function_name,
            },
        )
        self.url = self.function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.NONE)
        CfnOutput(
            scope,
            "GitLabWebhookUrl",
            value=self.url.url,
            description="GitLab: Settings > Webhooks > URL",
        )
        CfnOutput(
            scope,
            "GitLabWebhookSettings",
            description="What to set in GitLab's webhook form (project or group)",
            value=(
                "URL: the GitLabWebhookUrl output. Secret token: a long random value, also stored "
                f"under the key 'gitlab-token' of the JSON secret {secret_name} (and, for a signing "
                "token, 'gitlab-signing-key': the whsec_ value GitLab shows). Trigger: "
                + ", ".join(TRIGGERS)
                + ". Enable SSL verification."
            ),
        )


def gitlab_enabled(value: object) -> bool:
    """The ``gitlab`` context key: on for ``true`` (JSON or ``-c gitlab=true``), ``1`` or ``yes``."""
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "1", "yes"))
