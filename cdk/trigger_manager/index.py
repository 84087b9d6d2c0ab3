"""Custom resource: add, update or remove *our* trigger on an existing CodeCommit repository.

PutRepositoryTriggers replaces every trigger a repository has, so a resource that simply put its
own would wipe out other teams' triggers. This one reads the current list, upserts or removes
the trigger with our name, and writes the list back:

* Create / Update: ``upsert_trigger`` keeps every other trigger as it was and replaces ours by name;
* Delete: ``remove_trigger`` drops only ours (a repository that no longer exists is not an error).

With ``RepositoryName: "*"`` the same is done on every repository of the account and region,
listed with ListRepositories page by page, within this one invocation (:func:`apply_all`). The
stack no longer creates such a resource (``repositories: "*"`` is served asynchronously, in
batches, by ``all_repositories.py``); this path remains to answer the delete of the one an
earlier version created, which an upgrade removes. Repositories created later get our trigger
from this function, invoked by an EventBridge rule on CloudTrail's ``CreateRepository`` event
(:func:`attach_to_new_repository`); the stack passes it our trigger in ``TRIGGER_NAME``,
``DESTINATION_ARN`` and ``BRANCHES``.

It runs on the Lambda Python runtime with nothing but boto3 and the standard library, and answers
CloudFormation itself (a PUT to the pre-signed ``ResponseURL``).

**It always answers, before its time runs out.** A custom resource that never answers leaves the
stack waiting for the resource's ``ServiceTimeout``. So:

* the CodeCommit client has short timeouts and few attempts (:data:`CLIENT_CONFIG`), so the work
  normally ends long before the function's timeout;
* a timer (:class:`Watchdog`) interrupts the work when only :data:`RESERVED_SECONDS` are left, and
  the function answers FAILED with the reason;
* whatever is raised (a botocore ``ReadTimeoutError`` has no ``response``, for example) is turned
  into a FAILED answer by code that cannot itself raise (:func:`error_code`);
* the answer's own PUT is bounded by the time left; if it fails, the function raises, and Lambda's
  asynchronous retry runs the (idempotent) request again;
* the custom resource sets ``ServiceTimeout`` (``cdk/triggers.py``), in case none of this runs.

For one repository (a few calls) answering directly keeps the stack small; the work that does
not fit one invocation, every repository, goes through CDK's Provider framework instead
(``cdk/all_repository_triggers.py``). This path is tested against every way the work can fail
(``tests/test_trigger_manager.py``).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

log = logging.getLogger()
log.setLevel(logging.INFO)

#: Each CodeCommit call takes at most 3 attempts in all (``total_max_attempts``; botocore's
#: ``max_attempts`` would count retries only) of 3 s connect + 10 s read, plus standard-mode backoff
#: (at most 1 s, then 2 s): 42 s, so the two calls end well within the function's two minutes.
CLIENT_CONFIG = Config(
    connect_timeout=3,
    read_timeout=10,
    retries={"mode": "standard", "total_max_attempts": 3},
    user_agent_extra="codecommit-slack-notifier-trigger-manager",
)
#: Seconds kept back to answer CloudFormation when the work has not finished.
RESERVED_SECONDS = 15.0
#: The answer's PUT timeout, at most (the time left can make it shorter).
RESPONSE_TIMEOUT_SECONDS = 10.0


#: ``RepositoryName`` of the custom resource that manages every repository of the account and region.
ALL_REPOSITORIES = "*"
#: EventBridge's detail type for API calls recorded by CloudTrail.
CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"


class OutOfTime(Exception):
    """The function's time was nearly spent before the work finished."""


class SomeRepositoriesFailed(Exception):
    """Our trigger could not be put on (or removed from) some repositories; the others are done."""


def desired_trigger(properties: dict[str, Any]) -> dict[str, Any]:
    """Our trigger, as PutRepositoryTriggers takes it, from the resource's properties."""
    return {
        "name": properties["TriggerName"],
        "destinationArn": properties["DestinationArn"],
        "customData": properties.get("CustomData", ""),
        "branches": list(properties.get("Branches") or []),
        "events": list(properties.get("Events") or ["all"]),
    }


