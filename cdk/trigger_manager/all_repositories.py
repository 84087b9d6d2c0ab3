"""Custom resource: our trigger on every repository of the account and region, in bounded batches.

``repositories: "*"`` once had one function put our trigger on each repository, one after another,
inside one invocation that had to answer CloudFormation within about 105 s: an account with
hundreds of repositories failed, and its rollback could stop in ``ROLLBACK_FAILED`` with triggers
half-placed. This resource is asynchronous instead, served by CDK's Provider framework
(``cdk/all_repository_triggers.py``):

* CloudFormation's request reaches the framework, which calls :func:`on_event` once, then
  :func:`is_complete` every query interval until it answers complete (or the framework's total
  timeout passes); the framework answers CloudFormation.
* Each :func:`is_complete` poll lists every repository name (ListRepositories, all pages, sorted),
  takes up the work after the last name done, does at most :data:`BATCH_SIZE` repositories (fewer
  if the time left runs short), saves how far it got in the progress parameter
  (``PROGRESS_PARAMETER``, one SSM parameter the stack owns) and logs ``placed 300 of 1,000``.
  The progress is keyed by CloudFormation's ``RequestId``, so a new request starts afresh.
* Every repository is handled as :func:`index.apply` handles one: read its triggers, upsert ours
  by name (or, on Delete, remove only ours), write the list back. Doing one twice changes
  nothing, so a poll that dies half-way is simply redone.
* A repository deleted since it was listed is skipped with a log line. A transient failure
  (throttling, a timeout, a 5xx) ends the poll early without moving past that repository; the
  next poll retries it, within the framework's total timeout.
* A repository that refuses (it holds 10 triggers already, or its key denies access) does not
  fail the request: the framework's waiter cannot carry a reason (an error is retried until the
  total timeout, then reported as "Operation timed out"), and one full repository should not roll
  back hundreds. It is logged by name, and the resource's ``Data.Refused`` names it, which the
  stack shows as its output ``RepositoriesWithoutTrigger``. **Delete always completes** for the
  same reason: a repository it cannot clean is logged with what removes our trigger by hand, so a
  rollback or a stack deletion never stops in ``*_FAILED`` because of one repository.
"""

from __future__ import annotations

import enum
import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

try:  # Lambda: the asset's files are top-level modules
    import index  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # tests: the package cdk.trigger_manager
    from cdk.trigger_manager import index  # type: ignore[no-redef,unused-ignore]

log = logging.getLogger()
log.setLevel(logging.INFO)

#: Repositories handled per poll at most: a few hundred CodeCommit calls, well inside the function's
#: timeout, and small enough that a poll lost to a crash costs little.
BATCH_SIZE = 200
#: Seconds a poll keeps back: no repository is started with less left. One repository is two
#: CodeCommit calls of at most 42 s each (index.CLIENT_CONFIG), then the progress write (the same
#: bound). A poll that times out anyway loses nothing: the waiter retries it, and the next poll
#: starts from the progress last saved.
RESERVED_SECONDS = 130.0
#: How many refused repositories the progress keeps by name (an SSM parameter holds 4 KB); the
#: count is always exact.
MAX_NAMED_FAILURES = 20
#: Error codes that mean "try again later", not "this repository refuses".
TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalServerException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


@dataclass(frozen=True)
class Progress:
    """How far one CloudFormation request has got; what the progress parameter holds.

    Attributes:
        request: CloudFormation's ``RequestId`` this progress belongs to.
        after: the last repository name done (names are handled in sorted order); "" before any.
        changed: repositories whose triggers this request wrote.
        gone: repositories deleted after they were listed (skipped).
        failed: the first :data:`MAX_NAMED_FAILURES` refused repositories, ``name (ErrorCode)``.
        failed_count: how many refused in all.
    """

    request: str
    after: str = ""
    changed: int = 0
    gone: int = 0
    failed: tuple[str, ...] = field(default_factory=tuple)
    failed_count: int = 0

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "failed": list(self.failed)})

    @classmethod
    def for_request(cls, stored: str, request: str) -> Progress:
        """The stored progress if it belongs to ``request``, else a fresh start."""
        try:
            document = json.loads(stored)
        except ValueError:
            document = None
        if not isinstance(document, dict) or document.get("request") != request:
            return cls(request=request)
        return cls(
            request=request,
            after=str(document.get("after", "")),
            changed=int(document.get("changed", 0)),
            gone=int(document.get("gone", 0)),
            failed=tuple(str(name) for name in document.get("failed", [])),
            failed_count=int(document.get("failed_count", 0)),
        )

    def with_failure(self, name: str, code: str) -> Progress:
        named = self.failed if len(self.failed) >= MAX_NAMED_FAILURES else (*self.failed, f"{name} ({code})")
        return replace(self, after=name, failed=named, failed_count=self.failed_count + 1)


