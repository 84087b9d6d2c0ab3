"""Domain objects that flow through the pipeline: frozen, typed, free of AWS and Slack shapes.

``parse`` turns an event into a :class:`Push`; ``enrich`` adds a :class:`RefReport` per reference;
``render`` turns the resulting :class:`Notification` into a Slack payload. Nothing here does I/O.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class RefKind(enum.Enum):
    """What a pushed reference is, from its full name."""

    BRANCH = "branch"
    TAG = "tag"
    OTHER = "reference"


class RefAction(enum.Enum):
    """What the push did to the reference (the trigger's ``created`` / ``deleted`` flags)."""

    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


class ChangeType(enum.Enum):
    """GetDifferences' ``changeType``: addition, modification or deletion."""

    ADDED = "A"
    MODIFIED = "M"
    DELETED = "D"


class EntryKind(enum.Enum):
    """What a git tree entry is, from its mode (``100644``, ``100755``, ``120000``, ``160000``)."""

    FILE = "file"
    EXECUTABLE = "executable"
    SYMLINK = "symlink"
    SUBMODULE = "submodule"

    @classmethod
    def from_mode(cls, mode: str | None) -> EntryKind:
        """Map a git mode string to a kind; unknown or missing modes count as plain files."""
        return _MODE_KINDS.get(mode or "", cls.FILE)


_MODE_KINDS = {
    "100755": EntryKind.EXECUTABLE,
    "120000": EntryKind.SYMLINK,
    "160000": EntryKind.SUBMODULE,
}


@dataclass(frozen=True)
class Repository:
    """The repository a trigger fired for, from ``eventSourceARN``."""

    name: str
    region: str
    account: str
    partition: str = "aws"


@dataclass(frozen=True)
class Pusher:
    """Who pushed, as a person would say it, with the IAM identity it came from."""

    display_name: str
    identity_kind: str
    arn: str
    role_name: str | None = None

    @property
    def label(self) -> str:
        """``alice@example.com (role DeveloperRole)`` for an assumed role, else the name alone."""
        if self.role_name:
            return f"{self.display_name} (role {self.role_name})"
        return self.display_name


@dataclass(frozen=True)
class RefChange:
    """One reference in a push: which ref, what happened to it and the commit id the trigger gave."""

    full_name: str
    kind: RefKind
    short_name: str
    action: RefAction
    commit_id: str | None


@dataclass(frozen=True)
class Push:
    """One CodeCommit trigger record: a push to one repository, covering one or more references."""

    repository: Repository
    pusher: Pusher
    ref_changes: tuple[RefChange, ...]
    event_time: datetime | None
    event_id: str
    trigger_name: str
    is_test: bool = False
    custom_data: str | None = None


@dataclass(frozen=True)
class Person:
    """A commit's author or committer."""

    name: str
    email: str
    date: datetime | None


@dataclass(frozen=True)
class Commit:
    """What GetCommit (or ``git show``) says about one commit."""

    commit_id: str
    message: str
    author: Person
    committer: Person
    parent_ids: tuple[str, ...]

    @property
    def subject(self) -> str:
        """The first line of the message."""
        return self.message.strip().split("\n", 1)[0].strip()

    @property
    def body(self) -> str:
        """Everything after the subject line, with surrounding blank lines removed."""
        parts = self.message.strip().split("\n", 1)
        return parts[1].strip("\n").rstrip() if len(parts) == 2 else ""


@dataclass(frozen=True)
class FileChange:
    """One changed path, with the entry kinds before and after (mode changes are kept)."""

    change_type: ChangeType
    path: str
    kind: EntryKind = EntryKind.FILE
    old_kind: EntryKind | None = None


@dataclass(frozen=True)
class ParentDiff:
    """The changes of a commit against one parent; ``parent_id`` is None for a root commit."""

    parent_id: str | None
    changes: tuple[FileChange, ...]
    error: str | None = None


@dataclass(frozen=True)
class RefReport:
    """A reference change together with what could be learned about its commit."""

    ref_change: RefChange
    commit: Commit | None
    commit_error: str | None
    parent_diffs: tuple[ParentDiff, ...] = ()


@dataclass(frozen=True)
class Notification:
    """Everything the renderer needs for one Slack message: the push and a report per reference.

    ``omitted`` holds the references past the per-message limit: they are named in the message but
    not read from CodeCommit, so a push of thousands of tags stays one bounded message.
    """

    push: Push
    reports: tuple[RefReport, ...]
    omitted: tuple[RefChange, ...] = ()
