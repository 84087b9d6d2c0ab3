"""The trigger custom resource, against a CodeCommit stand-in that already holds other teams' triggers.

Each test drives the real Lambda entry point (``cdk/trigger_manager/index.py``) with a
CloudFormation-shaped event; CloudFormation's pre-signed response URL is a loopback server that
records what it is told.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import string
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App
from aws_cdk.assertions import Template

import app as entry
from cdk.trigger_manager import index
from cdk.triggers import MANAGER_TIMEOUT_SECONDS, trigger_name_for
from tests.conftest import codecommit_client
from tests.standins.codecommit import CodeCommitStandIn, running

ROOT = Path(__file__).resolve().parent.parent

OTHERS = [
    {
        "name": "team-a-jenkins",
        "destinationArn": "arn:aws:sns:us-east-2:111122223333:jenkins",
        "customData": "build",
        "branches": ["main"],
        "events": ["updateReference"],
    },
    {
        "name": "team-b-audit",
        "destinationArn": "arn:aws:lambda:us-east-2:111122223333:function:audit",
        "customData": "",
        "branches": [],
        "events": ["all"],
    },
]
TOPIC = "arn:aws:sns:us-east-2:111122223333:notifier"


@pytest.fixture
def cloudformation() -> Iterator[list[dict[str, Any]]]:
    """A stand-in for CloudFormation's response URL: records every response body."""
    responses: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            responses.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    responses.append({"url": f"http://127.0.0.1:{server.server_address[1]}/response"})
    yield responses
    server.shutdown()
    server.server_close()


@pytest.fixture
def codecommit(tmp_path: Path) -> Iterator[CodeCommitStandIn]:
    with running({"shared-repo": tmp_path}) as stand_in:
        stand_in.triggers["shared-repo"] = [dict(trigger) for trigger in OTHERS]
        yield stand_in


