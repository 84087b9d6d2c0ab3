"""The chat front door in the synthesized template (cdk/chat.py): off by default; when on, the
function and its URL, its role's exact grants, the actor role's trust and permissions, the
outputs, cdk-nag (on during synthesis) and cfn-lint clean."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from cdk.chat import REVIEW_ACTIONS, ChatConfig
from cdk.config import StackConfigError
from cdk.slack_manifest import BOT_EVENTS, BOT_SCOPES, manifest
from tests.test_stack import cfn_lint, synth

pytestmark = pytest.mark.slow
CHAT = {"team_id": "T0123ABCD", "permissions": {"merge": ["lead@example.com"]}}


@pytest.fixture(scope="session")
def with_chat(tmp_path_factory: pytest.TempPathFactory) -> tuple[Template, Path]:
    return synth(tmp_path_factory, repositories="payments,web-app", chat=CHAT)


@pytest.fixture(scope="session")
def without_chat(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return synth(tmp_path_factory)[0]


def resource(template: Template, kind: str, prefix: str) -> dict[str, Any]:
    found = {k: v for k, v in template.find_resources(kind).items() if k.startswith(prefix)}
    assert len(found) == 1, list(found)
    return next(iter(found.values()))["Properties"]  # type: ignore[no-any-return]


def test_off_unless_the_context_says_chat(without_chat: Template) -> None:
    assert not [k for k in without_chat.find_resources("AWS::Lambda::Url")]
    assert "ChatRequestUrl" not in without_chat.find_outputs("*")


def test_the_function_and_its_public_url(with_chat: tuple[Template, Path]) -> None:
    template = with_chat[0]
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "handler.chat.lambda_handler",
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "SLACK_TEAM_ID": "T0123ABCD",
                        "CHAT_PERMISSIONS": json.dumps(CHAT["permissions"]),
                        "WATCHED_REPOSITORIES": "payments,web-app",
                        "CHAT_ACTOR_ROLE_ARN": Match.any_value(),
                        "STATE_TABLE_NAME": Match.any_value(),
                        "SLACK_WEBHOOK_SECRET_ARN": Match.any_value(),
                    }
                )
            },
        },
    )
    template.has_resource_properties("AWS::Lambda::Url", {"AuthType": "NONE"})


def test_the_chat_role_may_do_exactly_its_five_things(with_chat: tuple[Template, Path]) -> None:
    template = with_chat[0]
    actions = []
    for logical_id, policy in template.find_resources("AWS::IAM::Policy").items():
        if logical_id.startswith(("ChatRoleDefaultPolicy", "ChatInvokeItself")):
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                names = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                actions += names
                assert "*" not in json.dumps(statement["Resource"]).replace(":log-stream:*", "")
    assert sorted(actions) == sorted(
        [
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "secretsmanager:GetSecretValue",
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "sts:AssumeRole",
            "sts:SetSourceIdentity",
            "lambda:InvokeFunction",
            "sqs:GetQueueAttributes",  # the on-failure destination of its own handed-on work
            "sqs:GetQueueUrl",
            "sqs:SendMessage",
        ]
    )
    assert not any(action.startswith("codecommit:") for action in actions)


def test_the_actor_role_is_trusted_by_the_chat_role_alone(with_chat: tuple[Template, Path]) -> None:
    template = with_chat[0]
    trust = resource(template, "AWS::IAM::Role", "ChatActorRole")["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert sorted(statement["Action"]) == ["sts:AssumeRole", "sts:SetSourceIdentity"]
    (logical_id, attribute) = statement["Principal"]["AWS"]["Fn::GetAtt"]
    assert logical_id.startswith("ChatRole") and attribute == "Arn"
    policy = resource(template, "AWS::IAM::Policy", "ChatActorRoleDefaultPolicy")
    (grant,) = policy["PolicyDocument"]["Statement"]
    assert sorted(grant["Action"]) == sorted(REVIEW_ACTIONS)
    rendered = json.dumps(grant["Resource"])
    assert ":payments" in rendered and ":web-app" in rendered and "*" not in rendered


def test_the_outputs_give_the_url_the_role_and_the_manifest(with_chat: tuple[Template, Path]) -> None:
    outputs = with_chat[0].find_outputs("*")
    assert {"ChatRequestUrl", "ChatActorRoleArn", "SlackAppManifest"} <= set(outputs)


def test_cfn_lint_is_clean_with_chat(with_chat: tuple[Template, Path]) -> None:
    result = cfn_lint(with_chat[1])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "raw",
    [
        "yes",
        {"team": "T1"},
        {"team_id": "not-a-team"},
        {"team_id": "T0123ABCD", "permissions": {"aprove": ["*"]}},
    ],
)
def test_a_bad_chat_context_says_what_to_write(raw: object) -> None:
    with pytest.raises(StackConfigError, match="chat"):
        ChatConfig.from_context(lambda key: raw if key == "chat" else None)


def test_the_manifest_sends_everything_to_the_one_url() -> None:
    document = manifest("https://abc.lambda-url.eu-west-1.on.aws/")
    settings = document["settings"]
    assert settings["event_subscriptions"]["request_url"] == settings["interactivity"]["request_url"]
    assert document["features"]["slash_commands"][0]["url"] == "https://abc.lambda-url.eu-west-1.on.aws/"
    assert settings["event_subscriptions"]["bot_events"] == list(BOT_EVENTS)
    assert document["oauth_config"]["scopes"]["bot"] == list(BOT_SCOPES)


def test_the_chat_role_reaches_only_its_own_state_items(with_chat: tuple[Template, Path]) -> None:
    """Review finding: the chat function (public URL) could read, overwrite and delete every item
    of the state table (the notifier's delivery ledger, thread marks, reminder claims). It needs
    only the marks of comments made from chat and its request claims."""
    from handler.state.chat_comments import PREFIX, REQUEST_PREFIX

    policies = with_chat[0].find_resources("AWS::IAM::Policy")
    chat = [
        statement
        for logical_id, policy in policies.items()
        if logical_id.startswith("ChatRole")
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Sid") == "ReadWriteStateItems"
    ]
    assert len(chat) == 1
    assert chat[0]["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{PREFIX}*", f"{REQUEST_PREFIX}*"]}
    }
