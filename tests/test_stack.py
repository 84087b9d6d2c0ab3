"""The CDK app: aws_cdk.assertions on the real synthesized template, cdk-nag, cfn-lint, the bundled asset.

Synthesis is slow (jsii starts Node), so each configuration is synthesized once per session, with
cdk.json's context loaded the way ``cdk synth`` loads it and cdk-nag's AwsSolutions pack on: a
finding nobody acknowledged makes synthesis itself fail. Bundling is skipped here and exercised
once, in its own test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App, Stack, Validations
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Capture, Match, Template
from cdk_nag import AwsSolutionsChecks

import app as entry
from bench.deployed import LambdaLayout, lambda_layout
from cdk.config import NotifierConfig, StackConfigError
from cdk.lambda_asset import bundle_into, bundled_requirements, bytecode_compiler
from cdk.triggers import MANAGER_TIMEOUT_SECONDS, SERVICE_TIMEOUT_SECONDS
from handler.deliver.webhook_url import PLACEHOLDER_SECRET_STRING, is_placeholder

ROOT = Path(__file__).resolve().parent.parent
CDK_CONTEXT = json.loads((ROOT / "cdk.json").read_text())["context"]
pytestmark = pytest.mark.slow


def synth(tmp_path_factory: pytest.TempPathFactory, **overrides: Any) -> tuple[Template, Path]:
    context = {**CDK_CONTEXT, "aws:cdk:bundling-stacks": [], **overrides}
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = App(context=context, outdir=str(outdir))
    stack = entry.build_app(app)
    app.synth()
    return Template.from_stack(stack), outdir / f"{stack.stack_name}.template.json"


@pytest.fixture(scope="session")
def default(tmp_path_factory: pytest.TempPathFactory) -> tuple[Template, Path]:
    """cdk.json as shipped: one existing repository, a secret the stack creates."""
    return synth(tmp_path_factory)


@pytest.fixture(scope="session")
def configured(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """Everything optional turned on."""
    return synth(
        tmp_path_factory,
        repositories="payments,web-app",
        create_repository="new-service",
        branches=["main", "release/2026.11"],
        webhook_secret="team/slack-webhook",
        webhook_secret_kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        alarm_topic_arn="arn:aws:sns:us-east-1:123456789012:ops",
        reserved_concurrency="2",
        log_retention_days=90,
        branch_colors='{"main": "#00FF00", "*": "#0000FF"}',
        max_files_per_diff=15,
    )[0]


def statements(template: Template, role_prefix: str) -> list[dict[str, Any]]:
    policies = template.find_resources("AWS::IAM::Policy")
    for logical_id, policy in policies.items():
        if logical_id.startswith(role_prefix):
            return policy["Properties"]["PolicyDocument"]["Statement"]  # type: ignore[no-any-return]
    raise AssertionError(f"no policy for {role_prefix}: {list(policies)}")


def test_topic_is_encrypted_with_a_rotating_customer_key(default: tuple[Template, Path]) -> None:
    template = default[0]
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    template.has_resource_properties(
        "AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [Match.any_value(), "Arn"]}}
    )
    key = next(iter(template.find_resources("AWS::KMS::Key").values()))
    codecommit = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "codecommit.amazonaws.com"}
    ]
    assert codecommit == [
        {
            "Sid": "AllowCodeCommitToPublishEncrypted",
            "Effect": "Allow",
            "Principal": {"Service": "codecommit.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
        }
    ]


def test_only_the_watched_repositories_may_publish_and_only_over_tls(default: tuple[Template, Path]) -> None:
    policy = next(iter(default[0].find_resources("AWS::SNS::TopicPolicy").values()))
    by_sid = {s.get("Sid", s["Effect"]): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    publish = by_sid["AllowWatchedRepositoriesToPublish"]
    assert publish["Principal"] == {"Service": "codecommit.amazonaws.com"}
    assert publish["Action"] == "sns:Publish"
    assert publish["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert publish["Condition"]["ArnLike"]["aws:SourceArn"] == [
        {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":codecommit:",
                    {"Ref": "AWS::Region"},
                    ":",
                    {"Ref": "AWS::AccountId"},
                    ":my-repository",
                ],
            ]
        }
    ]
    deny = [s for s in by_sid.values() if s["Effect"] == "Deny"]
    assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_function_runtime_handler_and_environment(default: tuple[Template, Path]) -> None:
    default[0].has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "handler.app.lambda_handler",
            "Runtime": "python3.14",
            "Architectures": ["arm64"],
            "Timeout": 90,
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "SLACK_WEBHOOK_SECRET_ARN": {"Ref": Match.string_like_regexp("WebhookSecret")},
                        "BRANCH_COLORS": json.dumps(CDK_CONTEXT["branch_colors"], separators=(",", ":")),
                        "MAX_FILES_PER_DIFF": "20",
                    }
                )
            },
            "LoggingConfig": {
                "LogGroup": {"Ref": Match.string_like_regexp("NotifierLogGroup")},
                "LogFormat": "JSON",  # the runtime writes each record, with its extra fields, as JSON
            },
        },
    )


def test_no_secret_value_in_the_template(default: tuple[Template, Path]) -> None:
    text = default[1].read_text()
    assert "hooks.slack.com/services/T" not in text
    secret = next(iter(default[0].find_resources("AWS::SecretsManager::Secret").values()))
    assert secret["Properties"].get("SecretString") in (None, PLACEHOLDER_SECRET_STRING)


def test_the_created_secret_holds_the_placeholder_never_a_generated_value(
    default: tuple[Template, Path],
) -> None:
    """Issue 17 item 10: ``GenerateSecretString`` filled it with a password the function read as
    a malformed URL; the placeholder is what the function recognises (tests/test_destinations.py)."""
    secret = next(iter(default[0].find_resources("AWS::SecretsManager::Secret").values()))
    assert "GenerateSecretString" not in secret["Properties"]
    assert secret["Properties"]["SecretString"] == PLACEHOLDER_SECRET_STRING
    assert is_placeholder(secret["Properties"]["SecretString"])


def reader_operations() -> list[str]:
    """The CodeCommit operations handler/enrich/reader.py calls, read from its source: what the role must
    grant, no more and no less."""
    source = (Path(__file__).parent.parent / "handler" / "enrich" / "reader.py").read_text(encoding="utf-8")
    return sorted(set(re.findall(r'self\._call\(\s*"(\w+)"', source)))


def test_notifier_role_is_least_privilege(default: tuple[Template, Path]) -> None:
    template = default[0]
    role = next(
        r for k, r in template.find_resources("AWS::IAM::Role").items() if k.startswith("NotifierRole")
    )
    assert "ManagedPolicyArns" not in role["Properties"]
    by_sid = {s.get("Sid", "destination"): s for s in statements(template, "NotifierRole")}
    assert set(by_sid) == {
        "WriteOwnLogs",
        "ReadWatchedRepositories",
        "ReadPullRequests",
        "ReadWebhookSecret",
        "ReadWriteStateItems",
        "destination",
    }
    assert by_sid["ReadWatchedRepositories"]["Action"] == [f"codecommit:{op}" for op in reader_operations()]
    assert by_sid["ReadWatchedRepositories"]["Resource"]["Fn::Join"][1][-1] == ":my-repository"
    secret_id = next(iter(template.find_resources("AWS::SecretsManager::Secret")))
    assert by_sid["ReadWebhookSecret"] == {
        "Sid": "ReadWebhookSecret",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": {"Ref": secret_id},
    }
    assert by_sid["destination"]["Action"] == ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"]
    assert not any("kms:" in str(s["Action"]) for s in by_sid.values())


def test_failed_events_go_to_an_encrypted_queue_and_raise_alarms(default: tuple[Template, Path]) -> None:
    template = default[0]
    queue = Capture()
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "MaximumRetryAttempts": 2,
            "MaximumEventAgeInSeconds": 21600,
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [queue, "Arn"]}}},
        },
    )
    template.has_resource_properties(
        "AWS::SQS::Queue", {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 1209600}
    )
    assert queue.as_string().startswith("NotifierDeadLetterQueue")
    # errors and the queue here; raised outcomes and lag in tests/test_dashboard.py
    template.resource_count_is("AWS::CloudWatch::Alarm", 4)
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "ApproximateNumberOfMessagesVisible", "Namespace": "AWS/SQS", "Threshold": 1},
    )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm", {"MetricName": "Errors", "Namespace": "AWS/Lambda", "Threshold": 1}
    )
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})


def test_topic_subscribes_the_function(default: tuple[Template, Path]) -> None:
    default[0].has_resource_properties("AWS::SNS::Subscription", {"Protocol": "lambda"})
    default[0].has_resource_properties(
        "AWS::Lambda::Permission", {"Principal": "sns.amazonaws.com", "Action": "lambda:InvokeFunction"}
    )


def test_existing_repositories_get_the_trigger_custom_resource(default: tuple[Template, Path]) -> None:
    template = default[0]
    template.has_resource_properties(
        "Custom::CodeCommitRepositoryTrigger",
        {
            "RepositoryName": "my-repository",
            "TriggerName": "slack-notifier-CodeCommitSlackNotifier",
            "DestinationArn": {"Ref": Match.string_like_regexp("NotificationsTopic")},
            "Branches": [],
            "Events": ["all"],
        },
    )
    by_sid = {s["Sid"]: s for s in statements(template, "ExistingRepositoryTriggersRole")}
    assert set(by_sid) == {"WriteOwnLogs", "ManageTriggers", "ListRepositories"}
    assert by_sid["ManageTriggers"]["Action"] == [
        "codecommit:GetRepositoryTriggers",
        "codecommit:PutRepositoryTriggers",
    ]


def test_the_created_repository_loses_our_trigger_on_destroy(configured: Template) -> None:
    """It is retained, so its trigger must not be a property of it: the custom resource owns it."""
    repository_id, repository = next(iter(configured.find_resources("AWS::CodeCommit::Repository").items()))
    assert "Triggers" not in repository["Properties"]
    (resource,) = [
        resource
        for resource in configured.find_resources("Custom::CodeCommitRepositoryTrigger").values()
        if resource["Properties"]["RepositoryName"] == "new-service"
    ]
    assert repository_id in resource["DependsOn"]  # created after the repository, deleted before it
    assert resource["DeletionPolicy"] == "Delete"


def test_custom_resources_do_not_leave_the_stack_waiting(default: tuple[Template, Path]) -> None:
    default[0].has_resource_properties(
        "Custom::CodeCommitRepositoryTrigger", {"ServiceTimeout": str(SERVICE_TIMEOUT_SECONDS)}
    )
    default[0].has_resource_properties(
        "AWS::Lambda::Function", {"Handler": "index.handler", "Timeout": MANAGER_TIMEOUT_SECONDS}
    )
    assert MANAGER_TIMEOUT_SECONDS * 3 < SERVICE_TIMEOUT_SECONDS <= 3600


def test_outputs(default: tuple[Template, Path]) -> None:
    outputs = default[0].find_outputs("*")
    assert {
        "TopicArn",
        "FunctionName",
        "DeadLetterQueueUrl",
        "WebhookSecretName",
        "PutWebhookUrlCommand",
    } <= set(outputs)
    command = json.dumps(outputs["PutWebhookUrlCommand"]["Value"])
    assert "aws secretsmanager put-secret-value" in command


def test_destroy_keeps_code_and_logs_and_cleans_up_the_rest(
    default: tuple[Template, Path], configured: Template
) -> None:
    configured.has_resource(
        "AWS::CodeCommit::Repository", {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
    )
    default[0].has_resource(
        "AWS::KMS::Key",
        {"DeletionPolicy": "Delete", "Properties": Match.object_like({"PendingWindowInDays": 7})},
    )
    default[0].has_resource(
        "AWS::Logs::LogGroup",
        {"DeletionPolicy": "Retain", "Properties": Match.object_like({"RetentionInDays": 30})},
    )


def test_state_table_is_keyed_by_pk_on_demand_recoverable_encrypted_and_expiring(
    default: tuple[Template, Path],
) -> None:
    template = default[0]
    template.resource_count_is("AWS::DynamoDB::Table", 1)
    template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "BillingMode": "PAY_PER_REQUEST",
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "SSESpecification": {"SSEEnabled": True},
                "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
                "DeletionProtectionEnabled": False,
            },
        },
    )


def test_function_gets_the_state_table_name_and_only_its_item_actions(default: tuple[Template, Path]) -> None:
    template = default[0]
    table_id = next(iter(template.find_resources("AWS::DynamoDB::Table")))
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "handler.app.lambda_handler",
            "Environment": {"Variables": Match.object_like({"STATE_TABLE_NAME": {"Ref": table_id}})},
        },
    )
    state_statements = [
        statement
        for statement in statements(template, "NotifierRole")
        if "dynamodb" in json.dumps(statement["Action"])
    ]
    assert state_statements == [
        {
            "Sid": "ReadWriteStateItems",
            "Effect": "Allow",
            "Action": ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"],
            "Resource": {"Fn::GetAtt": [table_id, "Arn"]},
        }
    ]
    for logical_id, policy in template.find_resources("AWS::IAM::Policy").items():
        if not logical_id.startswith("NotifierRole"):
            assert "dynamodb" not in json.dumps(policy), f"{logical_id} may touch the state table"


def test_everything_optional(configured: Template) -> None:
    configured.resource_count_is("Custom::CodeCommitRepositoryTrigger", 3)
    configured.has_resource_properties(
        "Custom::CodeCommitRepositoryTrigger",
        {
            "RepositoryName": "new-service",
            "TriggerName": "slack-notifier-CodeCommitSlackNotifier",
            "Branches": ["main", "release/2026.11"],
            "Events": ["all"],
        },
    )
    configured.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "ReservedConcurrentExecutions": 2,
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "SLACK_WEBHOOK_SECRET_ARN": "team/slack-webhook",
                        "BRANCH_COLORS": '{"main": "#00FF00", "*": "#0000FF"}',
                        "MAX_FILES_PER_DIFF": "15",
                    }
                )
            },
        },
    )
    configured.has_resource_properties(
        "AWS::CloudWatch::Alarm", {"AlarmActions": ["arn:aws:sns:us-east-1:123456789012:ops"]}
    )
    configured.resource_count_is("AWS::SecretsManager::Secret", 0)
    notifier = statements(configured, "NotifierRole")
    by_sid = {s["Sid"]: s for s in notifier if "Sid" in s}
    assert json.dumps(by_sid["ReadWebhookSecret"]["Resource"]).endswith(
        ':secret:team/slack-webhook-??????"]]}'
    )
    repos = json.dumps(by_sid["ReadWatchedRepositories"]["Resource"])
    assert all(name in repos for name in (":payments", ":web-app", ":new-service"))
    [decrypt] = [s for s in notifier if s["Action"] == "kms:Decrypt"]
    assert (
        decrypt["Resource"] == "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    )


CONFIG_ERRORS = [
    ({"repositories": [], "create_repository": None}, "no repository to watch"),
    ({"repositories": ["bad name!"]}, "repository name 'bad name!' is invalid"),
    ({"branches": [f"b{i}" for i in range(11)]}, "a CodeCommit trigger takes at most 10"),
    ({"log_retention_days": 42}, "log_retention_days must be one of"),
    ({"reserved_concurrency": "lots"}, "reserved_concurrency must be a whole number"),
    ({"branch_colors": {"main": "red"}}, "branch_colors entry 'main' must be a colour"),
    ({"max_files_per_diff": 0}, "max_files_per_diff must be between 1 and 500"),
    ({"trigger_name": "has space"}, "trigger_name must be"),
    ({"alarm_topic_arn": "ops-topic"}, "alarm_topic_arn must be an SNS topic ARN"),
]


@pytest.mark.parametrize(("overrides", "message"), CONFIG_ERRORS)
def test_bad_context_fails_synth_with_a_clear_message(overrides: dict[str, Any], message: str) -> None:
    context: dict[str, Any] = {**CDK_CONTEXT, **overrides}
    with pytest.raises(StackConfigError, match="invalid CDK context") as error:
        NotifierConfig.from_context(context.get)
    assert message in str(error.value)


def test_every_problem_is_reported_at_once() -> None:
    context: dict[str, Any] = {**CDK_CONTEXT, "repositories": ["a b"], "log_retention_days": 2}
    with pytest.raises(StackConfigError) as error:
        NotifierConfig.from_context(context.get)
    assert str(error.value).count("\n  - ") == 2


def test_cdk_nag_fails_on_an_unacknowledged_finding(tmp_path: Path) -> None:
    """The gate is live: the same checks reject a queue without encryption or TLS enforcement."""
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Unsafe")
    sqs.Queue(stack, "Plain", encryption=sqs.QueueEncryption.UNENCRYPTED)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()


def cfn_lint(template: Path) -> subprocess.CompletedProcess[str]:
    """CloudFormation's own linter on a synthesized template; W3005 (a DependsOn that a reference
    already implies, which the CDK writes) is ignored."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--ignore-checks", "W3005", "--", str(template)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_cfn_lint_is_clean(default: tuple[Template, Path]) -> None:
    result = cfn_lint(default[1])
    assert result.returncode == 0, result.stdout + result.stderr


