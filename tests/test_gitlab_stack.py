"""GitLab's front door in the synthesized template (context ``gitlab``), cdk-nag and cfn-lint clean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk.assertions import Match, Template

from cdk.gitlab import HANDLER, TRIGGERS, gitlab_enabled
from tests.test_stack import cfn_lint, statements, synth

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def with_gitlab(tmp_path_factory: pytest.TempPathFactory) -> tuple[Template, Path]:
    return synth(tmp_path_factory, gitlab="true", gitlab_api_url="https://gitlab.example.com/api/v4")


def front_door(template: Template) -> dict[str, object]:
    functions = template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": HANDLER}})
    [function] = functions.values()
    return function["Properties"]  # type: ignore[no-any-return]


def test_off_unless_context_gitlab_is_set(default_template: Template) -> None:
    assert default_template.find_resources("AWS::Lambda::Url") == {}
    assert not default_template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": HANDLER}})


@pytest.fixture(scope="session")
def default_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return synth(tmp_path_factory)[0]


def test_a_function_url_without_aws_auth_fronts_the_gitlab_handler(
    with_gitlab: tuple[Template, Path],
) -> None:
    template = with_gitlab[0]
    template.resource_count_is("AWS::Lambda::Url", 1)
    template.has_resource_properties("AWS::Lambda::Url", {"AuthType": "NONE"})
    properties = front_door(template)
    variables = properties["Environment"]["Variables"]  # type: ignore[index]
    assert set(variables) == {"SLACK_WEBHOOK_SECRET_ARN", "NOTIFIER_FUNCTION_NAME", "METRICS_NAMESPACE"}
    assert "gitlab" not in json.dumps(variables).lower()  # no token, no secret value in the template


def test_the_front_door_may_read_the_secret_and_invoke_the_notifier_only(
    with_gitlab: tuple[Template, Path],
) -> None:
    by_sid = {statement["Sid"]: statement for statement in statements(with_gitlab[0], "GitLabWebhookRole")}
    assert set(by_sid) == {"WriteOwnLogs", "ReadWebhookSecret", "InvokeNotifier"}
    assert by_sid["InvokeNotifier"]["Action"] == "lambda:InvokeFunction"
    assert by_sid["InvokeNotifier"]["Resource"]["Fn::GetAtt"][0].startswith("NotifierFunction")
    assert by_sid["ReadWebhookSecret"]["Action"] == "secretsmanager:GetSecretValue"
    assert "*" not in json.dumps(by_sid["ReadWebhookSecret"]["Resource"])


def test_the_notifier_gets_the_api_url(with_gitlab: tuple[Template, Path]) -> None:
    with_gitlab[0].has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "handler.app.lambda_handler",
            "Environment": {
                "Variables": Match.object_like({"GITLAB_API_URL": "https://gitlab.example.com/api/v4"})
            },
        },
    )


def test_outputs_give_the_url_and_the_settings_to_paste(with_gitlab: tuple[Template, Path]) -> None:
    outputs = with_gitlab[0].find_outputs("*")
    assert "GetAtt" in json.dumps(outputs["GitLabWebhookUrl"]["Value"])
    settings = json.dumps(outputs["GitLabWebhookSettings"]["Value"])
    assert "gitlab-token" in settings and "gitlab-signing-key" in settings
    assert all(trigger in settings for trigger in TRIGGERS)


def test_cfn_lint_is_clean_with_gitlab(with_gitlab: tuple[Template, Path]) -> None:
    result = cfn_lint(with_gitlab[1])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("value", "enabled"),
    [
        (True, True),
        ("true", True),
        ("yes", True),
        (None, False),
        (False, False),
        ("false", False),
        ("", False),
    ],
)
def test_the_context_flag(value: object, enabled: bool) -> None:
    assert gitlab_enabled(value) is enabled


def test_the_public_may_call_the_url_and_nothing_else(with_gitlab: tuple[Template, Path]) -> None:
    """``Principal *`` only through the function URL: InvokeFunctionUrl with AuthType NONE, and
    InvokeFunction only ``InvokedViaFunctionUrl`` (never a direct Invoke of the function)."""
    permissions = [
        resource["Properties"]
        for resource in with_gitlab[0].find_resources("AWS::Lambda::Permission").values()
        if resource["Properties"].get("Principal") == "*"
    ]
    assert sorted(permission["Action"] for permission in permissions) == [
        "lambda:InvokeFunction",
        "lambda:InvokeFunctionUrl",
    ]
    for permission in permissions:
        assert permission["FunctionName"]["Fn::GetAtt"][0].startswith("GitLabWebhookFunction")
        if permission["Action"] == "lambda:InvokeFunction":
            assert permission["InvokedViaFunctionUrl"] is True
        else:
            assert permission["FunctionUrlAuthType"] == "NONE"
