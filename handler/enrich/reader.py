"""Enrich's source of truth: the :class:`CommitReader` interface and its CodeCommit implementation.

Two implementations exist and are held to the same tests:

* :class:`CodeCommitReader` (here) calls GetCommit and GetDifferences through boto3;
* :class:`handler.enrich.gitreader.LocalGitReader` answers the same questions from a local git
  repository, which is what ``python -m handler --repo`` and ``make demo`` use.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any, Protocol

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from handler.deadline import Deadline
from handler.errors import CommitUnavailable, DiffTruncated, ReadDeadlineReached, RepositoryReadError
from handler.model import ChangeType, Commit, EntryKind, FileChange, Person, TagAnnotation

log = logging.getLogger(__name__)

#: BatchGetCommits takes at most this many ids a call.
BATCH_GET_COMMITS_LIMIT = 100


class CommitReader(Protocol):
    """Reads commits and their per-parent changes from one repository."""

    def get_commit(self, commit_id: str) -> Commit:
        """Return the commit; raise :class:`CommitUnavailable` if the id is not a readable commit."""
        ...

    def get_differences(self, commit_id: str, parent_id: str | None) -> tuple[FileChange, ...]:
        """Return every change of ``commit_id`` against ``parent_id`` (None: against nothing)."""
        ...

    def get_commits(self, commit_ids: Sequence[str]) -> dict[str, Commit]:
        """Read several commits at once; ids that are not readable commits are left out."""
        ...

    def merge_base(self, first: str, second: str) -> str | None:
        """The best common ancestor of two commit specifiers (ids or branch names).

        Returns None when the two share no history. Raises :class:`CommitUnavailable` when either
        cannot be resolved, or the service will not compute it (histories too far apart).
        """
        ...

    def branch_head(self, branch: str) -> str | None:
        """The commit a branch (short name) points at now, or None if there is no such branch."""
        ...

    def default_branch(self) -> str | None:
        """The repository's default branch (short name), or None if it has none yet."""
        ...

    def resolve_commit(self, specifier: str) -> str | None:
        """The commit a specifier resolves to (a tag object or tag is peeled to its commit), or None."""
        ...

    def tag_annotation(self, object_id: str) -> TagAnnotation | None:
        """An annotated tag object's tagger and message; None for any other id, or a reader that
        cannot read tag objects (CodeCommit has no API for them)."""
        ...


class CommitOnlyReader:
    """The history half of :class:`CommitReader` for readers that only know single commits.

    Subclasses provide ``get_commit`` and ``get_differences``; this answers the rest the way a
    repository that cannot compare histories would: commits one by one, and "cannot say" for
    merge bases and the default branch, so enrich shows each branch's tip (as for a branch seen
    the first time) instead of guessing.
    """

    def get_commit(self, commit_id: str) -> Commit:  # pragma: no cover - always overridden
        raise NotImplementedError

    def get_commits(self, commit_ids: Sequence[str]) -> dict[str, Commit]:
        found: dict[str, Commit] = {}
        for commit_id in dict.fromkeys(commit_ids):
            try:
                found[commit_id] = self.get_commit(commit_id)
            except CommitUnavailable:
                continue
        return found

    def merge_base(self, first: str, second: str) -> str | None:
        raise CommitUnavailable(first, CANNOT_COMPARE)

    def branch_head(self, branch: str) -> str | None:
        return None

    def default_branch(self) -> str | None:
        raise CommitUnavailable("HEAD", CANNOT_COMPARE)

    def resolve_commit(self, specifier: str) -> str | None:
        return None

    def tag_annotation(self, object_id: str) -> TagAnnotation | None:
        return None


def parse_git_date(value: str | None) -> datetime | None:
    """Parse git's raw date, ``1484167798 -0800``, into an aware datetime; None if unreadable."""
    if not value:
        return None
    try:
        seconds_text, offset_text = value.split()
        seconds = int(seconds_text)
        sign = -1 if offset_text[0] == "-" else 1
        hours, minutes = int(offset_text[1:3]), int(offset_text[3:5])
        if len(offset_text) != 5 or offset_text[0] not in "+-" or minutes > 59 or hours > 23:
            return None
        offset = timezone(sign * timedelta(hours=hours, minutes=minutes))
        return datetime.fromtimestamp(seconds, tz=offset)
    except (ValueError, IndexError, OverflowError, OSError):
        return None


