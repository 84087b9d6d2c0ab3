"""Settings: every problem reported at once by the name the user wrote; LOG_LEVEL means what it says;
every documented variable (docs/configuration.md) does what it says when it is set."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import pytest

from cdk.config import HANDLER_SETTINGS, NotifierConfig, StackConfigError
from handler.deliver.destinations import Flavor
from handler.deliver.webhook import SECRET_BEARING_LOGGERS
from handler.errors import ConfigurationError
from handler.model import Repository
from handler.runtime import aws_runtime
from handler.settings import (
    Settings,
    apply_log_level,
    optional_text,
    setting,
    setting_specs,
)
from tests.scenarios import REPOSITORY, ScenarioRepo
from tests.standins import LoopbackServer
from tests.standins.codecommit import CodeCommitStandIn

ROOT = Path(__file__).resolve().parent.parent
#: The full settings reference the README links to.
REFERENCE = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")


def test_every_problem_is_reported_at_once_by_its_variable() -> None:
    environ = {
        "MAX_FILES_PER_DIFF": "abc",
        "MAX_REFS_PER_MESSAGE": "0",
        "LOG_LEVEL": "VERBOSE",
        "BRANCH_COLORS": '{"main": "red"}',
        "SLACK_TIMEOUT_SECONDS": "600",
    }
    with pytest.raises(ConfigurationError) as error:
        Settings.from_environ(environ)
    message = str(error.value)
    for variable in environ:
        assert variable in message, f"{variable} not reported in {message!r}"


def test_at_synth_every_problem_is_named_by_its_context_key() -> None:
    context = {
        "repositories": ["payments"],
        "max_files_per_diff": "abc",
        "max_refs_per_message": 0,
        "log_level": "VERBOSE",
        "branch_colors": {"main": "red"},
    }
    with pytest.raises(StackConfigError) as error:
        NotifierConfig.from_context(context.get)
    problems = str(error.value).split("\n  - ")[1:]
    assert len(problems) == 4
    for problem, key in zip(sorted(problems), sorted(k for k in context if k != "repositories"), strict=True):
        assert problem.startswith(key), problem
    assert "MAX_" not in str(error.value) and "LOG_LEVEL" not in str(error.value)


@pytest.mark.parametrize("level", ["VERBOSE", "info ", "Warn", "TRACE"])
def test_only_real_log_levels_are_accepted(level: str) -> None:
    if level.strip().upper() in ("INFO",):
        assert Settings.from_environ({"LOG_LEVEL": level}).log_level == "INFO"
        return
    with pytest.raises(ConfigurationError, match="LOG_LEVEL must be one of"):
        Settings.from_environ({"LOG_LEVEL": level})
    with pytest.raises(StackConfigError, match="log_level must be one of"):
        NotifierConfig.from_context({"repositories": ["a"], "log_level": level}.get)


@pytest.fixture
def loggers() -> Any:
    """Restore the levels apply_log_level changes."""
    names = ["", "urllib3", "botocore", "boto3", "s3transfer", "requests"]
    saved = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def test_error_means_error_even_for_the_libraries(loggers: Any) -> None:
    apply_log_level("ERROR")
    for name in ("botocore.credentials", "urllib3.connectionpool", "boto3.resources", "handler.app"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
        assert not logging.getLogger(name).isEnabledFor(logging.WARNING), name
        assert logging.getLogger(name).isEnabledFor(logging.ERROR), name


def test_debug_never_reaches_the_secret_bearing_libraries(loggers: Any) -> None:
    apply_log_level("DEBUG")
    assert logging.getLogger("handler.app").isEnabledFor(logging.DEBUG)
    for name in SECRET_BEARING_LOGGERS:
        assert not logging.getLogger(f"{name}.anything").isEnabledFor(logging.DEBUG), name


def test_adding_a_setting_is_one_line() -> None:
    @dataclass(frozen=True)
    class Extended(Settings):
        state_table_name: str | None = setting("STATE_TABLE_NAME", optional_text, None, context="state_table")

    assert Extended.from_environ({"STATE_TABLE_NAME": "seen"}).state_table_name == "seen"
    assert Extended.from_environ({}).state_table_name is None
    assert "STATE_TABLE_NAME" in {spec.variable for spec in setting_specs(Extended)}


def documented_variables() -> set[str]:
    section = REFERENCE.split("### Function (environment variables")[1].split("\n## ")[0]
    return set(re.findall(r"^\| `([A-Z_]+)`", section, flags=re.MULTILINE)) | set(
        re.findall(r"`(AWS_ENDPOINT_URL_[A-Z_]+)`", section)
    )


def test_every_documented_variable_is_read_and_every_read_variable_documented() -> None:
    endpoints = {name for name in documented_variables() if name.startswith("AWS_ENDPOINT_URL_")}
    assert documented_variables() - endpoints == {spec.variable for spec in setting_specs()}
    assert endpoints, "the reference documents the endpoint variables the tests rely on"


def test_every_context_key_is_documented() -> None:
    section = REFERENCE.split("### Stack (CDK context")[1].split("### Function")[0]
    for key in HANDLER_SETTINGS:
        assert f"`{key}`" in section, key


class _RecordingDynamoDB(BaseHTTPRequestHandler):
    """Answers every DynamoDB call with an empty result (no item) and records its target."""

    requests: ClassVar[list[tuple[str, dict[str, Any]]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append((self.headers["X-Amz-Target"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        return


class SecretsManagerStandIn(LoopbackServer):
    """Answers GetSecretValue (JSON 1.1) with one secret; counts the calls."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.calls = 0
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stand_in.calls += 1
                assert self.headers["X-Amz-Target"] == "secretsmanager.GetSecretValue"
                data = json.dumps({"ARN": body["SecretId"], "Name": "hook", "SecretString": secret}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return

        self.serve(Handler)


def test_the_documented_endpoint_variables_send_the_clients_to_that_endpoint(
    monkeypatch: pytest.MonkeyPatch, codecommit_standin: CodeCommitStandIn, scenario_repo: ScenarioRepo
) -> None:
    """Set each AWS_ENDPOINT_URL_* name exactly as the reference writes it, and use the clients."""
    secrets = SecretsManagerStandIn("https://hooks.slack.com/services/T1/B2/C3")
    try:
        dynamodb = LoopbackServer()
        dynamodb.serve(_RecordingDynamoDB)
        endpoints = {
            "AWS_ENDPOINT_URL_CODECOMMIT": codecommit_standin.url,
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": f"http://127.0.0.1:{secrets.port}",
            "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{dynamodb.port}",
        }
        assert {name for name in documented_variables() if name.startswith("AWS_ENDPOINT_URL_")} == set(
            endpoints
        )
        for name, url in endpoints.items():
            monkeypatch.setenv(name, url)
        arn = "arn:aws:secretsmanager:us-east-2:123456789012:secret:hook-AbCdEf"
        runtime = aws_runtime(Settings(webhook_secret_arn=arn, state_table_name="notifier-state"))
        before = codecommit_standin.calls["GetCommit"]
        reader = runtime.reader_for(Repository(REPOSITORY, "us-east-2", "123456789012"))
        reader.get_commit(scenario_repo.commits["root"])
        assert codecommit_standin.calls["GetCommit"] == before + 1
        assert runtime.secrets.secret_for() == "https://hooks.slack.com/services/T1/B2/C3"
        assert secrets.calls == 1
        assert runtime.state is not None and runtime.state.get("delivered#x") is None
        assert [target for target, _ in _RecordingDynamoDB.requests] == ["DynamoDB_20120810.GetItem"]
    finally:
        secrets.stop()
        dynamodb.stop()


@pytest.mark.parametrize("name", ["..", ".", "repo\nname", "repo name"])
def test_repository_names_are_checked_whole(name: str) -> None:
    with pytest.raises(StackConfigError, match="is invalid"):
        NotifierConfig.from_context({"repositories": [name]}.get)


DESTINATIONS_JSON = json.dumps(
    {
        "payments": {"type": "slack-webhook"},
        "reviews": {"type": "slack-app", "channel": "#reviews", "secret": "bot"},
    }
)


def test_destinations_and_routes_are_read_together() -> None:
    settings = Settings.from_environ(
        {
            "DESTINATION_FLAVOR": "Mattermost",
            "DESTINATIONS": DESTINATIONS_JSON,
            "ROUTES": json.dumps(
                {
                    "routes": [{"events": ["comment"], "to": ["reviews", "default"]}],
                    "filters": [{"actors": ["ci-*"]}],
                }
            ),
        }
    )
    assert settings.destination_flavor is Flavor.MATTERMOST
    assert sorted(settings.destinations) == ["payments", "reviews"]
    assert settings.destinations["reviews"].secret == "bot"
    assert settings.routing is not None
    assert settings.routing.routes[0].to == ("reviews", "default")
    assert settings.routing.filters[0].actors == ("ci-*",)
    unset = Settings.from_environ({})
    assert (unset.destination_flavor, dict(unset.destinations), unset.routing) == (None, {}, None)


def test_routes_may_name_only_declared_destinations_or_default() -> None:
    with pytest.raises(ConfigurationError) as error:
        Settings.from_environ(
            {"DESTINATIONS": DESTINATIONS_JSON, "ROUTES": '{"routes": [{"to": ["default", "review"]}]}'}
        )
    assert str(error.value) == (
        "invalid settings: ROUTES routes[0].to[1]: unknown destination 'review' (did you mean 'reviews'?); "
        "the destinations are default, payments, reviews (declare others in DESTINATIONS)"
    )
    with pytest.raises(
        ConfigurationError, match=re.escape("ROUTES routes[0].to[0]: unknown destination 'payments'")
    ):
        Settings.from_environ({"ROUTES": '{"routes": [{"to": ["payments"]}]}'})
    routed = Settings.from_environ({"ROUTES": '{"routes": [{"to": ["default"]}]}'}).routing
    assert routed is not None and routed.routes


def test_an_invalid_destinations_is_reported_once_not_again_through_routes() -> None:
    with pytest.raises(ConfigurationError) as error:
        Settings.from_environ(
            {
                "DESTINATIONS": '{"payments": {"type": "slack"}}',
                "ROUTES": '{"routes": [{"to": ["payments"]}], "filters": [{}]}',
                "DESTINATION_FLAVOR": "teams",
            }
        )
    message = str(error.value)
    assert "DESTINATIONS has 1 problem:\n    - payments.type: 'slack' is not a destination type" in message
    assert "ROUTES has 1 problem:\n    - filters[0]: has no match keys" in message
    assert "DESTINATION_FLAVOR must be slack or mattermost, got 'teams'" in message
    assert "unknown destination" not in message


@pytest.mark.parametrize("text", ["{not json", "[]", "null"])
def test_routes_and_destinations_must_be_json_objects(text: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        Settings.from_environ({"ROUTES": text, "DESTINATIONS": text})
    assert "ROUTES " in str(error.value) and "DESTINATIONS " in str(error.value)


def test_at_synth_destinations_are_named_by_context_key() -> None:
    with pytest.raises(StackConfigError) as error:
        NotifierConfig.from_context(
            {
                "repositories": ["a"],
                "destinations": {"payments": {"type": "slak-webhook"}},
                "destination_flavor": "mm",
            }.get
        )
    message = str(error.value)
    assert (
        "\n  - destinations has 1 problem:\n    - payments.type: 'slak-webhook' is not a destination type"
        in (message)
    )
    assert "\n  - destination_flavor must be slack or mattermost, got 'mm'" in message
    config = NotifierConfig.from_context(
        {
            "repositories": ["a"],
            "destinations": json.loads(DESTINATIONS_JSON),
            "destination_flavor": "slack",
        }.get
    )
    assert json.loads(config.handler_environment["DESTINATIONS"]) == json.loads(DESTINATIONS_JSON)
    assert config.handler_environment["DESTINATION_FLAVOR"] == "slack"


#: Every number setting (issue 17, item 11).
NUMBER_SETTINGS = {
    spec.variable: spec
    for spec in setting_specs()
    if spec.parse.__qualname__.startswith(("whole_number", "seconds"))
}
#: Text ``int()`` reads as a number but a person setting a limit does not write: other scripts'
#: digits, signs, underscores, and digits that are not decimal digits.
NOT_ASCII_DIGITS = ["١٠", "५०", "１０", "5_0", "+5", "-0", " +5", "1e3", "10.0", "²", "0x10"]


@pytest.mark.parametrize("text", NOT_ASCII_DIGITS)
@pytest.mark.parametrize("variable", sorted(NUMBER_SETTINGS))
def test_number_settings_take_ascii_digits_only(variable: str, text: str) -> None:
    expected = f"{variable} must be a whole number written with the digits 0-9"
    with pytest.raises(ConfigurationError, match=expected):
        Settings.from_environ({variable: text})


@pytest.mark.parametrize("variable", sorted(NUMBER_SETTINGS))
def test_number_settings_still_take_plain_digits(variable: str) -> None:
    spec = NUMBER_SETTINGS[variable]
    for text in ("0", "1", "10", "30", "500", "2000", "40000"):
        try:
            value = spec.parse(text)
        except ValueError as error:
            assert "between" in str(error), (variable, text, error)  # out of range, not unreadable
        else:
            assert value == int(text)


@pytest.mark.parametrize("text", [*NOT_ASCII_DIGITS, 30.0, True])
@pytest.mark.parametrize("key", ["log_retention_days", "function_timeout_seconds", "reserved_concurrency"])
def test_at_synth_number_context_takes_ascii_digits_or_json_integers(key: str, text: object) -> None:
    context = {"repositories": ["repo"], key: text}
    with pytest.raises(StackConfigError, match=f"{key} must be a whole number written with the digits 0-9"):
        NotifierConfig.from_context(context.get)
    assert NotifierConfig.from_context({"repositories": ["repo"], key: "90"}.get)
    assert NotifierConfig.from_context({"repositories": ["repo"], key: 90}.get)
