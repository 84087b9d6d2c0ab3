"""Review reminders: an EventBridge Scheduler schedule that sends the notifier the reminder event.

Made only when the context sets ``review_reminders`` (``docs/reminders.md``). The schedule
(``AWS::Scheduler::Schedule``, the L1 resource, so every property is visible here) runs
``schedule`` in ``timezone`` with no flexible window and invokes the notifier function with the
event :mod:`handler.sources.schedule` describes, through a role of its own that may invoke that
one function (no alias or version) and send to the notifier's dead-letter queue, nothing else.
Scheduler invokes Lambda asynchronously, so the function's own retries and on-failure queue apply
as for any event; Scheduler's retry policy covers the invoke itself (throttling, the function
being updated), and what it cannot deliver lands in the same dead-letter queue, whose alarm fires.

The function gets ``WATCHED_REPOSITORIES`` (what the queue reads) and may list the watched
repositories' pull requests and read their details and approvals
(:data:`REVIEW_QUEUE_ACTIONS`).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from handler.aws.models import REVIEW_QUEUE_READS
from handler.settings import ReviewReminders
from handler.sources import REMINDER_SOURCE
from handler.sources.schedule import REMINDER_VERSION

#: Every CodeCommit read the review queue makes (handler/actions/review_queue.py): its own list, and
#: the pull-request reads it shares with the pull-request pipeline.
REVIEW_QUEUE_ACTIONS = tuple(
    f"codecommit:{operation}"
    for operation in (
        *REVIEW_QUEUE_READS,
        "GetPullRequest",
        "GetPullRequestApprovalStates",
        "EvaluatePullRequestApprovalRules",
    )
)
#: Scheduler's retries of the invoke itself, and how long it keeps trying (the digest is daily news).
RETRY_ATTEMPTS = 3
MAX_EVENT_AGE_SECONDS = 3 * 3600


class ReviewReminderSchedule(Construct):
    """The schedule, its role, and the function's permissions and settings for the review queue.

    Attributes:
        schedule: the ``AWS::Scheduler::Schedule``.
        role: the role Scheduler assumes to invoke the function.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        reminders: ReviewReminders,
        function: lambda_.IFunction,
        function_role: iam.Role,
        dead_letter_queue: sqs.IQueue,
        repository_names: Sequence[str],
        repository_arns: Sequence[str],
    ) -> None:
        super().__init__(scope, id_)
        stack = Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            description="EventBridge Scheduler: invoke the notifier with the review-reminder event",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="InvokeNotifier", actions=["lambda:InvokeFunction"], resources=[function.function_arn]
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="SendUndeliveredToDeadLetterQueue",
                actions=["sqs:SendMessage"],
                resources=[dead_letter_queue.queue_arn],
            )
        )
        event = {
            "source": REMINDER_SOURCE,
            "version": REMINDER_VERSION,
            "account": stack.account,
            "region": stack.region,
            "partition": stack.partition,
            "scheduled_time": "<aws.scheduler.scheduled-time>",
            "execution_id": "<aws.scheduler.execution-id>",
        }
        self.schedule = scheduler.CfnSchedule(
            self,
            "Schedule",
            description="CodeCommit notifier: the digest of pull requests waiting for review",
            schedule_expression=reminders.schedule,
            schedule_expression_timezone=reminders.timezone,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            state="ENABLED",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=function.function_arn,
                role_arn=self.role.role_arn,
                input=stack.to_json_string(event),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=MAX_EVENT_AGE_SECONDS,
                    maximum_retry_attempts=RETRY_ATTEMPTS,
                ),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                    arn=dead_letter_queue.queue_arn
                ),
            ),
        )
        # The role's policy must exist before Scheduler validates the target with it.
        self.schedule.node.add_dependency(self.role)
        function_role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadReviewQueue", actions=list(REVIEW_QUEUE_ACTIONS), resources=list(repository_arns)
            )
        )
        if isinstance(function, lambda_.Function):
            function.add_environment("WATCHED_REPOSITORIES", ",".join(repository_names))