def invoke(
    request_type: str, cloudformation: list[dict[str, Any]], stand_in: CodeCommitStandIn, **properties: Any
) -> dict[str, Any]:
    event = {
        "RequestType": request_type,
        "ResponseURL": cloudformation[0]["url"],
        "StackId": "arn:aws:cloudformation:us-east-2:111122223333:stack/s/1",
        "RequestId": f"request-{len(cloudformation)}",
        "LogicalResourceId": "Trigger",
        "ResourceProperties": {
            "RepositoryName": "shared-repo",
            "TriggerName": "slack-notifier-s",
            "DestinationArn": TOPIC,
            "Branches": [],
            "Events": ["all"],
            **properties,
        },
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = "shared-repo/slack-notifier-s"
    index.handler(event, None, client=codecommit_client(stand_in.url))
    return cloudformation[-1]


def names(stand_in: CodeCommitStandIn) -> list[str]:
    return [trigger["name"] for trigger in stand_in.triggers["shared-repo"]]


def test_create_adds_ours_and_keeps_theirs(
    cloudformation: list[dict[str, Any]], codecommit: CodeCommitStandIn
) -> None:
    response = invoke("Create", cloudformation, codecommit)
    assert response["Status"] == "SUCCESS"
    assert response["PhysicalResourceId"] == "shared-repo/slack-notifier-s"
    assert codecommit.triggers["shared-repo"][:2] == OTHERS
    assert codecommit.triggers["shared-repo"][2] == {
        "name": "slack-notifier-s",
        "destinationArn": TOPIC,
        "customData": "",
        "branches": [],
        "events": ["all"],
    }


def test_update_replaces_ours_in_place(
    cloudformation: list[dict[str, Any]], codecommit: CodeCommitStandIn
) -> None:
    invoke("Create", cloudformation, codecommit)
    invoke("Update", cloudformation, codecommit, Branches=["main", "develop"])
    assert names(codecommit) == ["team-a-jenkins", "team-b-audit", "slack-notifier-s"]
    assert codecommit.triggers["shared-repo"][2]["branches"] == ["main", "develop"]
    assert codecommit.triggers["shared-repo"][:2] == OTHERS


def test_create_twice_does_not_duplicate(
    cloudformation: list[dict[str, Any]], codecommit: CodeCommitStandIn
) -> None:
    invoke("Create", cloudformation, codecommit)
    invoke("Create", cloudformation, codecommit)
    assert names(codecommit).count("slack-notifier-s") == 1


def test_delete_removes_only_ours(
    cloudformation: list[dict[str, Any]], codecommit: CodeCommitStandIn
) -> None:
    invoke("Create", cloudformation, codecommit)
    response = invoke("Delete", cloudformation, codecommit)
    assert response["Status"] == "SUCCESS"
    assert codecommit.triggers["shared-repo"] == OTHERS


def test_delete_when_ours_is_already_gone_writes_nothing(
    cloudformation: list[dict[str, Any]], codecommit: CodeCommitStandIn
) -> None:
    assert invoke("Delete", cloudformation, codecommit)["Status"] == "SUCCESS"
    assert codecommit.calls["PutRepositoryTriggers"] == 0


def test_delete_of_a_vanished_repository_succeeds(
    cloudformation: list[dict[str, Any]], codecommit: CodeCommitStandIn
) -> None:
    response = invoke("Delete", cloudformation, codecommit, RepositoryName="deleted-repo")
    assert response["Status"] == "SUCCESS"


def test_missing_repository_on_create_fails_with_reason(
    cloudformation: list[dict[str, Any]], codecommit: CodeCommitStandIn
) -> None:
    response = invoke("Create", cloudformation, codecommit, RepositoryName="typo-repo")
    assert response["Status"] == "FAILED"
    assert "RepositoryDoesNotExistException" in response["Reason"]


def test_a_full_repository_fails_with_reason_and_keeps_theirs(
    cloudformation: list[dict[str, Any]], codecommit: CodeCommitStandIn
) -> None:
    full = [dict(OTHERS[0], name=f"team-{index}") for index in range(10)]
    codecommit.triggers["shared-repo"] = full
    response = invoke("Create", cloudformation, codecommit)
    assert response["Status"] == "FAILED"
    assert "MaximumRepositoryTriggersExceededException" in response["Reason"]
    assert codecommit.triggers["shared-repo"] == full


def test_pure_merge_functions() -> None:
    ours = {"name": "n", "destinationArn": "d", "customData": "", "branches": [], "events": ["all"]}
    assert index.upsert_trigger([], ours) == [ours]
    assert index.upsert_trigger([{"name": "n", "old": True}, OTHERS[0]], ours) == [ours, OTHERS[0]]
    assert index.remove_trigger([*OTHERS, ours], "n") == OTHERS


class Context:
    """A Lambda context whose remaining time is fixed (no wall clock involved)."""

    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def cfn_event(cloudformation: list[dict[str, Any]], request_type: str, **properties: Any) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": cloudformation[0]["url"],
        "StackId": "arn:aws:cloudformation:us-east-2:111122223333:stack/s/1",
        "RequestId": f"request-{len(cloudformation)}",
        "LogicalResourceId": "Trigger",
        "ResourceProperties": {
            "RepositoryName": "shared-repo",
            "TriggerName": "slack-notifier-s",
            "DestinationArn": TOPIC,
            **properties,
        },
    }


