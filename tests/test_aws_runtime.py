"""How the deployed runtime makes its AWS clients: botocore, one session, the standard endpoints.

The clients are made without boto3 (whose import the cold start would pay for) and from one
botocore session; these tests hold that to what the design requires of every client: the
standard ``AWS_ENDPOINT_URL_<SERVICE>`` variables still point it elsewhere. DynamoDB and Secrets
Manager are moto's server (``tests/standins/dynamodb.py``), CodeCommit the git-backed stand-in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import botocore.session
import pytest

import handler.app
from handler.app import lambda_handler
from tests.scenarios import ScenarioRepo, scenario_events
from tests.standins import dynamodb
from tests.standins.codecommit import CodeCommitStandIn
from tests.standins.slack import SlackStandIn

ROOT = Path(__file__).resolve().parent.parent


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.fixture(scope="module")
def moto_server() -> Iterator[dynamodb.DynamoDBStandIn]:
    with dynamodb.running() as stand_in:
        yield stand_in


def test_every_client_follows_its_standard_endpoint_variable(
    monkeypatch: pytest.MonkeyPatch,
    moto_server: dynamodb.DynamoDBStandIn,
    codecommit_standin: CodeCommitStandIn,
    scenario_repo: ScenarioRepo,
    slack_standin: SlackStandIn,
) -> None:
    secrets = botocore.session.get_session().create_client(
        "secretsmanager",
        region_name=moto_server.region,
        endpoint_url=moto_server.url,
        aws_access_key_id="standin",
        aws_secret_access_key="standin",
    )
    arn = secrets.create_secret(Name="endpoint-test-webhook", SecretString=slack_standin.url)["ARN"]
    monkeypatch.setattr(handler.app, "_lambda_runtime", None)
    for name, value in moto_server.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_server.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_CODECOMMIT", codecommit_standin.url)
    monkeypatch.setenv("SLACK_WEBHOOK_SECRET_ARN", arn)
    moto_server.calls.clear()
    codecommit_standin.calls.clear()
    delivered_before = len(slack_standin.delivered)

    assert lambda_handler(scenario_events(scenario_repo.commits)["merge_commit"], Context()) == {
        "delivered": 1
    }

    assert len(slack_standin.delivered) == delivered_before + 1
    assert codecommit_standin.calls["GetCommit"] >= 1
    assert moto_server.calls["secretsmanager.GetSecretValue"] == 1
    assert moto_server.calls["PutItem"] >= 2  # the claim, the head, the delivery mark
    assert moto_server.calls["GetItem"] >= 1  # the branch's recorded head


def test_the_deployed_runtime_makes_every_client_from_one_botocore_session_without_boto3() -> None:
    """In a fresh process, as in a new Lambda container: no session left over from other tests."""
    code = """
import gc, json, sys
import botocore.session
from handler.runtime import aws_runtime
from handler.sources.trigger import parse_repository_arn
from handler.settings import Settings

sessions = []
original = botocore.session.Session.__init__
def counted(session, *args, **kwargs):
    sessions.append(session)
    original(session, *args, **kwargs)
botocore.session.Session.__init__ = counted

runtime = aws_runtime(
    Settings(webhook_url="https://hooks.slack.com/services/T0/B0/x", state_table_name="notifier-state"),
    {"STATE_TABLE_NAME": "notifier-state", "AWS_REGION": "eu-west-1"},
)
runtime.reader_for(parse_repository_arn("arn:aws:codecommit:eu-west-1:111122223333:repo"))
runtime.reader_for(parse_repository_arn("arn:aws:codecommit:us-west-2:111122223333:other"))
print(json.dumps({
    "sessions": len(sessions),
    "gc_enabled": gc.isenabled(),
    "boto3": sorted(name for name in sys.modules if name.split(".")[0] in ("boto3", "s3transfer")),
}))
"""
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9",  # nothing is called
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], env=environment, cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == {"sessions": 1, "gc_enabled": True, "boto3": []}


GC_PROBE = """
import gc, json, sys
import handler.app
during = gc.isenabled()
frozen_before = gc.get_freeze_count()
result = handler.app.lambda_handler({"Records": [{"EventSource": "aws:s3"}]}, None)
print(json.dumps({"during": during, "after": gc.isenabled(), "froze": gc.get_freeze_count() > frozen_before,
                  "paused": handler.cold_start_collection_paused, "result": result}))
