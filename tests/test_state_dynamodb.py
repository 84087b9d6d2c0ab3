"""The DynamoDB backend's requests, its error messages, and how its client is found.

botocore's Stubber checks each request against DynamoDB's service model and answers with the
errors a real table gives; a loopback server stands in for an endpoint set by
``AWS_ENDPOINT_URL_DYNAMODB``. The behaviour every backend shares is in test_state.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

import botocore.session
import pytest
from botocore.config import Config
from botocore.stub import ANY, Stubber

from handler.state import StateError, StateItem
from handler.state.dynamodb import STATE_MAX_ATTEMPTS, DynamoDBStore, dynamodb_store
from tests.standins import LoopbackServer

TABLE = "notifier-state"
NOW = 1_800_000_000


@pytest.fixture
def client() -> Any:
    return botocore.session.get_session().create_client(
        "dynamodb", region_name="us-east-2", config=Config(retries={"mode": "standard", "max_attempts": 3})
    )


@pytest.fixture
def stubbed(client: Any) -> Iterator[tuple[DynamoDBStore, Stubber]]:
    with Stubber(client) as stubber:
        yield DynamoDBStore(client, TABLE, clock=lambda: NOW + 0.5), stubber
        stubber.assert_no_pending_responses()


def test_reads_are_consistent_and_writes_are_conditional(stubbed: tuple[DynamoDBStore, Stubber]) -> None:
    store, stubber = stubbed
    key = {"pk": {"S": "head#x"}}
    stubber.add_response(
        "get_item",
        {
            "Item": {
                **key,
                "version": {"N": "7"},
                "expires_at": {"N": str(NOW + 60)},
                "data": {"M": {"commit_id": {"S": "c1"}, "count": {"N": "2"}}},
            }
        },
        {"TableName": TABLE, "Key": key, "ConsistentRead": True},
    )
    stubber.add_response(
        "put_item",
        {},
        {
            "TableName": TABLE,
            "Item": {**key, "version": {"N": "8"}, "data": {"M": {"commit_id": {"S": "c2"}}}},
            "ConditionExpression": (
                "version = :version AND (attribute_not_exists(expires_at) OR expires_at > :now)"
            ),
            "ExpressionAttributeValues": {":version": {"N": "7"}, ":now": {"N": str(NOW)}},
        },
    )
    stubber.add_response(
        "put_item",
        {},
        {
            "TableName": TABLE,
            "Item": {
                "pk": {"S": "delivered#m"},
                "version": ANY,
                "expires_at": {"N": str(NOW + 30)},
                "data": {"M": {"state": {"S": "IN_PROGRESS"}}},
            },
            "ConditionExpression": "attribute_not_exists(pk) OR expires_at <= :now",
            "ExpressionAttributeValues": {":now": {"N": str(NOW)}},
        },
    )
    stubber.add_response(
        "delete_item",
        {},
        {
            "TableName": TABLE,
            "Key": key,
            "ConditionExpression": "attribute_not_exists(pk) OR version = :version OR expires_at <= :now",
            "ExpressionAttributeValues": {":version": {"N": "8"}, ":now": {"N": str(NOW)}},
        },
    )

    current = store.get("head#x")
    assert current == StateItem("head#x", {"commit_id": "c1", "count": 2}, 7, NOW + 60)
    replaced = store.replace(current, {"commit_id": "c2"}, expires_at=None)
    assert replaced == StateItem("head#x", {"commit_id": "c2"}, 8, None)
    assert store.put_new("delivered#m", {"state": "IN_PROGRESS"}, expires_at=NOW + 30) is not None
    assert store.delete(replaced) is True


def test_an_item_past_its_expiry_that_ttl_has_not_removed_yet_is_absent(
    stubbed: tuple[DynamoDBStore, Stubber],
) -> None:
    store, stubber = stubbed
    stubber.add_response(
        "get_item",
        {"Item": {"pk": {"S": "k"}, "version": {"N": "1"}, "expires_at": {"N": str(NOW)}, "data": {"M": {}}}},
    )
    assert store.get("k") is None


def test_a_failed_condition_is_an_answer_not_an_error(stubbed: tuple[DynamoDBStore, Stubber]) -> None:
    store, stubber = stubbed
    for operation in ("put_item", "put_item", "delete_item"):
        stubber.add_client_error(
            operation, "ConditionalCheckFailedException", "The conditional request failed"
        )
    assert store.put_new("k", {}, expires_at=None) is None
    assert store.replace(StateItem("k", {}, 3), {}, expires_at=None) is None
    assert store.delete(StateItem("k", {}, 3)) is False


@pytest.mark.parametrize(
    ("operation", "code", "hint"),
    [
        ("get_item", "AccessDeniedException", "needs dynamodb:GetItem on the table's ARN"),
        ("put_item", "AccessDeniedException", "needs dynamodb:PutItem on the table's ARN"),
        ("delete_item", "AccessDeniedException", "needs dynamodb:DeleteItem on the table's ARN"),
        ("get_item", "ThrottlingException", "throttled after botocore's retries"),
        ("put_item", "ProvisionedThroughputExceededException", "throttled after botocore's retries"),
        ("get_item", "ResourceNotFoundException", "Check STATE_TABLE_NAME"),
        ("get_item", "InternalServerError", "Lambda retries the event"),
    ],
)
def test_other_failures_raise_state_error_naming_the_table_and_what_to_check(
    stubbed: tuple[DynamoDBStore, Stubber], operation: str, code: str, hint: str
) -> None:
    store, stubber = stubbed
    stubber.add_client_error(operation, code, "denied or busy", http_status_code=400)
    call = {
        "get_item": lambda: store.get("k"),
        "put_item": lambda: store.put_new("k", {}, expires_at=None),
        "delete_item": lambda: store.delete(StateItem("k", {}, 1)),
    }[operation]
    with pytest.raises(StateError) as raised:
        call()
    assert f"state table {TABLE!r}" in str(raised.value)
    assert code in str(raised.value)
    assert hint in str(raised.value)


class _ThrottlingDynamoDB(BaseHTTPRequestHandler):
    """Throttles every call, as DynamoDB does past a table's or an account's limits."""

    attempts: ClassVar[int] = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).attempts += 1
        answer = json.dumps(
            {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "Rate exceeded"}
        ).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_throttling_past_botocores_retries_is_a_state_error_naming_the_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = LoopbackServer()
    server.serve(_ThrottlingDynamoDB)
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{server.port}")
        store = dynamodb_store(TABLE, "us-east-2")
        with pytest.raises(StateError, match=f"state table '{TABLE}' failed: ThrottlingException") as raised:
            store.put_new("delivered#m", {"state": "IN_PROGRESS"}, expires_at=NOW)
    finally:
        server.stop()
    assert _ThrottlingDynamoDB.attempts == STATE_MAX_ATTEMPTS
    assert "throttled after botocore's retries" in str(raised.value)


class _RecordingDynamoDB(BaseHTTPRequestHandler):
    """Answers every DynamoDB call with an empty result and records what it was asked."""

    requests: ClassVar[list[tuple[str, dict[str, Any]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.requests.append((self.headers["X-Amz-Target"], json.loads(body)))
        answer = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_aws_endpoint_url_dynamodb_steers_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    server = LoopbackServer()
    server.serve(_RecordingDynamoDB)
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{server.port}")
        store = dynamodb_store(TABLE, "eu-west-1")
        assert store.get("head#x") is None
    finally:
        server.stop()
    assert _RecordingDynamoDB.requests == [
        (
            "DynamoDB_20120810.GetItem",
            {"TableName": TABLE, "Key": {"pk": {"S": "head#x"}}, "ConsistentRead": True},
        )
    ]