class Raising:
    """A CodeCommit client whose every call raises ``error``."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def get_repository_triggers(self, **kwargs: Any) -> Any:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        ReadTimeoutError(endpoint_url="https://codecommit.us-east-2.amazonaws.com"),
        ConnectionClosedError(endpoint_url="https://codecommit.us-east-2.amazonaws.com"),
        EndpointConnectionError(endpoint_url="https://codecommit.us-east-2.amazonaws.com"),
        KeyError("triggers"),
        MemoryError(),
    ],
    ids=type,
)
@pytest.mark.parametrize("request_type", ["Create", "Update", "Delete"])
def test_any_error_is_answered_failed(
    cloudformation: list[dict[str, Any]], error: BaseException, request_type: str
) -> None:
    index.handler(cfn_event(cloudformation, request_type), Context(60_000), client=Raising(error))
    assert len(cloudformation) == 2, "CloudFormation got no answer"
    assert cloudformation[-1]["Status"] == "FAILED"
    assert type(error).__name__ in cloudformation[-1]["Reason"]


def test_error_code_never_raises() -> None:
    class Odd(Exception):
        response: Any = "not a dict"

    assert index.error_code(ReadTimeoutError(endpoint_url="x")) == "ReadTimeoutError"
    assert index.error_code(Odd()) == "Odd"
    denied = ClientError({"Error": {"Code": "AccessDeniedException"}}, "PutRepositoryTriggers")
    assert index.error_code(denied) == "AccessDeniedException"


class Hanging:
    """A CodeCommit client whose call blocks far longer than the function may run."""

    def __init__(self) -> None:
        self.released = threading.Event()

    def get_repository_triggers(self, **kwargs: Any) -> Any:
        self.released.wait(timeout=30)  # interrupted by the watchdog, else the test fails
        return {"triggers": []}


def test_a_hanging_call_is_answered_before_the_time_runs_out(cloudformation: list[dict[str, Any]]) -> None:
    remaining_ms = int((index.RESERVED_SECONDS + 0.3) * 1000)
    index.handler(cfn_event(cloudformation, "Create"), Context(remaining_ms), client=Hanging())
    assert cloudformation[-1]["Status"] == "FAILED"
    assert "OutOfTime" in cloudformation[-1]["Reason"]


def test_too_little_time_is_answered_at_once(cloudformation: list[dict[str, Any]]) -> None:
    index.handler(cfn_event(cloudformation, "Delete"), Context(2_000), client=Hanging())
    assert cloudformation[-1]["Status"] == "FAILED"
    assert "OutOfTime" in cloudformation[-1]["Reason"]


def test_the_client_gives_up_long_before_the_function_times_out() -> None:
    config = index._default_client().meta.config
    attempts = config.retries["total_max_attempts"]
    worst_call = attempts * (config.connect_timeout + config.read_timeout) + sum(
        min(20, 2**n) for n in range(attempts - 1)
    )
    assert 2 * worst_call + index.RESERVED_SECONDS < MANAGER_TIMEOUT_SECONDS


# --- a stack update, as CloudFormation runs it -------------------------------------------------

PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "us-east-2", "AWS::AccountId": "111122223333"}


def synthesize(tmp_path: Path, repositories: str) -> dict[str, Any]:
    """The template `cdk synth` writes for these repositories (cdk.json's context otherwise)."""
    context = {**json.loads((ROOT / "cdk.json").read_text())["context"]}
    context.update({"aws:cdk:bundling-stacks": [], "repositories": repositories})
    app = App(context=context, outdir=str(tmp_path / repositories.replace(",", "_")))
    stack = entry.build_app(app)
    app.synth()
    return dict(Template.from_stack(stack).to_json())


def resolve(value: Any) -> str:
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return PSEUDO.get(value["Ref"], f"<{value['Ref']}>")
    if "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])  # another resource: never a repository
    separator, parts = value["Fn::Join"]
    return str(separator).join(resolve(part) for part in parts)


class PolicyEnforcingClient:
    """A CodeCommit client that first asks the manager role's policy, as IAM would."""

    def __init__(
        self, template: dict[str, Any], client: Any, role: str = "ExistingRepositoryTriggersRole"
    ) -> None:
        self._client = client
        self._allowed: list[tuple[str, str]] = []
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] == "AWS::IAM::Policy" and logical_id.startswith(role):
                for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                    actions, resources = statement["Action"], statement["Resource"]
                    actions = actions if isinstance(actions, list) else [actions]
                    resources = resources if isinstance(resources, list) else [resources]
                    self._allowed += [(a, resolve(r)) for a in actions for r in resources]

    def permits(self, action: str, repository: str) -> bool:
        arn = f"arn:aws:codecommit:us-east-2:111122223333:{repository}"
        return any(fnmatch.fnmatchcase(action, a) and fnmatch.fnmatchcase(arn, r) for a, r in self._allowed)

    def _check(self, action: str, repository: str) -> None:
        if not self.permits(action, repository):
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "denied"}}, action)

    def get_repository_triggers(self, repositoryName: str) -> Any:  # noqa: N803 (boto3's name)
        self._check("codecommit:GetRepositoryTriggers", repositoryName)
        return self._client.get_repository_triggers(repositoryName=repositoryName)

    def put_repository_triggers(self, repositoryName: str, triggers: Any) -> Any:  # noqa: N803
        self._check("codecommit:PutRepositoryTriggers", repositoryName)
        return self._client.put_repository_triggers(repositoryName=repositoryName, triggers=triggers)