class Outcome(enum.Enum):
    """What happened to one repository."""

    WRITTEN = "written"  #: its triggers were written
    UNCHANGED = "unchanged"  #: ours was already as wanted (or, on Delete, already absent)
    GONE = "gone"  #: it was deleted after it was listed


class ProgressStore:
    """The progress parameter (SSM Parameter Store, a String the stack creates holding ``{}``)."""

    def __init__(self, client: Any, name: str) -> None:
        self._client = client
        self._name = name

    def load(self, request: str) -> Progress:
        value = self._client.get_parameter(Name=self._name)["Parameter"]["Value"]
        return Progress.for_request(str(value), request)

    def save(self, progress: Progress) -> None:
        self._client.put_parameter(Name=self._name, Value=progress.to_json(), Type="String", Overwrite=True)


def physical_id(properties: dict[str, Any]) -> str:
    return f"{index.ALL_REPOSITORIES}/{properties['TriggerName']}"


def on_event(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The framework's first call for a request: name the resource; the polls do the work."""
    properties = event["ResourceProperties"]
    if properties.get("RepositoryName") != index.ALL_REPOSITORIES:
        raise ValueError(
            f'this resource covers every repository ("*"), not {properties.get("RepositoryName")!r}'
        )
    log.info(
        "%s of trigger %s on every repository: the work is done by the polls that follow",
        event["RequestType"],
        properties["TriggerName"],
    )
    if event["RequestType"] == "Delete":
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    # An Update keeps the id unless the trigger's name changed; then CloudFormation deletes the
    # old one (a Delete request with the old properties) once this update is complete.
    return {"PhysicalResourceId": physical_id(properties)}


def is_complete(
    event: dict[str, Any],
    context: Any,
    client: Any = None,
    store: ProgressStore | None = None,
) -> dict[str, Any]:
    """One poll: the next batch of repositories; ``{"IsComplete": True, ...}`` once every one is done.

    It never raises for a repository: the framework's waiter retries any error until its total
    timeout and then answers only "Operation timed out", so an error would hide the reason and
    hold the stack for an hour. A transient failure returns "not complete" (the next poll goes on);
    a repository that refuses is logged by name and reported in ``Data.Refused``, which the stack
    shows as its output ``RepositoriesWithoutTrigger``.
    """
    client = client or index._default_client()
    store = store or _default_store()
    request_type = str(event["RequestType"])
    properties = event["ResourceProperties"]
    progress = store.load(str(event["RequestId"]))
    names = sorted(index.repository_names(client))
    todo = [name for name in names if name > progress.after]
    progress = run_batch(
        request_type, properties, client, todo=todo, progress=progress, time_left=_time_left(context)
    )
    store.save(progress)
    done = len(names) - len([name for name in names if name > progress.after])
    verb = "removed from" if request_type == "Delete" else "placed on"
    log.info(
        "%s: trigger %s %s %s of %s repositories (%d written, %d gone, %d refused)",
        request_type,
        properties["TriggerName"],
        verb,
        f"{done:,}",
        f"{len(names):,}",
        progress.changed,
        progress.gone,
        progress.failed_count,
    )
    if done < len(names):
        return {"IsComplete": False}
    if progress.failed_count:
        log.warning(
            "%s: trigger %s could not be %s %d of %d repositories: %s%s. %s",
            request_type,
            properties["TriggerName"],
            "removed from" if request_type == "Delete" else "put on",
            progress.failed_count,
            len(names),
            ", ".join(progress.failed),
            " and more (see the warnings above)" if progress.failed_count > len(progress.failed) else "",
            "Each warning above says how to remove it by hand."
            if request_type == "Delete"
            else "A repository holds at most 10 triggers: free one and deploy again with a change to "
            'the trigger (branches, say), or list the repositories to watch instead of "*".',
        )
    return {"IsComplete": True, "Data": {"Refused": refused_summary(progress)}}


def refused_summary(progress: Progress) -> str:
    """What the stack's output ``RepositoriesWithoutTrigger`` shows: ``none``, or the count and names."""
    if not progress.failed_count:
        return "none"
    more = (
        f" and {progress.failed_count - len(progress.failed)} more"
        if progress.failed_count > len(progress.failed)
        else ""
    )
    return f"{progress.failed_count}: {', '.join(progress.failed)}{more}"


def run_batch(
    request_type: str,
    properties: dict[str, Any],
    client: Any,
    *,
    todo: list[str],
    progress: Progress,
    time_left: Callable[[], float | None],
) -> Progress:
    """Handle up to :data:`BATCH_SIZE` of ``todo`` in order; the progress after the last one done."""
    for name in todo[:BATCH_SIZE]:
        left = time_left()
        if left is not None and left < RESERVED_SECONDS:
            log.info("%.0f s left: this poll stops before %s; the next one goes on from there", left, name)
            return progress
        try:
            outcome = apply_one(request_type, properties, client, name)
        except (ClientError, BotoCoreError) as error:
            code = index.error_code(error)
            if is_transient(error):
                log.warning("%s on %s: %s; the next poll tries it again", request_type, name, code)
                return progress
            if code != "RepositoryDoesNotExistException":  # else: gone between our read and write
                log.warning(
                    "%s of our trigger on %s failed: %s%s",
                    request_type,
                    name,
                    code,
                    f"; remove it by hand: {removal_command(name, properties['TriggerName'])}"
                    if request_type == "Delete"
                    else "",
                )
                progress = progress.with_failure(name, code)
                continue
            outcome = Outcome.GONE
        if outcome is Outcome.GONE:
            log.info("repository %s was deleted after it was listed; skipped", name)
        progress = replace(
            progress,
            after=name,
            changed=progress.changed + (outcome is Outcome.WRITTEN),
            gone=progress.gone + (outcome is Outcome.GONE),
        )
    return progress


def apply_one(request_type: str, properties: dict[str, Any], client: Any, name: str) -> Outcome:
    """Our trigger put on (or, for Delete, removed from) repository ``name``, as :func:`index.apply`
    does it: read, upsert or remove ours by name, write back only if that changed anything."""
    try:
        existing = client.get_repository_triggers(repositoryName=name).get("triggers", [])
    except ClientError as error:
        if index.error_code(error) == "RepositoryDoesNotExistException":
            return Outcome.GONE
        raise
    if request_type == "Delete":
        triggers = index.remove_trigger(existing, properties["TriggerName"])
    else:
        triggers = index.upsert_trigger(existing, index.desired_trigger(properties))
    if triggers == existing:
        return Outcome.UNCHANGED
    client.put_repository_triggers(repositoryName=name, triggers=triggers)
    return Outcome.WRITTEN


def is_transient(error: BaseException) -> bool:
    """True for a failure the next poll may not meet: throttling, a 5xx, a timeout, a lost connection."""
    if isinstance(error, BotoCoreError):
        return True
    response = getattr(error, "response", None) or {}
    status = int((response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
    return index.error_code(error) in TRANSIENT_CODES or status >= 500


def removal_command(repository: str, trigger_name: str) -> str:
    """What an operator runs to see the triggers of ``repository`` and put them back without ours."""
    return (
        f"aws codecommit get-repository-triggers --repository-name {repository}, then "
        f"put-repository-triggers with every trigger but {trigger_name}"
    )


def _time_left(context: Any) -> Callable[[], float | None]:
    return lambda: index.seconds_left(context)


def _default_store() -> ProgressStore:
    return ProgressStore(boto3.client("ssm", config=index.CLIENT_CONFIG), os.environ["PROGRESS_PARAMETER"])
