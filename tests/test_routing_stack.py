"""Destinations, routes and filters in the CDK context: checked at synth, handed to the function as JSON.

The stack passes ``destinations`` as ``DESTINATIONS`` and ``routes`` + ``filters`` as one ``ROUTES``
object (compact JSON, nothing secret in either); the webhook URLs and tokens stay in the one
secret, which remains the only secret the function may read. A mistake fails the synth, every
problem at once, each named by its context key and path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Match, Template

import app as entry
from cdk.config import NotifierConfig, StackConfigError
from handler.deliver.webhook_url import PLACEHOLDER_SECRET_STRING
from handler.routing import EventKind
from handler.settings import Settings
from tests.test_stack import CDK_CONTEXT, cfn_lint, statements, synth

DESTINATIONS = {
    "payments": {"type": "slack-webhook"},
    "platform-mm": {"type": "mattermost-webhook"},
    "reviews": {"type": "slack-app", "channel": "C0123456789", "direct_messages": True, "secret": "bot"},
}
ROUTES = [
    {
        "repositories": ["payments-*"],
        "refs": ["main", "release/*"],
        "events": ["push", "tag"],
        "to": ["payments"],
    },
    {"events": ["pull_request", "comment", "approval"], "to": ["reviews", "platform-mm"]},
]
FILTERS = [{"actors": ["ci-*", "*:assumed-role/CodeBuild*"]}, {"refs": ["dependabot/*"]}]


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


@pytest.fixture(scope="session")
def routed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Template, Path]:
    """The brief's three destinations, two routes and two filters (synthesized with cdk-nag on)."""
    return synth(tmp_path_factory, destinations=DESTINATIONS, routes=ROUTES, filters=FILTERS)


def notifier_variables(template: Template) -> dict[str, Any]:
    [function] = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "handler.app.lambda_handler"}}
    ).values()
    return function["Properties"]["Environment"]["Variables"]  # type: ignore[no-any-return]


@pytest.mark.slow
def test_the_function_gets_destinations_and_routes_as_compact_json(routed: tuple[Template, Path]) -> None:
    variables = notifier_variables(routed[0])
    assert variables["DESTINATIONS"] == compact(DESTINATIONS)
    assert variables["ROUTES"] == compact({"routes": ROUTES, "filters": FILTERS})


@pytest.mark.slow
def test_the_function_reads_what_the_stack_writes(routed: tuple[Template, Path]) -> None:
    variables = notifier_variables(routed[0])
    settings = Settings.from_environ({name: variables[name] for name in ("DESTINATIONS", "ROUTES")})
    assert sorted(settings.destinations) == ["payments", "platform-mm", "reviews"]
    assert settings.routing is not None
    assert [route.to for route in settings.routing.routes] == [("payments",), ("reviews", "platform-mm")]
    assert settings.routing.routes[0].match.events == (EventKind.PUSH, EventKind.TAG)
    assert len(settings.routing.filters) == 2


@pytest.mark.slow
def test_the_one_secret_stays_the_only_secret(routed: tuple[Template, Path]) -> None:
    template, path = routed
    text = path.read_text()
    assert "hooks.slack.com/services/T" not in text and "xoxb-" not in text and "/hooks/" not in text
    [(secret_id, secret)] = template.find_resources("AWS::SecretsManager::Secret").items()
    assert secret["Properties"].get("SecretString") in (None, PLACEHOLDER_SECRET_STRING)  # never a value
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "handler.app.lambda_handler",
            "Environment": {"Variables": Match.object_like({"SLACK_WEBHOOK_SECRET_ARN": {"Ref": secret_id}})},
        },
    )
    secret_grants = [
        (logical_id, statement)
        for logical_id, policy in template.find_resources("AWS::IAM::Policy").items()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "secretsmanager" in json.dumps(statement["Action"])
    ]
    assert [statement for _, statement in secret_grants] == [
        {
            "Sid": "ReadWebhookSecret",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": {"Ref": secret_id},
        }
    ]
    assert secret_grants[0][0].startswith("NotifierRole")
    assert {s.get("Sid") for s in statements(template, "NotifierRole")} >= {"ReadWebhookSecret"}


