"""Enrich's source of truth: the :class:`CommitReader` interface and its CodeCommit implementation.

Two implementations exist and are held to the same tests:

* :class:`CodeCommitReader` (here) calls GetCommit and GetDifferences through boto3;
* :class:`handler.gitreader.LocalGitReader` answers the same questions from a local git
  repository, which is what ``python -m handler --repo`` and ``make demo`` use.
"""

from __future__ import annotations

import logging
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
    }
)


class CommitReader(Protocol):
    """Reads commits and their per-parent changes from one repository."""

    def get_commit(self, commit_id: str) -> Commit:
        """Return the commit; raise :class:`CommitUnavailable` if the id is not a readable commit."""
        ...

    def get_differences(self, commit_id: str, parent_id: str | None) -> tuple[FileChange, ...]:
        """Return every change of ``commit_id`` against ``parent_id`` (None: against nothing)."""
        ...


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
        raw = response["commit"]
        return Commit(
            commit_id=raw.get("commitId") or commit_id,
            message=raw.get("message") or "",
            author=_person(raw.get("author")),
            committer=_person(raw.get("committer")),
            parent_ids=tuple(raw.get("parents") or ()),
        )

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

    def _call(self, operation: str, commit_id: str, call: Any) -> Any:
        try:
            return call()
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in UNREADABLE_COMMIT_ERRORS:
                raise CommitUnavailable(commit_id, _UNREADABLE_REASONS.get(code, code)) from error
            raise RepositoryReadError(
                f"{operation} on {self._repository_name} failed with {code or 'an error'} after "
                "retries; if it says AccessDenied, grant the function codecommit:GetCommit and "
                "codecommit:GetDifferences on this repository"
            ) from error
        except BotoCoreError as error:
            raise RepositoryReadError(
                f"{operation} on {self._repository_name} failed after retries: {type(error).__name__}"
            ) from error


#: Why a commit can't be read, worded the same by every reader so a push renders identically
#: whether its commits come from CodeCommit or from a local git repository.
NOT_A_COMMIT = (
    "no commit has this id (it may be an annotated tag's object id, or a commit removed with its branch)"
)
INVALID_COMMIT_ID = "not a valid commit id"
REPOSITORY_GONE = "the repository no longer exists"

_UNREADABLE_REASONS = {
    "CommitDoesNotExistException": NOT_A_COMMIT,
    "CommitIdDoesNotExistException": NOT_A_COMMIT,
    "InvalidCommitException": INVALID_COMMIT_ID,
    "InvalidCommitIdException": INVALID_COMMIT_ID,
    "RepositoryDoesNotExistException": REPOSITORY_GONE,
}


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