def upsert_trigger(existing: list[dict[str, Any]], ours: dict[str, Any]) -> list[dict[str, Any]]:
    """Every other trigger unchanged and in place; ours replaced where it was, or appended."""
    triggers = [dict(trigger) for trigger in existing]
    for index, trigger in enumerate(triggers):
        if trigger.get("name") == ours["name"]:
            triggers[index] = ours
            return triggers
    return [*triggers, ours]


def remove_trigger(existing: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """Every trigger except the one named ``name``."""
    return [dict(trigger) for trigger in existing if trigger.get("name") != name]


def apply(request_type: str, properties: dict[str, Any], client: Any) -> str:
    """Do what CloudFormation asked; return the physical resource id."""
    if properties["RepositoryName"] == ALL_REPOSITORIES:
        return apply_all(request_type, properties, client)
    repository = properties["RepositoryName"]
    name = properties["TriggerName"]
    physical_id = f"{repository}/{name}"
    try:
        current = client.get_repository_triggers(repositoryName=repository)
    except ClientError as error:
        if request_type == "Delete" and error.response["Error"]["Code"] == "RepositoryDoesNotExistException":
            log.info("repository %s is gone; nothing to remove", repository)
            return physical_id
        raise
    existing = current.get("triggers", [])
    if request_type == "Delete":
        triggers = remove_trigger(existing, name)
        if len(triggers) == len(existing):
            return physical_id
    else:
        triggers = upsert_trigger(existing, desired_trigger(properties))
        if triggers == existing:
            log.info("%s trigger %s on %s: already in place", request_type, name, repository)
            return physical_id
    others = sorted(t.get("name", "") for t in triggers if t.get("name") != name)
    log.info("%s trigger %s on %s; keeping %s", request_type, name, repository, others)
    client.put_repository_triggers(repositoryName=repository, triggers=triggers)
    return physical_id


def repository_names(client: Any) -> list[str]:
    """Every repository of the account and region (ListRepositories, all pages)."""
    names: list[str] = []
    token: str | None = None
    while True:
        page = client.list_repositories(**({"nextToken": token} if token else {}))
        names += [repository["repositoryName"] for repository in page.get("repositories", [])]
        token = page.get("nextToken")
        if not token:
            return names


def apply_all(request_type: str, properties: dict[str, Any], client: Any) -> str:
    """Do ``request_type`` on every repository; return the physical id ``*/<trigger name>``.

    Each repository is handled on its own, as :func:`apply` does one: a repository deleted since
    it was listed is skipped, and a failure on one does not stop the others. If any failed, the
    answer is FAILED and names them (CloudFormation shows the reason in the stack's events); on
    Delete, every repository that could be cleaned has been.
    """
    failed: list[str] = []
    names = repository_names(client)
    for name in names:
        try:
            apply(request_type, {**properties, "RepositoryName": name}, client)
        except ClientError as error:
            if error_code(error) == "RepositoryDoesNotExistException":
                log.info("repository %s was deleted after it was listed; skipped", name)
                continue
            log.warning("%s of our trigger on %s failed: %s", request_type, name, error_code(error))
            failed.append(f"{name} ({error_code(error)})")
    if failed:
        raise SomeRepositoriesFailed(
            f"{len(failed)} of {len(names)} repositories: {', '.join(failed)}. A repository holds at "
            'most 10 triggers; free one, or list the repositories to watch instead of "*"'
        )
    log.info("%s trigger %s on all %d repositories", request_type, properties["TriggerName"], len(names))
    return f"{ALL_REPOSITORIES}/{properties['TriggerName']}"


def new_repository_name(event: dict[str, Any]) -> str | None:
    """The repository a successful CreateRepository call created, from its CloudTrail event."""
    detail = event.get("detail") or {}
    if detail.get("eventName") != "CreateRepository" or detail.get("errorCode"):
        return None
    metadata = (detail.get("responseElements") or {}).get("repositoryMetadata") or {}
    name = metadata.get("repositoryName") or (detail.get("requestParameters") or {}).get("repositoryName")
    return str(name) if name else None


def attach_to_new_repository(event: dict[str, Any], client: Any, environ: Any = os.environ) -> None:
    """Put our trigger on a repository created after the deploy (EventBridge → this function).

    Raises on failure, so Lambda's asynchronous retries try again.
    """
    repository = new_repository_name(event)
    if repository is None:
        log.info("not a successful CreateRepository call; ignored")
        return
    properties = {
        "RepositoryName": repository,
        "TriggerName": environ["TRIGGER_NAME"],
        "DestinationArn": environ["DESTINATION_ARN"],
        "Branches": json.loads(environ.get("BRANCHES") or "[]"),
        "Events": ["all"],
        "CustomData": "",
    }
    apply("Create", properties, client)


def error_code(error: BaseException) -> str:
    """The AWS error code of ``error``, or its type's name; never raises.

    botocore's ``ReadTimeoutError`` and ``ConnectionClosedError`` carry ``response = None``, and
    other exceptions may carry anything under that name.
    """
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        details = response.get("Error")
        if isinstance(details, dict) and details.get("Code"):
            return str(details["Code"])
    return type(error).__name__


def seconds_left(context: Any) -> float | None:
    """Seconds until Lambda stops the function; None without a Lambda context."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    try:
        return float(remaining()) / 1000.0
    except Exception:
        return None


class Watchdog:
    """Raises :class:`OutOfTime` in the main thread after ``seconds`` (a ``SIGALRM`` timer).

    The interrupted call is abandoned in place, so nothing keeps running after the function has
    answered (a thread would, and could write triggers after CloudFormation was told FAILED). Off
    the main thread, where signals cannot be used, it does nothing; the client's own timeouts
    still bound the work.
    """

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds

    @contextmanager
    def armed(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
            yield
            return

        def expire(signum: int, frame: Any) -> None:
            raise OutOfTime(f"the work did not finish within {self._seconds:.0f} s")

        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, max(self._seconds, 0.001))
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def respond(
    event: dict[str, Any],
    status: str,
    physical_id: str,
    reason: str = "",
    timeout: float = RESPONSE_TIMEOUT_SECONDS,
) -> None:
    """Send CloudFormation the custom resource's result."""
    body = json.dumps(
        {
            "Status": status,
            "Reason": (reason or "see the function's CloudWatch log")[:1000],
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "NoEcho": False,
            "Data": {},
        }
    ).encode()
    request = urllib.request.Request(
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""}
    )
    with urllib.request.urlopen(request, timeout=max(timeout, 1.0)) as response:
        log.info("CloudFormation answered %s", response.status)


