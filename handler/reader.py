"""Enrich's source of truth: the :class:`CommitReader` interface and its CodeCommit implementation.

Two implementations exist and are held to the same tests:

* :class:`CodeCommitReader` (here) calls GetCommit and GetDifferences through boto3;
* :class:`handler.gitreader.LocalGitReader` answers the same questions from a local git
  repository, which is what ``python -m handler --repo`` and ``make demo`` use.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from handler.errors import CommitUnavailable, RepositoryReadError
from handler.model import ChangeType, Commit, EntryKind, FileChange, Person

log = logging.getLogger(__name__)

#: CodeCommit error codes that mean "this id is not a readable commit": tolerated, not retried.
UNREADABLE_COMMIT_ERRORS = frozenset(
    {
        "CommitDoesNotExistException",
        "CommitIdDoesNotExistException",
        "InvalidCommitException",
        "InvalidCommitIdException",
        "RepositoryDoesNotExistException",
        "BranchDoesNotExistException",
        "TipsDivergenceExceededException",
        "FolderDoesNotExistException",
    }
)
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
        """The commit a reference resolves to now (a tag is peeled to its commit), or None."""
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
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=3,
        read_timeout=read_timeout,
        user_agent_extra="codecommit-slack-notifier",
    )


class CodeCommitReader:
    """Reads commits from CodeCommit with a boto3 client that the caller creates and owns."""

    def __init__(self, client: Any, repository_name: str) -> None:
        self._client = client
        self._repository_name = repository_name

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

        def read_all_pages() -> list[dict[str, Any]]:
            return [
                difference
                for page in paginator.paginate(**arguments)
                for difference in page.get("differences", ())
            ]

        differences = self._call("GetDifferences", commit_id, read_all_pages)
        return tuple(file_change_from_api(difference) for difference in differences)

    def get_commits(self, commit_ids: Sequence[str]) -> dict[str, Commit]:
        """BatchGetCommits, 100 ids a call (the service's limit); unreadable ids are left out."""
        found: dict[str, Commit] = {}
        unique = list(dict.fromkeys(commit_ids))
        for start in range(0, len(unique), BATCH_GET_COMMITS_LIMIT):
            batch = unique[start : start + BATCH_GET_COMMITS_LIMIT]
            response = self._call(
                "BatchGetCommits",
                batch[0],
                lambda batch=batch: self._client.batch_get_commits(
                    repositoryName=self._repository_name, commitIds=batch
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

    def resolve_commit(self, specifier: str) -> str | None:
        """GetFolder on the root at ``specifier``: its ``commitId`` is the commit the ref resolves
        to, which peels an annotated tag (documented: a commit specifier may be a tag)."""
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

    def _call(self, operation: str, commit_id: str, call: Any) -> Any:
        try:
            return call()
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in UNREADABLE_COMMIT_ERRORS:
                raise CommitUnavailable(commit_id, _UNREADABLE_REASONS.get(code, code)) from error
            raise RepositoryReadError(
                f"{operation} on {self._repository_name} failed with {code or 'an error'} after "
                f"retries; if it says AccessDenied, grant the function codecommit:{operation} on "
                "this repository"
            ) from error
        except BotoCoreError as error:
            raise RepositoryReadError(
                f"{operation} on {self._repository_name} failed after retries: {type(error).__name__}"
            ) from error


#: Why a commit can't be read, worded the same by every reader so a push renders identically
#: whether its commits come from CodeCommit or from a local git repository.
NOT_A_COMMIT = "no commit has this id in the repository"
INVALID_COMMIT_ID = "not a valid commit id"
CANNOT_COMPARE = "this reader cannot compare histories"
REPOSITORY_GONE = "the repository no longer exists"

_UNREADABLE_REASONS = {
    "CommitDoesNotExistException": NOT_A_COMMIT,
    "CommitIdDoesNotExistException": NOT_A_COMMIT,
    "InvalidCommitException": INVALID_COMMIT_ID,
    "InvalidCommitIdException": INVALID_COMMIT_ID,
    "RepositoryDoesNotExistException": REPOSITORY_GONE,
    "BranchDoesNotExistException": "no such branch",
    "TipsDivergenceExceededException": "the histories are too far apart to compare",
    "FolderDoesNotExistException": "the reference has no readable tree",
}


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
    return FileChange(change_type=change_type, path=path, kind=kind, old_kind=old_kind)
