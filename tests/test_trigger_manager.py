"""The trigger custom resource, against a CodeCommit stand-in that already holds other teams' triggers.

Each test drives the real Lambda entry point (``cdk/trigger_manager/index.py``) with a
CloudFormation-shaped event; CloudFormation's pre-signed response URL is a loopback server that
records what it is told.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cdk.trigger_manager import index
from tests.conftest import codecommit_client
from tests.standins.codecommit import CodeCommitStandIn, running

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