def trigger_resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Repository name → its custom resource's properties (the topic reference made concrete)."""
    return {
        resource["Properties"]["RepositoryName"]: {**resource["Properties"], "DestinationArn": TOPIC}
        for resource in template["Resources"].values()
        if resource["Type"] == "Custom::CodeCommitRepositoryTrigger"
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("keep-repo,drop-repo", "keep-repo"),  # a name removed from `repositories`
        ("keep-repo", "keep-repo,drop-repo"),  # an update that added it, rolled back
    ],
    ids=["removed", "rolled-back"],
)
def test_a_repository_leaving_the_stack_loses_exactly_our_trigger(
    cloudformation: list[dict[str, Any]], tmp_path: Path, before: str, after: str
) -> None:
    old, new = synthesize(tmp_path, before), synthesize(tmp_path, after)
    # In a rollback CloudFormation goes back from `after` to `before`: the policy is `before`'s.
    with_drop, without_drop = (old, new) if "drop-repo" in before else (new, old)
    with running({"keep-repo": tmp_path, "drop-repo": tmp_path}) as stand_in:
        for name in ("keep-repo", "drop-repo"):
            stand_in.triggers[name] = [dict(trigger) for trigger in OTHERS]
        real = codecommit_client(stand_in.url)
        for properties in trigger_resources(with_drop).values():
            event = {**cfn_event(cloudformation, "Create"), "ResourceProperties": properties}
            index.handler(event, Context(60_000), client=PolicyEnforcingClient(with_drop, real))
            assert cloudformation[-1]["Status"] == "SUCCESS"
        ours = trigger_resources(with_drop)["drop-repo"]["TriggerName"]
        assert "drop-repo" not in trigger_resources(without_drop)  # so CloudFormation deletes it
        # CloudFormation has already applied the policy of the template it is moving to.
        enforcing = PolicyEnforcingClient(without_drop, real)
        assert enforcing.permits("codecommit:PutRepositoryTriggers", "drop-repo")
        delete = {
            **cfn_event(cloudformation, "Delete"),
            "ResourceProperties": trigger_resources(with_drop)["drop-repo"],
            "PhysicalResourceId": f"drop-repo/{ours}",
        }
        index.handler(delete, Context(60_000), client=enforcing)
        assert cloudformation[-1]["Status"] == "SUCCESS", cloudformation[-1]["Reason"]
        assert stand_in.triggers["drop-repo"] == OTHERS
        assert [t["name"] for t in stand_in.triggers["keep-repo"]] == [*(t["name"] for t in OTHERS), ours]


# --- our trigger's name --------------------------------------------------------------------------

TRIGGER_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")


def test_a_short_name_is_kept_as_it_was() -> None:
    assert (
        trigger_name_for("slack-notifier", "CodeCommitSlackNotifier")
        == "slack-notifier-CodeCommitSlackNotifier"
    )


def test_long_names_that_share_a_prefix_stay_apart() -> None:
    prefix = "team-payments-platform-notifications-slack-notifier-with-a-long-and-descriptive-prefix"
    first = trigger_name_for(prefix, "CodeCommitSlackNotifier-Production")
    second = trigger_name_for(prefix, "CodeCommitSlackNotifier-Staging")
    assert first != second
    assert TRIGGER_NAME.fullmatch(first) and TRIGGER_NAME.fullmatch(second)
    assert first.startswith(prefix[:60])  # still readable


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.text(alphabet=string.ascii_letters + string.digits + "._-", min_size=1, max_size=100),
    st.lists(
        st.text(alphabet=string.ascii_letters + string.digits + "-", min_size=1, max_size=128),
        min_size=2,
        max_size=2,
        unique=True,
    ),
)
def test_trigger_names_are_valid_and_unique_per_stack(prefix: str, stack_names: list[str]) -> None:
    names = [trigger_name_for(prefix, stack_name) for stack_name in stack_names]
    assert all(TRIGGER_NAME.fullmatch(name) for name in names)
    assert names[0] != names[1]
