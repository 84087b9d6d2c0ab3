"""The state table: what the notifier remembers between invocations (see handler/state/).

One DynamoDB table holds every kind of state under its own key prefix (last-seen ref heads,
delivery marks). Its shape is a contract with :mod:`handler.state.dynamodb`:

* partition key ``pk`` (String), no sort key, no indexes;
* TTL on ``expires_at`` (Number, epoch seconds): marks and heads remove themselves;
* on-demand billing: a few small reads and writes per push, nothing to size;
* point-in-time recovery on, encrypted with the AWS-managed key (``aws/dynamodb``).

It is a plain ``AWS::DynamoDB::Table`` (``Table``, not ``TableV2``, whose global-table resource
brings replica settings a single-region cache does not use). Everything in it can be relearnt
(the next push of each branch records its head again), so ``cdk destroy`` deletes it and nothing
protects it from deletion; the README's "Remove" section says so.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

PARTITION_KEY = "pk"
TTL_ATTRIBUTE = "expires_at"
#: Exactly the calls handler/state/dynamodb.py makes; no Query, Scan, UpdateItem or batch calls.
ITEM_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem")


class StateTable(Construct):
    """The notifier's state table.

    Attributes:
        table: the DynamoDB table; its name becomes the function's ``STATE_TABLE_NAME``.
    """

    def __init__(self, scope: Construct, id_: str) -> None:
        super().__init__(scope, id_)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=TTL_ATTRIBUTE,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            deletion_protection=False,
            removal_policy=RemovalPolicy.DESTROY,
        )

    def grant_item_access(self, role: iam.IRole, key_prefixes: Sequence[str] = ()) -> None:
        """Let ``role`` read, write and delete single items of this table, and nothing more; with
        ``key_prefixes``, only items whose key starts with one of them (``dynamodb:LeadingKeys``)."""
        condition = (
            {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{prefix}*" for prefix in key_prefixes]}}
            if key_prefixes
            else None
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadWriteStateItems",
                actions=list(ITEM_ACTIONS),
                resources=[self.table.table_arn],
                conditions=condition,
            )
        )