def test_no_routes_means_no_routes_variable() -> None:
    config = NotifierConfig.from_context(CDK_CONTEXT.get)
    assert "ROUTES" not in config.handler_environment
    assert "DESTINATIONS" not in config.handler_environment


def test_routes_and_filters_given_with_c_arrive_as_json_text() -> None:
    context = {**CDK_CONTEXT, "routes": json.dumps(ROUTES[1:]), "filters": '[{"refs": ["wip/*"]}]'}
    context["destinations"] = json.dumps(DESTINATIONS)
    environment = NotifierConfig.from_context(context.get).handler_environment
    assert json.loads(environment["ROUTES"]) == {"routes": ROUTES[1:], "filters": [{"refs": ["wip/*"]}]}
    assert json.loads(environment["DESTINATIONS"]) == DESTINATIONS


ROUTING_ERRORS = [
    (
        {"destinations": DESTINATIONS, "routes": [{"events": ["push"], "to": ["paymnts"]}]},
        "routes[0].to[0]: unknown destination 'paymnts' (did you mean 'payments'?)",
    ),
    (
        {"routes": [{"events": ["psuh"], "to": ["default"]}]},
        "routes[0].events[0]: 'psuh' is not an event kind",
    ),
    ({"routes": [{"refs": ["main"]}]}, 'routes[0]: has no "to"'),
    ({"filters": [{}]}, "filters[0]: has no match keys, so it would drop every event"),
    ({"filters": "[{"}, "filters is not valid JSON"),
    ({"destinations": {"default": {"type": "slack-webhook"}}}, "destinations has 1 problem"),
    (
        {"destinations": {"reviews": {"type": "slack-webhook", "url": "https://hooks.slack.com/x"}}},
        "reviews.url: unknown key",
    ),
]


@pytest.mark.parametrize(("overrides", "message"), ROUTING_ERRORS)
def test_a_bad_route_or_destination_fails_the_synth_by_key(overrides: dict[str, Any], message: str) -> None:
    context: dict[str, Any] = {**CDK_CONTEXT, **overrides}
    with pytest.raises(StackConfigError, match="invalid CDK context") as error:
        NotifierConfig.from_context(context.get)
    assert message in str(error.value)
    assert "hooks.slack.com/x" not in str(error.value)


def test_routing_problems_come_with_the_others_all_at_once() -> None:
    context: dict[str, Any] = {
        **CDK_CONTEXT,
        "log_retention_days": 2,
        "routes": [{"events": ["psuh"], "to": ["nowhere"]}],
        "filters": [{"refs": "main"}],
    }
    with pytest.raises(StackConfigError) as error:
        NotifierConfig.from_context(context.get)
    lines = str(error.value).splitlines()[1:]
    assert [line.strip().removeprefix("- ").split(" ")[0].rstrip(":") for line in lines] == [
        "log_retention_days",
        "routes[0].events[0]",
        "routes[0].to[0]",
        "filters[0].refs",
    ]


@pytest.mark.slow
def test_a_bad_route_stops_the_app_before_anything_is_written(tmp_path: Path) -> None:
    context = {**CDK_CONTEXT, "aws:cdk:bundling-stacks": [], "routes": [{"events": ["push"], "to": ["ops"]}]}
    app = App(context=context, outdir=str(tmp_path))
    with pytest.raises(StackConfigError, match=r"routes\[0\]\.to\[0\]: unknown destination 'ops'"):
        entry.build_app(app)
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_cfn_lint_is_clean_with_routes(routed: tuple[Template, Path]) -> None:
    result = cfn_lint(routed[1])
    assert result.returncode == 0, result.stdout + result.stderr