def handler(
    event: dict[str, Any],
    context: Any,
    client: Any = None,
    client_factory: Callable[[], Any] | None = None,
) -> None:
    """Lambda entry point: answers CloudFormation, before the time runs out, whatever happens.

    An EventBridge event (a repository was created) is not CloudFormation's: it is handled by
    :func:`attach_to_new_repository`, and any error is raised for Lambda to retry.
    """
    if event.get("detail-type") == CLOUDTRAIL_DETAIL_TYPE:
        attach_to_new_repository(event, client or (client_factory or _default_client)())
        return
    request_type = str(event.get("RequestType", ""))
    properties = event.get("ResourceProperties") or {}
    physical_id = str(
        event.get("PhysicalResourceId")
        or f"{properties.get('RepositoryName')}/{properties.get('TriggerName')}"
    )
    left = seconds_left(context)
    work_seconds = None if left is None else left - RESERVED_SECONDS
    status, reason = "SUCCESS", ""
    try:
        if work_seconds is not None and work_seconds <= 0:
            raise OutOfTime("the function started with too little time left")
        with Watchdog(work_seconds).armed() if work_seconds is not None else _unbounded():
            client = client or (client_factory or _default_client)()
            physical_id = apply(request_type, properties, client)
    except BaseException as error:
        log.exception("%s failed", request_type)
        status, reason = "FAILED", f"{request_type} of the trigger failed: {error_code(error)}: {error}"
    left = seconds_left(context)
    respond(
        event,
        status,
        physical_id,
        reason,
        RESPONSE_TIMEOUT_SECONDS if left is None else min(RESPONSE_TIMEOUT_SECONDS, left - 1.0),
    )


def _default_client() -> Any:
    return boto3.client("codecommit", config=CLIENT_CONFIG)


@contextmanager
def _unbounded() -> Iterator[None]:
    yield
