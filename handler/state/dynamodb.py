"""The deployed :class:`~handler.state.StateStore`: one DynamoDB table, written with conditions.

Item layout (the table has partition key ``pk`` and nothing else; the stack creates it)::

    pk          S   the key, with its prefix (``head#…``, ``delivered#…``)
    version     N   random when created, +1 on every replace: what the conditions compare
    expires_at  N   epoch seconds; the table's TTL attribute. Absent: the item never expires
    data        M   the item's attributes, each an S or an N

The attributes live in one map rather than as top-level attributes so that no attribute name
can collide with ``pk``, ``version`` or ``expires_at``, nor with DynamoDB's reserved words.

Every write is conditional, evaluated by DynamoDB against the stored item, so two invocations
racing on one key cannot both win. TTL deletes expired items only eventually (usually within
days), so every read and every condition also treats ``expires_at <= now`` as absent.

Only the low-level client is used (GetItem, PutItem, DeleteItem: exactly what the stack grants),
and :func:`dynamodb_store` builds it from a plain botocore session rather than boto3, whose
import the function's cold start would otherwise pay for.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from handler.state import AttributeValue, StateError, StateItem, check_attributes, first_version

if TYPE_CHECKING:
    from botocore.config import Config

_CONDITION_FAILED = "ConditionalCheckFailedException"
_THROTTLED = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ThrottlingException",
        "Throttling",
    }
)
_ACCESS_DENIED = frozenset({"AccessDeniedException", "UnrecognizedClientException"})


class DynamoDBStore:
    """A :class:`~handler.state.StateStore` over a DynamoDB table, through a client the caller owns.

    Args:
        client: a botocore (or boto3) DynamoDB client, low-level.
        table_name: the table, as ``STATE_TABLE_NAME`` names it.
        clock: epoch seconds; tests pass their own to move time.
    """

    def __init__(self, client: Any, table_name: str, *, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._table_name = table_name
        self._clock = clock

    def _now(self) -> int:
        """Whole seconds, rounded down: ``expires_at <= floor(now)`` iff ``expires_at <= now``."""
        return math.floor(self._clock())

    def get(self, key: str) -> StateItem | None:
        response = self._call("GetItem", Key=_key(key), ConsistentRead=True) or {}
        raw = response.get("Item")
        if raw is None:
            return None
        item = _from_item(raw)
        if item.expires_at is not None and item.expires_at <= self._now():
            return None
        return item

    def put_new(
        self, key: str, attributes: Mapping[str, AttributeValue], *, expires_at: int | None
    ) -> StateItem | None:
        item = StateItem(key, check_attributes(attributes), first_version(), expires_at)
        written = self._write(
            "PutItem",
            Item=_to_item(item),
            ConditionExpression="attribute_not_exists(pk) OR expires_at <= :now",
            ExpressionAttributeValues={":now": _number(self._now())},
        )
        return item if written else None

    def replace(
        self, current: StateItem, attributes: Mapping[str, AttributeValue], *, expires_at: int | None
    ) -> StateItem | None:
        item = StateItem(current.key, check_attributes(attributes), current.version + 1, expires_at)
        written = self._write(
            "PutItem",
            Item=_to_item(item),
            ConditionExpression=(
                "version = :version AND (attribute_not_exists(expires_at) OR expires_at > :now)"
            ),
            ExpressionAttributeValues={":version": _number(current.version), ":now": _number(self._now())},
        )
        return item if written else None

    def delete(self, current: StateItem) -> bool:
        # Absent or expired already counts as deleted, as in every backend.
        return self._write(
            "DeleteItem",
            Key=_key(current.key),
            ConditionExpression="attribute_not_exists(pk) OR version = :version OR expires_at <= :now",
            ExpressionAttributeValues={":version": _number(current.version), ":now": _number(self._now())},
        )

    def _write(self, operation: str, **parameters: Any) -> bool:
        """Run a conditional write; False when its condition failed, which is an answer, not an error."""
        return self._call(operation, conditional=True, **parameters) is not None

    def _call(self, operation: str, *, conditional: bool = False, **parameters: Any) -> dict[str, Any] | None:
        """Call ``operation`` on the table: its response, or None if ``conditional`` and the condition failed.

        Raises:
            StateError: any other failure, once botocore's own retries are spent.
        """
        method = getattr(self._client, _snake_case(operation))
        try:
            response: dict[str, Any] = method(TableName=self._table_name, **parameters)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if conditional and code == _CONDITION_FAILED:
                return None
            raise StateError(self._explain(operation, code, error)) from error
        except BotoCoreError as error:
            raise StateError(
                f"DynamoDB {operation} on state table {self._table_name!r} failed: {error}. "
                "Check that the function can reach DynamoDB (network, AWS_ENDPOINT_URL_DYNAMODB); "
                "Lambda retries the event."
            ) from error
        return response

    def _explain(self, operation: str, code: str, error: ClientError) -> str:
        """What failed and what to check, for the log line an operator will read."""
        message = error.response.get("Error", {}).get("Message", "")
        what = f"DynamoDB {operation} on state table {self._table_name!r} failed: {code}: {message}."
        if code in _ACCESS_DENIED:
            return (
                f"{what} The function's role needs dynamodb:{operation} on the table's ARN "
                "(the stack grants it; check the role if the table was changed by hand)."
            )
        if code == "ResourceNotFoundException":
            return f"{what} Check STATE_TABLE_NAME and that the table exists in this region."
        if code in _THROTTLED:
            return (
                f"{what} Still throttled after botocore's retries; Lambda retries the event. "
                "An on-demand table throttles only in sudden bursts or at the account's limits."
            )
        return f"{what} Lambda retries the event."


#: Calls per state operation in all (botocore standard mode retries throttling, 5xx, connection errors).
STATE_MAX_ATTEMPTS = 3


def state_client_config() -> Config:
    """Client settings for the state table: standard retries and short timeouts.

    A single-item call answers in milliseconds, so a call that has not answered within a few
    seconds is better abandoned and retried than waited for out of the invocation's time.
    """
    from botocore.config import Config

    return Config(
        retries={"mode": "standard", "total_max_attempts": STATE_MAX_ATTEMPTS},
        connect_timeout=2,
        read_timeout=5,
        user_agent_extra="codecommit-slack-notifier",
    )


def dynamodb_store(table_name: str, region: str | None, config: Config | None = None) -> DynamoDBStore:
    """A :class:`DynamoDBStore` with a client from a plain botocore session.

    The client is created the ordinary way, so the standard ``AWS_ENDPOINT_URL_DYNAMODB`` (or
    ``AWS_ENDPOINT_URL``) points it at another endpoint, and credentials come from the usual chain.

    Args:
        table_name: the state table.
        region: its region; None lets botocore find one (``AWS_REGION`` is set in Lambda).
        config: client settings; :func:`state_client_config` when None.
    """
    import botocore.session  # deferred: only a deployed function with a table needs a session

    session = botocore.session.get_session()
    client = session.create_client("dynamodb", region_name=region, config=config or state_client_config())
    return DynamoDBStore(client, table_name)


def _snake_case(operation: str) -> str:
    return "".join(f"_{char.lower()}" if char.isupper() else char for char in operation).lstrip("_")


def _number(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _key(key: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": key}}


def _to_item(item: StateItem) -> dict[str, Any]:
    data = {
        name: {"S": value} if isinstance(value, str) else _number(value)
        for name, value in item.attributes.items()
    }
    raw: dict[str, Any] = {**_key(item.key), "version": _number(item.version), "data": {"M": data}}
    if item.expires_at is not None:
        raw["expires_at"] = _number(item.expires_at)
    return raw


def _from_item(raw: Mapping[str, Any]) -> StateItem:
    attributes: dict[str, AttributeValue] = {}
    for name, value in raw.get("data", {}).get("M", {}).items():
        attributes[name] = value["S"] if "S" in value else int(value["N"])
    expires_at = raw.get("expires_at")
    return StateItem(
        key=raw["pk"]["S"],
        attributes=attributes,
        version=int(raw["version"]["N"]),
        expires_at=int(expires_at["N"]) if expires_at is not None else None,
    )
