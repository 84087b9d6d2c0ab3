"""The dead-letter queues of the stack: one recipe, so every one is encrypted, TLS-only and kept
14 days (long enough to fix a cause and redrive), and says why it has no dead-letter queue itself."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk.nag import acknowledge


def dead_letter_queue(scope: Construct, id_: str, *, holds: str) -> sqs.Queue:
    """A dead-letter queue under ``scope``.

    SSE-SQS rather than a KMS key: EventBridge and Lambda's on-failure destinations could not send
    to a queue under a customer key without a key grant of their own.

    Args:
        holds: what ends up in it, for cdk-nag's SQS3 acknowledgement ("the function's asynchronous
            invocations").
    """
    queue = sqs.Queue(
        scope,
        id_,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    acknowledge(
        queue,
        "AwsSolutions-SQS3",
        f"This queue is itself the dead-letter queue of {holds}; "
        "a dead-letter queue for it would never be read.",
    )
    return queue