def botocore_config(*, max_attempts: int, read_timeout: float = 10.0) -> Config:
    """Client settings shared by every AWS client: standard retry mode and bounded timeouts.

    Standard mode retries throttling, 5xx and connection errors with exponential backoff and
    jitter, up to ``max_attempts`` calls in all.
    """
    return Config(
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=3,
        read_timeout=read_timeout,
        user_agent_extra="codecommit-slack-notifier",
    )


#: botocore's standard retry mode waits at most this long between two attempts.
_MAX_RETRY_WAIT_SECONDS = 20.0
_GUARD_ID = "codecommit-slack-notifier-deadline"


@dataclass
class _CallBudget:
    """The deadline one :meth:`CodeCommitReader._call` runs under, and the attempts it has made."""

    deadline: Deadline
    attempt_seconds: float
    attempts: int = 0

    def before_attempt(self) -> None:
        """Refuse an attempt that, with the wait botocore may add before a retry, could outlive the
        deadline (so the next check still runs in time, and raises cleanly)."""
        self.attempts += 1
        retry_wait = min(2.0 ** (self.attempts - 1), _MAX_RETRY_WAIT_SECONDS)
        needed = self.attempt_seconds + retry_wait
        left = self.deadline.seconds_left()
        if left < needed:
            raise _OutOfTime(f"{left:.1f} s left, an attempt may take {needed:.1f} s")


class _OutOfTime(Exception):
    """Raised from botocore's ``before-send`` hook; not retryable, so it ends the call at once."""


_ACTIVE_BUDGET: ContextVar[_CallBudget | None] = ContextVar("codecommit_call_budget", default=None)


def _guard_attempt(**_: Any) -> None:
    """botocore ``before-send`` hook: every attempt (retries included) of a budgeted call checks."""
    budget = _ACTIVE_BUDGET.get()
    if budget is not None:
        budget.before_attempt()