def wheel_tags(asset: Path) -> dict[str, list[str]]:
    tags = {}
    for wheel in asset.glob("*.dist-info/WHEEL"):
        tags[wheel.parent.name] = [
            line.split(": ", 1)[1] for line in wheel.read_text().splitlines() if line.startswith("Tag: ")
        ]
    return tags


def test_bundled_asset_holds_the_handler_and_target_wheels(tmp_path: Path) -> None:
    """Bundle for the deployed target (Python 3.14, arm64) and check what went in.

    The runtime's own interpreter is not installable on this machine (no Python 3.14 in its
    package sources), so the target bundle is checked by its wheel tags, and the same bundler is
    run for this machine's Python and architecture, laid out as Lambda lays it out (the asset,
    then the runtime's boto3 family, no site-packages: ``bench/deployed.py``), to prove the asset
    runs from its own bytecode, with requests from the asset and no encoding guesser.
    """
    target = tmp_path / "target"
    bundle_into(target, python_version="3.14", architecture="arm64")
    assert (target / "handler" / "app.py").exists()
    assert (target / "handler" / "aws" / "data" / "endpoints.json").exists()
    assert not (target / "boto3").exists() and not (target / "botocore").exists()
    assert not (target / "charset_normalizer").exists()
    assert (target / "handler" / "__pycache__").exists() == (bytecode_compiler("3.14") is not None)
    tags = wheel_tags(target)
    assert {name.split("-")[0].lower().replace("_", "-") for name in tags} == {
        line.split("==")[0].lower().replace("_", "-") for line in bundled_requirements()
    }
    for name, wheel in tags.items():
        assert all(t.endswith("-none-any") or ("cp314" in t and "aarch64" in t) for t in wheel), (
            name,
            wheel,
        )

    layout = lambda_layout(tmp_path / "host")
    result = subprocess.run(
        [
            sys.executable,
            *LambdaLayout.FLAGS,
            "-c",
            "import sys, handler.app, handler.deliver.slack_app, handler.deliver.slack_retry, slack_sdk\n"
            "from handler.deliver.webhook import import_requests\n"
            "from handler.aws.clients import trimmed_session\n"
            "requests = import_requests()\n"
            f"assert requests.__file__.startswith({str(layout.task)!r}), requests.__file__\n"
            f"assert slack_sdk.__file__.startswith({str(layout.task)!r}), slack_sdk.__file__\n"
            "assert 'charset_normalizer' not in sys.modules\n"
            "import os; assert os.path.exists(handler.app.__spec__.cached), 'no bytecode in the asset'\n"
            "import six; assert os.path.exists(six.__spec__.cached), 'the runtime has six compiled'\n"
            "client = trimmed_session().create_client('dynamodb', region_name='eu-west-1')\n"
            "operations = sorted(client.meta.service_model.operation_names)\n"
            "assert operations == ['DeleteItem', 'GetItem', 'PutItem'], operations\n"
            "assert callable(handler.app.lambda_handler); print('ok')",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd="/",
        env=layout.environment({"PATH": os.environ["PATH"]}),
    )
    assert result.stdout.strip() == "ok", result.stderr
    assert result.stderr == "", result.stderr  # no RequestsDependencyWarning, nothing else
