"""The review queue: open pull requests of the watched repositories still short of approvals.

Three layers, so each is tested on its own:

* **reads** (:class:`ReviewQueueReader`): ListPullRequests (``OPEN``, every page), then per pull
  request GetPullRequest and, for those still in question, GetPullRequestApprovalStates and
  EvaluatePullRequestApprovalRules, each call refused once the invocation's time is nearly up;
* **decisions** (pure): :func:`worth_reading` (open, not a draft, old enough: before the approval
  reads), :func:`queue_entry` (short of approvals? who it waits for), :func:`oldest_first`,
  :func:`waiting_on` (what waits on one person, and what waits on others);
* **actions** (the slash sub-commands ``prs [repository]`` and ``remind [repository]``, with the
  signature of :mod:`handler.actions.context`).

Who a pull request waits for: its approval-pool members other than the author (the same rule as the
"opened" message, :func:`handler.pull_requests.people.reviewers`), less those who approved the
current revision. A pull request with no approval rule, or whose rules are met or overridden, waits
for nobody and is left out; so are drafts (:func:`handler.render.pull_request.is_draft_title`).

The actions need the watched repositories, their region and ``USER_MAP``: a context that has a
``review_queue`` attribute (a :class:`QueueSettings`) gives them; otherwise they are read once from
the environment (``WATCHED_REPOSITORIES``, ``AWS_REGION``, ``USER_MAP``/``USER_MAP_FILE``,
``REVIEW_REMINDERS``), like the notifier's own settings.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, TypeVar

from handler.actions.context import ActionContext, Actor, Reply
from handler.deadline import Deadline
from handler.enrich.pull_request_reader import (
    CodeCommitPullRequestReader,
    Unreadable,
    details_from_api,
    read_call,
)
from handler.errors import ConfigurationError, NotifierError, ReadDeadlineReached
from handler.model import Repository
from handler.pull_requests.model import ApprovalState, PullRequestDetails
from handler.pull_requests.people import Person, UserMap, identity_from_arn, person, reviewers
from handler.pull_requests.queue import QueueEntry
from handler.render.markup import SLACK
from handler.render.pull_request import is_draft_title
from handler.render.reminders import digest_text, queue_text
from handler.settings import Settings

__all__ = [
    "OpenPullRequest",
    "Queue",
    "QueueEntry",
    "QueueSettings",
    "ReviewQueueReader",
    "oldest_first",
    "prs",
    "queue_entry",
    "read_queue",
    "remind",
    "waiting_on",
    "worth_reading",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Open pull requests read per repository at most (ListPullRequests pages of 100); past it the
#: digest says the queue was cut.
MAX_PULL_REQUESTS_PER_REPOSITORY = 200
#: ``WATCHED_REPOSITORIES`` for every repository of the account and region; the queue needs names.
ALL_REPOSITORIES = "*"
#: A call is not started with less time than this left: it could not finish with its retries.
MIN_CALL_SECONDS = 3.0
#: The time a chat action gives its reads (the chat function finishes it in an asynchronous
#: invocation, so Slack's 3 seconds are not this budget).
ACTION_SECONDS = 25.0


@dataclass(frozen=True)
class QueueSettings:
    """What the queue is read from and how people are named.

    Attributes:
        repositories: the watched repositories' names (``WATCHED_REPOSITORIES``).
        region: their region (the function's).
        account: their account, for state keys (may be "" where none are written).
        partition: ``aws``, ``aws-cn`` or ``aws-us-gov``, for console links.
        user_map: identity → chat user.
        min_age_hours: the digest leaves out younger pull requests (``review_reminders``).
    """

    repositories: tuple[str, ...]
    region: str
    account: str = ""
    partition: str = "aws"
    user_map: UserMap = field(default_factory=UserMap)
    min_age_hours: int = 24

    def repository(self, name: str) -> Repository:
        """The :class:`Repository` for one watched name."""
        return Repository(name=name, region=self.region, account=self.account, partition=self.partition)

    def resolve(self, asked: str) -> str | None:
        """The watched repository ``asked`` names (exact, else the one that matches without case)."""
        if asked in self.repositories:
            return asked
        matches = [name for name in self.repositories if name.casefold() == asked.casefold()]
        return matches[0] if len(matches) == 1 else None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> QueueSettings:
        """Read from the function's environment; raise :class:`ConfigurationError` naming what to set."""
        from handler.pull_requests.settings import load_user_map

        settings = Settings.from_environ(environ)
        region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or ""
        if not region:
            raise ConfigurationError("AWS_REGION is not set: the review queue reads CodeCommit in it")
        reminders = settings.review_reminders
        return cls(
            repositories=settings.watched_repositories,
            region=region,
            partition=partition_of(region),
            user_map=load_user_map(environ, None),
            min_age_hours=reminders.min_age_hours if reminders is not None else 24,
        )


def partition_of(region: str) -> str:
    """The partition a region is in, for console links: ``aws-cn``, ``aws-us-gov`` or ``aws``."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


@dataclass(frozen=True)
class OpenPullRequest:
    """What the reads found about one open pull request (``approval`` is None when not read)."""

    repository: Repository
    details: PullRequestDetails
    created: datetime
    approval: ApprovalState | None = None


def worth_reading(details: PullRequestDetails, created: datetime, now: datetime, min_age: timedelta) -> bool:
    """Whether a pull request may be in the queue, before its approvals are read: open, not a
    draft, opened at least ``min_age`` ago."""
    snapshot = details.snapshot
    return (
        snapshot.status.upper() == "OPEN"
        and not snapshot.is_merged
        and not is_draft_title(snapshot.title)
        and now - created >= min_age
    )


def queue_entry(found: OpenPullRequest, user_map: UserMap) -> QueueEntry | None:
    """The entry for a pull request still short of approvals; None when it waits for nobody.

    Short of approvals: CodeCommit's evaluation says the rules are not met (and not overridden);
    when the evaluation could not be read, fewer approvals than the strictest rule needs.
    """
    details, approval = found.details, found.approval
    if approval is None or not details.approval_rules:
        return None
    approvers = approval.approver_arns
    if approval.overridden or approval.approved:
        return None
    if approval.approved is None and len(approvers) >= details.approvals_needed:
        return None
    snapshot = details.snapshot
    author = person(identity_from_arn(snapshot.author_arn), user_map)
    approved_by = [person(identity_from_arn(arn), user_map) for arn in approvers]
    waiting = tuple(
        reviewer
        for reviewer in reviewers(details.pool_members, author, user_map)
        if not any(_same(reviewer, approver) for approver in approved_by)
    )
    return QueueEntry(
        repository=found.repository,
        pull_request_id=snapshot.pull_request_id,
        title=snapshot.title,
        author=author,
        created=found.created,
        source_reference=snapshot.source_reference,
        destination_reference=snapshot.destination_reference,
        approvals=len(approvers),
        approvals_needed=details.approvals_needed,
        waiting_for=waiting,
    )


def _same(one: Person, other: Person) -> bool:
    if one.chat is not None and one.chat == other.chat:
        return True
    return bool(one.arn) and one.arn == other.arn


def oldest_first(entries: Iterable[QueueEntry]) -> list[QueueEntry]:
    """Oldest first; the same age by repository, then by id as a number."""
    return sorted(
        entries,
        key=lambda e: (
            e.created,
            e.repository.name,
            int(e.pull_request_id or 0) if e.pull_request_id.isdecimal() else 0,
        ),
    )


def waits_on(entry: QueueEntry, actor: Actor) -> bool:
    """Whether ``entry`` waits for the person acting (by their chat id or their ``USER_MAP`` key)."""
    key = actor.person.casefold()
    for reviewer in entry.waiting_for:
        if reviewer.chat is not None and actor.chat_user_id in (
            reviewer.chat.slack,
            reviewer.chat.mattermost,
        ):
            return True
        if reviewer.arn and reviewer.arn.casefold() == key:
            return True
    return False


def waiting_on(entries: Sequence[QueueEntry], actor: Actor) -> tuple[list[QueueEntry], list[QueueEntry]]:
    """(what waits on ``actor``, what waits on others), each oldest first."""
    mine = [entry for entry in entries if waits_on(entry, actor)]
    others = [entry for entry in entries if not waits_on(entry, actor)]
    return oldest_first(mine), oldest_first(others)


@dataclass(frozen=True)
class Queue:
    """The entries found, oldest first, and the repositories that could not be read (with why)."""

    entries: tuple[QueueEntry, ...] = ()
    skipped: tuple[str, ...] = ()


class ReviewQueueReader:
    """CodeCommit reads for the queue, through a botocore client the caller creates and owns.

    Args:
        client: a CodeCommit client in the repositories' region.
        deadline: no call starts with less than :data:`MIN_CALL_SECONDS` left; then
            :class:`~handler.errors.ReadDeadlineReached` is raised (Lambda retries the event).
    """

    def __init__(self, client: Any, deadline: Deadline) -> None:
        self._client = client
        self._deadline = deadline

    def open_pull_request_ids(self, repository_name: str) -> list[str]:
        """ListPullRequests with status OPEN, every page (up to :data:`MAX_PULL_REQUESTS_PER_REPOSITORY`)."""

        def listed() -> list[str]:
            pages = self._client.get_paginator("list_pull_requests").paginate(
                repositoryName=repository_name,
                pullRequestStatus="OPEN",
                PaginationConfig={"MaxItems": MAX_PULL_REQUESTS_PER_REPOSITORY, "PageSize": 100},
            )
            found: list[str] = []
            for page in pages:
                found.extend(str(pull_request_id) for pull_request_id in page.get("pullRequestIds", ()))
                self._check_time("ListPullRequests", repository_name)
            return found

        return self._call("ListPullRequests", f"repository {repository_name}", listed)

    def pull_request(self, pull_request_id: str) -> tuple[PullRequestDetails, datetime]:
        """GetPullRequest: its details and when it was opened (UTC)."""
        raw = self._call(
            "GetPullRequest",
            f"pull request {pull_request_id}",
            lambda: self._client.get_pull_request(pullRequestId=pull_request_id)["pullRequest"],
        )
        created = raw.get("creationDate")
        if not isinstance(created, datetime):
            created = datetime.fromtimestamp(float(created or 0), UTC)
        return details_from_api(raw), created.astimezone(UTC)

    def approval_state(self, pull_request_id: str, revision_id: str) -> ApprovalState:
        """Who approved ``revision_id``, and whether CodeCommit finds the rules met: read as the
        pull-request path reads it (:meth:`CodeCommitPullRequestReader.get_approval_state`), once
        the time left allows a call."""
        what = f"pull request {pull_request_id}"
        self._check_time("GetPullRequestApprovalStates", what)
        return CodeCommitPullRequestReader(self._client).get_approval_state(pull_request_id, revision_id)

    def _check_time(self, operation: str, what: str) -> None:
        left = self._deadline.seconds_left()
        if left < MIN_CALL_SECONDS:
            raise ReadDeadlineReached(
                f"{operation} for {what} not started: {left:.1f} s left in this invocation; "
                "raising so the event is retried (the reminder marks make a retry post only what is missing)"
            )

    def _call(self, operation: str, what: str, call: Callable[[], T]) -> T:
        self._check_time(operation, what)
        return read_call(operation, what, call)


def read_queue(
    reader: ReviewQueueReader,
    settings: QueueSettings,
    *,
    now: datetime,
    min_age: timedelta,
    repositories: Sequence[str] | None = None,
) -> Queue:
    """Every open pull request of ``repositories`` (default: all watched) that waits for review.

    A repository that no longer exists, and a pull request that vanished between the list and
    the read, are logged and left out; every other failure raises.
    """
    entries: list[QueueEntry] = []
    skipped: list[str] = []
    for name in repositories if repositories is not None else settings.repositories:
        if name == ALL_REPOSITORIES:
            skipped.append('every repository ("*"): the queue reads repositories named in "repositories"')
            continue
        repository = settings.repository(name)
        try:
            pull_request_ids = reader.open_pull_request_ids(name)
        except Unreadable as unreadable:
            log.warning("review queue: %s left out: %s", name, unreadable.reason)
            skipped.append(f"{name}: {unreadable.reason}")
            continue
        for pull_request_id in pull_request_ids:
            try:
                details, created = reader.pull_request(pull_request_id)
                if not worth_reading(details, created, now, min_age):
                    continue
                approval = reader.approval_state(pull_request_id, details.snapshot.revision_id)
            except Unreadable as unreadable:
                log.info("review queue: %s #%s left out: %s", name, pull_request_id, unreadable.reason)
                continue
            entry = queue_entry(OpenPullRequest(repository, details, created, approval), settings.user_map)
            if entry is not None:
                entries.append(entry)
    return Queue(tuple(oldest_first(entries)), tuple(skipped))


# --- the slash sub-commands -----------------------------------------------------------------


def prs(context: ActionContext, args: Sequence[str]) -> Reply:
    """``prs [repository]``: what waits on you and what waits on others, with ages and approvals."""
    return run_queue_command(context, args, command="prs", now=datetime.now(UTC))


def remind(context: ActionContext, args: Sequence[str]) -> Reply:
    """``remind [repository]``: the reminder digest now, to you only (no one else is pinged and the
    once-a-day marks are not touched)."""
    return run_queue_command(context, args, command="remind", now=datetime.now(UTC))


def run_queue_command(context: ActionContext, args: Sequence[str], *, command: str, now: datetime) -> Reply:
    """What ``prs`` and ``remind`` do, with the clock passed in. Every failure is answered in words."""
    try:
        settings = queue_settings_of(context)
    except ConfigurationError as error:
        return Reply(f"The review queue is not set up: {error}", ok=False)
    chosen = _chosen_repositories(settings, args, command)
    if isinstance(chosen, Reply):
        return chosen
    started = time.monotonic()
    deadline = Deadline(lambda: (ACTION_SECONDS - (time.monotonic() - started)) * 1000, margin_seconds=0)
    reader = ReviewQueueReader(context.client("codecommit", settings.region), deadline)
    min_age = timedelta(hours=settings.min_age_hours if command == "remind" else 0)
    try:
        queue = read_queue(reader, settings, now=now, min_age=min_age, repositories=chosen)
    except NotifierError as error:
        log.warning("%s: reading the review queue failed: %s", command, error)
        return Reply(
            "CodeCommit could not be read just now (throttled, or no permission to list pull "
            "requests); try again in a minute.",
            ok=False,
        )
    if command == "remind":
        return Reply(digest_text(list(queue.entries), now, SLACK, skipped=queue.skipped))
    mine, others = waiting_on(queue.entries, context.actor)
    return Reply(queue_text(mine, others, now, SLACK, skipped=queue.skipped))


def _chosen_repositories(settings: QueueSettings, args: Sequence[str], command: str) -> list[str] | Reply:
    """The repositories to read (every watched one without an argument), or the refusal in words."""
    if len(args) > 1:
        return Reply(f"Usage: `{command} [repository]`: one repository name at most.", ok=False)
    if not [name for name in settings.repositories if name != ALL_REPOSITORIES]:
        return Reply(
            "No repositories are watched by name, so there is no review queue to show: "
            'set "repositories" in the stack\'s context (cdk.json) and deploy.',
            ok=False,
        )
    if not args:
        return list(settings.repositories)
    name = settings.resolve(args[0])
    if name is None:
        watched = ", ".join(SLACK.escape(n) for n in settings.repositories[:30])
        return Reply(
            f"{SLACK.escape(args[0][:100])} is not a watched repository. Watched: {watched}.", ok=False
        )
    return [name]


def queue_settings_of(context: ActionContext) -> QueueSettings:
    """The context's ``review_queue`` when it has one, else the environment's (read once)."""
    given = getattr(context, "review_queue", None)
    if isinstance(given, QueueSettings):
        return given
    return _environment_settings()


@cache
def _environment_settings() -> QueueSettings:
    return QueueSettings.from_environ(os.environ)