class CodeCommitReader:
    """Reads commits from CodeCommit with a boto3 client that the caller creates and owns.

    With a ``deadline``, every request goes through one choke point (:meth:`_call`) that bounds it
    by the invocation's time left: before each call, each page and each retry, an attempt only
    starts if its whole timeout (connect + read, from the client's config) and the wait botocore
    may add before the next retry fit before the deadline. A call that cannot start raises
    :class:`ReadDeadlineReached` (the event is retried later); a diff whose pages stop part way
    raises :class:`DiffTruncated` with the changes read so far and a reason saying what was not
    read.
    """

    def __init__(self, client: Any, repository_name: str, deadline: Deadline | None = None) -> None:
        self._client = client
        self._repository_name = repository_name
        self._deadline = deadline
        if deadline is not None:
            # unique_id: a client shared by many readers (one per warm container) gets one hook.
            client.meta.events.register("before-send.codecommit", _guard_attempt, unique_id=_GUARD_ID)

    def bounded_by(self, deadline: Deadline) -> CodeCommitReader:
        """The same reader, with every request bounded by ``deadline`` (one invocation's)."""
        return CodeCommitReader(self._client, self._repository_name, deadline)

    def get_commit(self, commit_id: str) -> Commit:
        """GetCommit, translated into a :class:`Commit`."""
        response = self._call(
            "GetCommit",
            commit_id,
            lambda: self._client.get_commit(repositoryName=self._repository_name, commitId=commit_id),
        )
        return _commit_from_api(response["commit"], commit_id)

    def get_differences(self, commit_id: str, parent_id: str | None) -> tuple[FileChange, ...]:
        """GetDifferences against one parent, every page read; a root commit omits the parent."""
        arguments: dict[str, str] = {
            "repositoryName": self._repository_name,
            "afterCommitSpecifier": commit_id,
        }
        if parent_id is not None:
            arguments["beforeCommitSpecifier"] = parent_id
        paginator = self._client.get_paginator("get_differences")
        read: list[dict[str, Any]] = []

        def read_all_pages() -> list[dict[str, Any]]:
            for page in paginator.paginate(**arguments):
                read.extend(page.get("differences", ()))
            return read

        try:
            differences = self._call("GetDifferences", commit_id, read_all_pages)
        except ReadDeadlineReached as out_of_time:
            changes = tuple(file_change_from_api(difference) for difference in read)
            against = f"parent {parent_id[:7]}" if parent_id else "the empty tree"
            reason = (
                f"the invocation's time ran out: only the first {len(changes)} changed files against "
                f"{against} were read, the rest were not"
                if changes
                else f"the invocation's time ran out before the changes against {against} were read"
            )
            raise DiffTruncated(commit_id, reason, changes) from out_of_time
        return pair_renames(
            [
                (file_change_from_api(d), _blob_id(d, "beforeBlob"), _blob_id(d, "afterBlob"))
                for d in differences
            ]
        )

    def get_commits(self, commit_ids: Sequence[str]) -> dict[str, Commit]:
        """BatchGetCommits, 100 ids a call (the service's limit); unreadable ids are left out."""
        found: dict[str, Commit] = {}
        unique = list(dict.fromkeys(commit_ids))
        for start in range(0, len(unique), BATCH_GET_COMMITS_LIMIT):
            batch = unique[start : start + BATCH_GET_COMMITS_LIMIT]
            response = self._call(
                "BatchGetCommits",
                batch[0],
                partial(
                    self._client.batch_get_commits, repositoryName=self._repository_name, commitIds=batch
                ),
            )
            for raw in response.get("commits") or ():
                commit = _commit_from_api(raw, raw.get("commitId") or "")
                found[commit.commit_id] = commit
        return found

    def merge_base(self, first: str, second: str) -> str | None:
        """GetMergeOptions' ``baseCommitId``: the merge base of ``first`` (source) and ``second``."""
        response = self._call(
            "GetMergeOptions",
            first,
            lambda: self._client.get_merge_options(
                repositoryName=self._repository_name,
                sourceCommitSpecifier=first,
                destinationCommitSpecifier=second,
            ),
        )
        return response.get("baseCommitId") or None

    def branch_head(self, branch: str) -> str | None:
        """GetBranch's ``commitId``; None when the branch does not exist (any more)."""
        try:
            response = self._call(
                "GetBranch",
                branch,
                lambda: self._client.get_branch(repositoryName=self._repository_name, branchName=branch),
            )
        except CommitUnavailable:
            return None
        return (response.get("branch") or {}).get("commitId") or None

    def default_branch(self) -> str | None:
        """GetRepository's ``defaultBranch`` (absent for a repository with no branch yet)."""
        response = self._call(
            "GetRepository",
            self._repository_name,
            lambda: self._client.get_repository(repositoryName=self._repository_name),
        )
        return (response.get("repositoryMetadata") or {}).get("defaultBranch") or None

    def tag_annotation(self, object_id: str) -> TagAnnotation | None:
        """Always None: CodeCommit has no API that reads a tag object (GetCommit, GetBlob and
        GetFolder answer for commits, blobs and trees only), so a tag's message and tagger are
        not shown for CodeCommit."""
        return None

    def resolve_commit(self, specifier: str) -> str | None:
        """GetFolder on the root at ``specifier``: its ``commitId`` is the commit the specifier
        resolves to, which peels an annotated tag (documented: a commit specifier may be a tag).

        Enrich passes an annotated tag's object id, as git's ``<id>^{commit}`` would take it; that
        CodeCommit peels an object id as it peels a tag's name is not documented: if it refuses,
        the answer is None and the message says the tag object could not be read (true, and never
        the commit some other object points at).
        """
        try:
            response = self._call(
                "GetFolder",
                specifier,
                lambda: self._client.get_folder(
                    repositoryName=self._repository_name, commitSpecifier=specifier, folderPath="/"
                ),
            )
        except CommitUnavailable:
            return None
        return response.get("commitId") or None

    def _call(self, operation: str, commit_id: str, call: Callable[[], Any]) -> Any:
        """Run ``call`` (one request, or a paginator's requests) under the deadline; translate errors.

        Raises:
            CommitUnavailable: the id is not a readable commit, or the histories can't be compared
                (every code :mod:`handler.aws.errors` classes as unreadable).
            ReadDeadlineReached: no time was left for an attempt (the deadline ends the call).
            RepositoryReadError: anything else, after botocore's retries.
        """
        try:
            with self._budget():
                return call()
        except _OutOfTime as out_of_time:
            raise ReadDeadlineReached(
                f"{operation} on {self._repository_name} was not attempted: {out_of_time}, before "
                "the invocation's deadline; raising so Lambda retries the event"
            ) from out_of_time
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            from handler.aws.errors import meaning, unreadable_reasons  # on the error's path only

            reasons = unreadable_reasons("codecommit")
            if code in reasons:
                raise CommitUnavailable(commit_id, reasons[code]) from error
            known = meaning("codecommit", code)
            advice = (
                known.says
                if known is not None
                else f"if it says AccessDenied, grant the function codecommit:{operation} on this repository"
            )
            raise RepositoryReadError(
                f"{operation} on {self._repository_name} failed with {code or 'an error'} after "
                f"retries; {advice}"
            ) from error
        except BotoCoreError as error:
            raise RepositoryReadError(
                f"{operation} on {self._repository_name} failed after retries: {type(error).__name__}"
            ) from error

    @contextmanager
    def _budget(self) -> Iterator[None]:
        if self._deadline is None:
            yield
            return
        config = self._client.meta.config
        attempt_seconds = float(config.connect_timeout or 0) + float(config.read_timeout or 0)
        token = _ACTIVE_BUDGET.set(_CallBudget(self._deadline, attempt_seconds))
        try:
            yield
        finally:
            _ACTIVE_BUDGET.reset(token)