"""


@pytest.mark.parametrize("in_lambda", [True, False])
def test_the_collector_is_held_off_for_a_lambda_cold_start_only(in_lambda: bool) -> None:
    environment = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T000/B000/XXXX",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    if in_lambda:
        environment["_HANDLER"] = "handler.app.lambda_handler"
    result = subprocess.run(
        [sys.executable, "-c", GC_PROBE], capture_output=True, text=True, env=environment, check=True, cwd="/"
    )
    seen = json.loads(result.stdout.splitlines()[-1])
    assert seen["during"] is not in_lambda  # off from the import on, in Lambda only
    assert seen["after"] is True  # always on once the first invocation is over
    assert seen["froze"] is in_lambda  # what the cold start made is frozen, not re-examined
    assert seen["paused"] is False
    assert seen["result"] == {"delivered": 0}


def test_the_collector_is_resumed_even_when_the_first_invocation_fails() -> None:
    probe = (
        "import gc, handler.app\n"
        "try:\n"
        "    handler.app.lambda_handler({}, None)\n"
        "except Exception as error:\n"
        "    print(type(error).__name__, gc.isenabled())\n"
    )
    environment = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "_HANDLER": "handler.app.lambda_handler",
        "LOG_LEVEL": "LOUD",  # refused at cold start: the first invocation raises
    }
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=environment, check=True, cwd="/"
    )
    assert result.stdout.split() == ["ConfigurationError", "True"], result.stdout + result.stderr


ROUTING_PROBE = """
import json, sys
from handler.pipelines.push import route_notification
from handler.runtime import Runtime
from handler.deliver.webhook_url import DestinationSecrets
from handler.model import Notification, Push, Pusher, RefAction, RefChange, RefKind, Repository
from handler.settings import Settings

settings = Settings.from_environ(json.loads(sys.argv[1]))
ref = RefChange("refs/heads/main", RefKind.BRANCH, "main", RefAction.UPDATED, "a" * 40)
repository = Repository("repo", "us-east-1", "111122223333")
push = Push(repository, Pusher("alice", "user", "arn"), (ref,), None, "e", "t")
url = "https://hooks.slack.com/services/T0/B0/x"
secrets = DestinationSecrets(url=url, secret_arn=None, secrets_client=None)
runtime = Runtime(settings=settings, reader_for=None, secrets=secrets, state=None)
routed = route_notification(Notification(push, ()), runtime)
print(json.dumps({"to": {name: [r.short_name for r in refs] for name, refs in routed.by_destination.items()},
                  "routing imported": "handler.routing" in sys.modules}))
"""


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, {"to": {"default": ["main"]}, "routing imported": False}),
        (
            {"DESTINATIONS": '{"ops": {"type": "slack-webhook"}}', "ROUTES": '{"routes": [{"to": ["ops"]}]}'},
            {"to": {"ops": ["main"]}, "routing imported": True},
        ),
    ],
    ids=["without ROUTES", "with ROUTES"],
)
def test_the_routing_module_is_imported_only_where_routes_are_set(
    environ: dict[str, str], expected: dict[str, object]
) -> None:
    """A cold start without ``ROUTES`` sends everything to ``default`` without importing
    handler.routing (about 5 ms of a cold start on this machine's Python)."""
    result = subprocess.run(
        [sys.executable, "-c", ROUTING_PROBE, json.dumps(environ)],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    )
    assert json.loads(result.stdout.splitlines()[-1]) == expected
