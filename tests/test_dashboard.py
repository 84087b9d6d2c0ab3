"""The dashboard and alarms (cdk/observability.py), on the real template and on a small stack.

Every metric the functions write (issue 19) must be on the dashboard with each of its dimension
sets: the aggregate as a plain metric, each dimensioned set as a SEARCH over exactly those
dimensions. The table below is the contract with ``handler/metrics.py``; each row is checked.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template

from cdk.observability import LAG_PERIODS, LAG_THRESHOLD_SECONDS, Observability, WatchedQueue
from tests.test_stack import default  # noqa: F401 (the session's synthesized default stack)

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "CodeCommitNotifier"  # the metrics_namespace context key's default
#: ("Repository",) only where METRICS_BY_REPOSITORY is on; the dashboard has its widget anyway.
OUTCOME_DIMENSIONS: list[tuple[str, ...]] = [(), ("Source",), ("Destination",), ("Repository",)]
#: metric → (statistic on the dashboard, dimension sets it is published with)
METRICS: dict[str, tuple[str, list[tuple[str, ...]]]] = {
    "EventsReceived": ("Sum", [(), ("Source", "Kind")]),
    **{
        name: ("Sum", OUTCOME_DIMENSIONS)
        for name in ("Delivered", "Duplicate", "Late", "Filtered", "Dropped", "Raised")
    },
    "DeliveryAttempts": ("Sum", [()]),
    "RateLimited": ("Sum", [(), ("Destination",)]),
    "ColdStart": ("Sum", [("Function",)]),
    "Lag": ("p90", [(), ("Source",)]),
}
pytestmark = pytest.mark.slow


def load_dashboard_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dashboard_picture", ROOT / "docs" / "dashboard.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dashboard = load_dashboard_script()


def widgets(template: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(dashboard.dashboard_body(template)["widgets"])


def plotted(template: Mapping[str, Any]) -> tuple[set[tuple[str, str, str]], list[str]]:
    """(namespace, metric, statistic) of every plain metric, and every expression, on the dashboard."""
    metrics, expressions = set(), []
    for widget in widgets(template):
        for entry in widget.get("properties", {}).get("metrics", []):
            options = entry[-1] if isinstance(entry[-1], dict) else {}
            if "expression" in options:
                expressions.append(options["expression"])
            else:
                metrics.add((entry[0], entry[1], options.get("stat", "Average")))
    return metrics, expressions


@pytest.mark.parametrize("metric", sorted(METRICS))
def test_every_metric_is_shown_with_each_of_its_dimension_sets(
    default: tuple[Template, Path],  # noqa: F811
    metric: str,
) -> None:
    template = default[0].to_json()
    metrics, expressions = plotted(template)
    statistic, dimension_sets = METRICS[metric]
    for dimensions in dimension_sets:
        if not dimensions:
            assert (NAMESPACE, metric, statistic) in metrics, metric
            continue
        schema = ",".join([f'"{NAMESPACE}"', *dimensions])
        assert any(
            expression.startswith(f"SEARCH('{{{schema}}} (")
            and f'MetricName="{metric}"' in expression
            and f"'{statistic}', 300)" in expression
            for expression in expressions
        ), (metric, dimensions, expressions)


def test_lambdas_own_metrics_and_the_queue_are_beside_them(default: tuple[Template, Path]) -> None:  # noqa: F811
    template = default[0].to_json()
    titles = [w.get("properties", {}).get("title") for w in widgets(template)]
    assert titles == [
        None,  # the header
        "Events received",
        "Events by source and kind",
        "Outcomes",
        "Outcomes by destination",
        "Outcomes by source",
        "Delivery attempts and 429s",
        "Lag: event time to post (s)",
        "Lag p90 by source (s)",
        "Outcomes by repository (METRICS_BY_REPOSITORY)",
        "Cold starts by function",
        "Dead-letter queues: messages waiting",
        "Alarms",
        "notifier: errors and throttles",
        "notifier: duration (ms)",
        "notifier: async event age (ms)",
    ]
    metrics, _ = plotted(template)
    for name, statistic in [
        ("Errors", "Sum"),
        ("Throttles", "Sum"),
        ("Duration", "p50"),
        ("Duration", "p99"),
        ("AsyncEventAge", "Maximum"),
    ]:
        assert ("AWS/Lambda", name, statistic) in metrics
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum") in metrics
    body = json.dumps(dashboard.dashboard_body(template))
    function_id = next(
        iter(
            default[0].find_resources(
                "AWS::Lambda::Function", {"Properties": {"Handler": "handler.app.lambda_handler"}}
            )
        )
    )
    assert f"<{function_id}>" in body


def test_the_functions_are_told_the_namespace(default: tuple[Template, Path]) -> None:  # noqa: F811
    default[0].has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "handler.app.lambda_handler",
            "Environment": {"Variables": Match.object_like({"METRICS_NAMESPACE": NAMESPACE})},
        },
    )


def test_alarms_on_raised_and_on_a_growing_lag(default: tuple[Template, Path]) -> None:  # noqa: F811
    template = default[0]
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": NAMESPACE,
            "MetricName": "Raised",
            "Statistic": "Sum",
            "Period": 300,
            "Threshold": 1,
            "EvaluationPeriods": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "Dimensions": Match.absent(),
        },
    )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": NAMESPACE,
            "MetricName": "Lag",
            "ExtendedStatistic": "p90",
            "Unit": "Seconds",
            "Period": 300,
            "Threshold": LAG_THRESHOLD_SECONDS,
            "EvaluationPeriods": LAG_PERIODS,
            "DatapointsToAlarm": LAG_PERIODS,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
        },
    )
    # The notifier's queue keeps its own alarm (NotifierDeadLetterAlarm): not a second one.
    queue_alarms = template.find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"MetricName": "ApproximateNumberOfMessagesVisible"}}
    )
    assert len(queue_alarms) == 1
    [alarm_widget] = [w for w in widgets(template.to_json()) if w["type"] == "alarm"]
    assert len(alarm_widget["properties"]["alarms"]) == 3  # raised, lag, the queue


def test_the_dashboard_is_named_in_the_outputs(default: tuple[Template, Path]) -> None:  # noqa: F811
    outputs = default[0].find_outputs("*")
    [dashboard_id] = default[0].find_resources("AWS::CloudWatch::Dashboard")
    assert outputs["DashboardName"]["Value"] == {"Ref": dashboard_id}
    url = json.dumps(outputs["DashboardUrl"]["Value"])
    assert "console.aws.amazon.com/cloudwatch/home?region=" in url and "#dashboards:name=" in url
    assert dashboard_id in url


def test_functions_and_queues_passed_in_join_the_dashboard() -> None:
    """The chat and GitLab front doors join by being passed in; a queue without an alarm gets one."""
    app = App()
    stack = Stack(app, "Small")
    code = lambda_.Code.from_inline("def handler(event, context):\n    return None\n")
    functions = [
        (
            name,
            lambda_.Function(
                stack, name, runtime=lambda_.Runtime.PYTHON_3_13, handler="index.handler", code=code
            ),
        )
        for name in ("notifier", "chat", "gitlab")
    ]
    queue = sqs.Queue(stack, "ChatQueue")
    Observability(
        stack,
        "Observability",
        functions=functions,
        dead_letter_queues=[WatchedQueue("chat", queue)],
        namespace="Team/Notifier",
        alarm_topic_arn="arn:aws:sns:us-east-1:123456789012:ops",
    )
    template = Template.from_stack(stack)
    titles = [w.get("properties", {}).get("title") for w in widgets(template.to_json())]
    for name in ("notifier", "chat", "gitlab"):
        assert [t for t in titles if t and t.startswith(f"{name}: ")] == [
            f"{name}: errors and throttles",
            f"{name}: duration (ms)",
            f"{name}: async event age (ms)",
        ]
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Environment": {"Variables": {"METRICS_NAMESPACE": "Team/Notifier"}}},
    )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm", {"Namespace": "Team/Notifier", "MetricName": "Raised"}
    )
    _, expressions = plotted(template.to_json())
    assert any(e.startswith('SEARCH(\'{"Team/Notifier",Source,Kind}') for e in expressions)
    template.resource_count_is("AWS::CloudWatch::Alarm", 3)  # raised, lag, the chat queue
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Threshold": 1,
            "TreatMissingData": "notBreaching",
            "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:ops"],
        },
    )
    for alarm in template.find_resources("AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == ["arn:aws:sns:us-east-1:123456789012:ops"]


def test_the_picture_names_every_widget_and_series(default: tuple[Template, Path]) -> None:  # noqa: F811
    """docs/dashboard.py's page: one box per widget, where CloudWatch puts it, with what it plots."""
    template = default[0].to_json()
    body = dashboard.dashboard_body(template)
    page = dashboard.page(body, dashboard.logical_names(template))
    assert page.count("class='widget") == len(body["widgets"])
    assert "p90 of Lag: a line per Source" in page
    assert "Sum of EventsReceived: a line per Source × Kind" in page
    assert "grid-column: 17 / span 8; grid-row: 3 / span 6;" in page  # "Outcomes", top right