#: Why a commit can't be read, worded the same by every reader (NOT_A_COMMIT, INVALID_COMMIT_ID and
#: REPOSITORY_GONE are the service's codes' reasons, in :mod:`handler.aws.errors`).
CANNOT_COMPARE = "this reader cannot compare histories"


def _commit_from_api(raw: dict[str, Any], commit_id: str) -> Commit:
    """GetCommit's or BatchGetCommits' ``Commit`` as a :class:`Commit`."""
    return Commit(
        commit_id=raw.get("commitId") or commit_id,
        message=raw.get("message") or "",
        author=_person(raw.get("author")),
        committer=_person(raw.get("committer")),
        parent_ids=tuple(raw.get("parents") or ()),
    )


def _person(raw: Any) -> Person:
    raw = raw if isinstance(raw, dict) else {}
    return Person(
        name=str(raw.get("name") or ""),
        email=str(raw.get("email") or ""),
        date=parse_git_date(raw.get("date")),
    )


def file_change_from_api(difference: dict[str, Any]) -> FileChange:
    """One GetDifferences ``Difference`` as a :class:`FileChange` (the path and mode that exist after
    the change, or before it for a deletion; a changed mode is kept)."""
    before = difference.get("beforeBlob") or {}
    after = difference.get("afterBlob") or {}
    change_type = ChangeType(difference.get("changeType", "M"))
    current = before if change_type is ChangeType.DELETED else after
    path = str(current.get("path") or before.get("path") or after.get("path") or "")
    kind = EntryKind.from_mode(current.get("mode"))
    old_kind = None
    if change_type is ChangeType.MODIFIED and before.get("mode") != after.get("mode"):
        old_kind = EntryKind.from_mode(before.get("mode"))
    old_path = None
    if change_type is ChangeType.MODIFIED and before.get("path") and before.get("path") != path:
        change_type, old_path = ChangeType.RENAMED, str(before["path"])  # moved (and maybe changed)
    return FileChange(change_type=change_type, path=path, kind=kind, old_kind=old_kind, old_path=old_path)


def _blob_id(difference: dict[str, Any], side: str) -> str | None:
    blob = difference.get(side) or {}
    return str(blob["blobId"]) if blob.get("blobId") else None


def pair_renames(changes: list[tuple[FileChange, str | None, str | None]]) -> tuple[FileChange, ...]:
    """One diff's changes, each with its blob ids before and after, with renames made whole.

    Neither GetDifferences nor ``git diff-tree --no-renames`` has a rename: a moved file comes as
    a deletion and an addition of the same blob (or, from CodeCommit, a modification whose two
    paths differ). Such a pair becomes one :attr:`ChangeType.RENAMED` change at the new path; a
    blob deleted or added more than once stays as it was (which copy moved where is a guess).
    """
    deleted: dict[str, list[int]] = {}
    added: dict[str, list[int]] = {}
    for index, (change, before, after) in enumerate(changes):
        if change.change_type is ChangeType.DELETED and before:
            deleted.setdefault(before, []).append(index)
        elif change.change_type is ChangeType.ADDED and after:
            added.setdefault(after, []).append(index)
    renamed_from: dict[int, int] = {}
    for blob, [addition] in ((blob, found) for blob, found in added.items() if len(found) == 1):
        if len(deleted.get(blob, ())) == 1:
            renamed_from[addition] = deleted[blob][0]
    gone = set(renamed_from.values())
    result: list[FileChange] = []
    for index, (change, _before, _after) in enumerate(changes):
        if index in gone:
            continue
        if index in renamed_from:
            old_path = changes[renamed_from[index]][0].path
            result.append(dataclasses.replace(change, change_type=ChangeType.RENAMED, old_path=old_path))
        else:
            result.append(change)
    return tuple(result)
