"""The SNS topic CodeCommit's triggers publish to: KMS-encrypted, TLS-only, CodeCommit-only."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

CODECOMMIT = "codecommit.amazonaws.com"


class NotificationTopic(Construct):
    """A topic encrypted with its own customer-managed key.

    CodeCommit is the only service allowed to publish, and only for the watched repositories of
    this account: the topic policy's ``aws:SourceArn`` lists their ARNs and ``aws:SourceAccount``
    pins the account (confused-deputy protection). The key lets CodeCommit encrypt what it
    publishes, under the same account condition. ``enforce_ssl`` denies every non-TLS request.

    Attributes:
        key: the customer-managed KMS key (rotation on).
        topic: the SNS topic.
    """

    def __init__(self, scope: Construct, id_: str, *, repository_arns: Sequence[str]) -> None:
        super().__init__(scope, id_)
        account = Stack.of(self).account
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the CodeCommit -> Slack notifier's SNS topic",
            enable_key_rotation=True,
            # It protects only messages in flight; an orphaned key would cost money for nothing.
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCodeCommitToPublishEncrypted",
                principals=[iam.ServicePrincipal(CODECOMMIT)],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            )
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="CodeCommit pushes for the Slack notifier",
            master_key=self.key,
            enforce_ssl=True,
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowWatchedRepositoriesToPublish",
                principals=[iam.ServicePrincipal(CODECOMMIT)],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": list(repository_arns)},
                },
            )
        )
