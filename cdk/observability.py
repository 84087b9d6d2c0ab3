"""The numbers ops watch: a CloudWatch dashboard and the alarms that matter, for every function.

The functions write CloudWatch Embedded Metric Format lines (``handler/metrics.py``) into the
namespace the stack gives them in ``METRICS_NAMESPACE``; CloudWatch turns each line into metrics
with the dimension sets below. The dashboard shows them beside Lambda's own metrics for every
function the stack has (errors, throttles, duration, the age of queued asynchronous events) and
the depth of every dead-letter queue. ``docs/operations.md`` says what each widget means and what
to do when each alarm fires; ``docs/dashboard.py`` draws the layout from the synthesized template.

The construct takes the functions and queues as lists, so the chat and GitLab front doors join the
dashboard by being passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

#: What the functions use when ``METRICS_NAMESPACE`` is unset (the ``metrics_namespace`` context
#: key sets it; two notifier stacks in one account need two namespaces, or they add up each
#: other's numbers and fire each other's alarms).
DEFAULT_NAMESPACE = "CodeCommitNotifier"
PERIOD = Duration.minutes(5)
#: The lag alarm: p90 of event time → post above this for :data:`LAG_PERIODS` periods in a row.
LAG_THRESHOLD_SECONDS = 300
LAG_PERIODS = 3
#: Outcomes, one per event and destination (the lead's handler/metrics.py writes them).
OUTCOMES = ("Delivered", "Duplicate", "Late", "Filtered", "Dropped", "Raised")
#: The dashboard's grid is 24 units wide; three widgets a row.
WIDTH = 24
THIRD = 8
HEIGHT = 6


@dataclass(frozen=True)
class WatchedQueue:
    """A dead-letter queue on the dashboard.

    Attributes:
        name: what the dashboard calls it (``notifier``, ``new repositories``...).
        queue: the queue.
        alarm: its existing alarm, if it has one; else :class:`Observability` creates one.
    """

    name: str
    queue: sqs.IQueue
    alarm: cloudwatch.IAlarm | None = None


class Observability(Construct):
    """A dashboard over every function and dead-letter queue, and the alarms on them.

    Attributes:
        namespace: the metrics namespace the functions were given (``METRICS_NAMESPACE``).
        dashboard: the CloudWatch dashboard.
        raised_alarm: an event raised (Lambda retries it; it may end in a dead-letter queue).
        lag_alarm: posts reach the channel later and later.
        queue_alarms: one per dead-letter queue (existing ones included).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        functions: Sequence[tuple[str, lambda_.IFunction]],
        dead_letter_queues: Sequence[WatchedQueue],
        namespace: str = DEFAULT_NAMESPACE,
        alarm_topic_arn: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        stack = Stack.of(self)
        self.namespace = namespace
        for _, function in functions:
            if isinstance(function, lambda_.Function):
                function.add_environment("METRICS_NAMESPACE", self.namespace)

        ops_topic = sns.Topic.from_topic_arn(self, "OpsTopic", alarm_topic_arn) if alarm_topic_arn else None
        self.raised_alarm = self._alarm(
            "RaisedAlarm",
            self.metric("Raised"),
            threshold=1,
            periods=1,
            operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            description="An event raised: Lambda retries it, then it waits in a dead-letter queue. "
            "See docs/operations.md, 'Raised'.",
        )
        self.lag_alarm = self._alarm(
            "LagAlarm",
            self.metric("Lag", statistic="p90", unit=cloudwatch.Unit.SECONDS),
            threshold=LAG_THRESHOLD_SECONDS,
            periods=LAG_PERIODS,
            operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            description=f"Nine in ten posts reached the channel more than {LAG_THRESHOLD_SECONDS} s after "
            f"their event, {LAG_PERIODS} periods in a row. See docs/operations.md, 'Lag'.",
        )
        self.queue_alarms: list[cloudwatch.IAlarm] = []
        for watched in dead_letter_queues:
            alarm = watched.alarm or self._alarm(
                f"DeadLetterAlarm{_identifier(watched.name)}",
                watched.queue.metric_approximate_number_of_messages_visible(period=PERIOD),
                threshold=1,
                periods=1,
                operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                description=f"An event waits in the {watched.name} dead-letter queue. See "
                "docs/operations.md, 'Redrive'.",
            )
            self.queue_alarms.append(alarm)
        if ops_topic is not None:
            for own in (self.raised_alarm, self.lag_alarm):
                own.add_alarm_action(cloudwatch_actions.SnsAction(ops_topic))
            for watched, alarm in zip(dead_letter_queues, self.queue_alarms, strict=True):
                if watched.alarm is None and isinstance(alarm, cloudwatch.Alarm):
                    alarm.add_alarm_action(cloudwatch_actions.SnsAction(ops_topic))

        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            default_interval=Duration.hours(24),
        )
        self.dashboard.add_widgets(self._header())
        self.dashboard.add_widgets(*self._traffic())
        self.dashboard.add_widgets(*self._delivery())
        self.dashboard.add_widgets(*self._lag())
        self.dashboard.add_widgets(*self._health(dead_letter_queues))
        for name, function in functions:
            self.dashboard.add_widgets(*self._lambda(name, function))

        region = stack.region
        CfnOutput(
            stack, "DashboardName", value=self.dashboard.dashboard_name, description="CloudWatch dashboard"
        )
        CfnOutput(
            stack,
            "DashboardUrl",
            value=f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
            f"#dashboards:name={self.dashboard.dashboard_name}",
            description="The dashboard in the CloudWatch console (docs/operations.md says what it shows)",
        )

    def metric(
        self, name: str, *, statistic: str = "Sum", unit: cloudwatch.Unit = cloudwatch.Unit.COUNT
    ) -> cloudwatch.Metric:
        """One of the functions' metrics, as the aggregate (no dimensions)."""
        return cloudwatch.Metric(
            namespace=self.namespace, metric_name=name, statistic=statistic, unit=unit, period=PERIOD
        )

    def search(
        self, dimensions: Sequence[str], names: Sequence[str], statistic: str
    ) -> cloudwatch.MathExpression:
        """Every metric named one of ``names`` with exactly ``dimensions``: one line per value seen
        (CloudWatch labels each line with its dimension values)."""
        schema = ",".join([f'"{self.namespace}"', *dimensions])
        wanted = " OR ".join(f'MetricName="{name}"' for name in names)
        # A dynamic label: each line is named by its dimension values (and its metric's name
        # when several are searched), e.g. "team-payments Delivered".
        label = " ".join(
            [*(f"${{PROP('Dim.{dimension}')}}" for dimension in dimensions)]
            + (["${PROP('MetricName')}"] if len(names) > 1 else [])
        )
        return cloudwatch.MathExpression(
            expression=f"SEARCH('{{{schema}}} ({wanted})', '{statistic}', {int(PERIOD.to_seconds())})",
            label=label,
            period=PERIOD,
        )

    def _alarm(
        self,
        id_: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        periods: int,
        operator: cloudwatch.ComparisonOperator,
        description: str,
    ) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            id_,
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            comparison_operator=operator,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )

    def _header(self) -> cloudwatch.IWidget:
        return cloudwatch.TextWidget(
            markdown=(
                "# CodeCommit notifier\n"
                f"Events in, outcomes out, lag and health: the functions' metrics (`{self.namespace}`) "
                "and Lambda's. What each widget means, what to do when an alarm fires: `docs/operations.md`"
            ),
            width=WIDTH,
            height=2,
        )

    def _traffic(self) -> list[cloudwatch.IWidget]:
        return [
            cloudwatch.GraphWidget(
                title="Events received",
                left=[self.metric("EventsReceived").with_(label="all sources")],
                width=THIRD,
                height=HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title="Events by source and kind",
                left=[self.search(["Source", "Kind"], ["EventsReceived"], "Sum")],
                width=THIRD,
                height=HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title="Outcomes",
                left=[self.metric(name).with_(label=name.lower()) for name in OUTCOMES],
                stacked=True,
                width=THIRD,
                height=HEIGHT,
            ),
        ]

    def _delivery(self) -> list[cloudwatch.IWidget]:
        return [
            cloudwatch.GraphWidget(
                title="Outcomes by destination",
                left=[self.search(["Destination"], OUTCOMES, "Sum")],
                width=THIRD,
                height=HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title="Outcomes by source",
                left=[self.search(["Source"], OUTCOMES, "Sum")],
                width=THIRD,
                height=HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title="Delivery attempts and 429s",
                left=[
                    self.metric("DeliveryAttempts").with_(label="attempts"),
                    self.metric("RateLimited").with_(label="429 (rate limited)"),
                ],
                right=[self.search(["Destination"], ["RateLimited"], "Sum")],
                right_y_axis=cloudwatch.YAxisProps(label="429s by destination", show_units=False),
                width=THIRD,
                height=HEIGHT,
            ),
        ]

    def _lag(self) -> list[cloudwatch.IWidget]:
        seconds = cloudwatch.Unit.SECONDS
        return [
            cloudwatch.GraphWidget(
                title="Lag: event time to post (s)",
                left=[
                    self.metric("Lag", statistic=statistic, unit=seconds).with_(label=statistic)
                    for statistic in ("p50", "p90", "p99")
                ],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(value=LAG_THRESHOLD_SECONDS, label="lag alarm (p90)")
                ],
                width=THIRD,
                height=HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title="Lag p90 by source (s)",
                left=[self.search(["Source"], ["Lag"], "p90")],
                width=THIRD,
                height=HEIGHT,
            ),
            cloudwatch.GraphWidget(
                # Empty unless the function runs with METRICS_BY_REPOSITORY on (each repository
                # is a metric CloudWatch bills).
                title="Outcomes by repository (METRICS_BY_REPOSITORY)",
                left=[self.search(["Repository"], OUTCOMES, "Sum")],
                width=THIRD,
                height=HEIGHT,
            ),
        ]

    def _health(self, queues: Sequence[WatchedQueue]) -> list[cloudwatch.IWidget]:
        return [
            cloudwatch.GraphWidget(
                title="Cold starts by function",
                left=[self.search(["Function"], ["ColdStart"], "Sum")],
                width=THIRD,
                height=HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title="Dead-letter queues: messages waiting",
                left=[
                    watched.queue.metric_approximate_number_of_messages_visible(
                        period=PERIOD, statistic="Maximum"
                    ).with_(label=watched.name)
                    for watched in queues
                ],
                width=THIRD,
                height=HEIGHT,
            ),
            cloudwatch.AlarmStatusWidget(
                title="Alarms",
                alarms=[self.raised_alarm, self.lag_alarm, *self.queue_alarms],
                width=THIRD,
                height=HEIGHT,
            ),
        ]

    def _lambda(self, name: str, function: lambda_.IFunction) -> list[cloudwatch.IWidget]:
        return [
            cloudwatch.GraphWidget(
                title=f"{name}: errors and throttles",
                left=[
                    function.metric_errors(period=PERIOD).with_(label="errors"),
                    function.metric_throttles(period=PERIOD).with_(label="throttles"),
                ],
                width=THIRD,
                height=HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title=f"{name}: duration (ms)",
                left=[
                    function.metric_duration(period=PERIOD, statistic=statistic).with_(label=statistic)
                    for statistic in ("p50", "p99")
                ],
                width=THIRD,
                height=HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title=f"{name}: async event age (ms)",
                left=[
                    function.metric("AsyncEventAge", period=PERIOD, statistic="Maximum").with_(
                        label="oldest queued event"
                    )
                ],
                width=THIRD,
                height=HEIGHT,
            ),
        ]


def _identifier(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", " ").split())
