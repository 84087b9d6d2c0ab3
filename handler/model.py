"""Domain objects that flow through the pipeline: frozen, typed, free of AWS and Slack shapes.

``parse`` turns an event into a :class:`Push`; ``enrich`` adds a :class:`RefReport` per reference;
``render`` turns the resulting :class:`Notification` into a Slack payload. Nothing here does I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class IdentityMatch(enum.Enum):
    """What ``USER_MAP`` keys and ``ROUTES`` actor globs are matched against (``IDENTITY_MATCH``).

    An assumed-role session's name, and the e-mail in its session tags, are chosen by whoever
    assumes the role: anyone allowed to assume it can call their session ``alice``. Only the rest
    of an ARN (account, user, role) is set by the account's administrators. See docs/security.md,
    "Who is who".
    """

    #: Full ARNs only (the default): a session named ``alice`` is not alice.
    ARN = "arn"
    #: ARNs, and also IAM user names, session names and session-tag e-mails (self-chosen for
    #: sessions): convenient, and spoofable by anyone who can assume a role.
    NAME = "name"

    @classmethod
    def parse(cls, text: str) -> IdentityMatch:
        """``IDENTITY_MATCH``'s text, in any case: ``arn`` or ``name``.

        Raises:
            ValueError: saying what to write (the caller adds the setting's name).
        """
        try:
            return cls(text.strip().lower())
        except ValueError:
            choices = ", ".join(item.value for item in cls)
            raise ValueError(f"must be one of {choices}, got {text[:40]!r}") from None


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
    """GetDifferences' ``changeType`` (addition, modification, deletion), and a rename: a path
    deleted and another added with the same blob in one diff, or a modification whose path
    changed (:func:`handler.enrich.reader.pair_renames`)."""

    ADDED = "A"
    MODIFIED = "M"
    DELETED = "D"
    RENAMED = "R"


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
    """The repository an event is about: CodeCommit's (from ``eventSourceARN``) or a GitLab project.

    The seam between the two sources is ``web_url``: links are made from it where it is set
    (GitLab's ``project.web_url``; see :mod:`handler.render.links`), and from the region and
    partition otherwise (the CodeCommit console). Everything else treats both alike: ``name`` is
    what routing matches (a CodeCommit repository name, or GitLab's ``group/project`` path), and
    ``account:region:name`` scopes every state key (for GitLab: ``<host>:gitlab:<group/project>``).
    """

    name: str
    region: str
    account: str
    partition: str = "aws"
    #: The project's web page on a forge that has one (``https://gitlab.example.com/group/project``);
    #: None for CodeCommit, whose console links are made from ``region`` and ``partition``.
    web_url: str | None = None

    @property
    def source_label(self) -> str:
        """Where the event came from, for a message's footer: ``AWS CodeCommit · eu-west-1`` or
        ``GitLab · gitlab.example.com``."""
        if self.web_url is not None:
            return f"GitLab · {self.account}"
        return f"AWS CodeCommit · {self.region}"


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


def parse_pusher(arn: str) -> Pusher:
    """Say who pushed the way a person would, from ``userIdentityARN``.

    * ``arn:aws:iam::123:user/division/alice``                    → ``alice``
    * ``arn:aws:sts::123:assumed-role/DeveloperRole/alice@x.com`` → ``alice@x.com`` (role kept)
    * ``arn:aws:iam::123:root``                                   → ``root (account 123)``
    * ``arn:aws:sts::123:federated-user/bob``                     → ``bob``
    * anything else is shown as given.
    """
    if not arn:
        return Pusher("unknown user", "unknown", arn)
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return Pusher(arn[:200], "unknown", arn)
    service, account, resource = parts[2], parts[4], parts[5]
    if resource == "root":
        return Pusher(f"root (account {account})", "root", arn)
    kind, _, path = resource.partition("/")
    segments = [segment for segment in path.split("/") if segment]
    if service == "sts" and kind == "assumed-role" and len(segments) >= 2:
        return Pusher(segments[-1], "assumed-role", arn, role_name=segments[-2])
    if kind in ("user", "federated-user") and segments:
        return Pusher(segments[-1], kind, arn)
    return Pusher(resource[:200] or arn[:200], kind or "unknown", arn)


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
    #: Identifies this push across redeliveries of the same message: the SNS ``MessageId`` (or,
    #: for a trigger invoking Lambda directly, the record's ``eventId``) plus the record's index.
    delivery_key: str = ""


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
    #: for a rename, the path before it
    old_path: str | None = None


@dataclass(frozen=True)
class ParentDiff:
    """The changes of a commit against one parent; ``parent_id`` is None for a root commit."""

    parent_id: str | None
    changes: tuple[FileChange, ...]
    error: str | None = None


class HistoryRelation(enum.Enum):
    """How the commits listed for a branch push relate to what the branch had before.

    ``FAST_FORWARD`` and ``FORCED`` describe an update whose previous head the notifier recorded;
    the other three describe a branch that was created by the push (its commits are measured
    against the repository's default branch).
    """

    FAST_FORWARD = "fast-forward"  #: the new head descends from the previous one
    FORCED = "forced"  #: history was rewritten: the previous head is not an ancestor of the new one
    BRANCHED = "branched"  #: a new branch; its commits are those not on the default branch
    DEFAULT_BRANCH = "default-branch"  #: a new branch that is the default branch itself
    UNRELATED = "unrelated"  #: a new branch sharing no history with the default branch


@dataclass(frozen=True)
class BranchHistory:
    """The commits a branch push brought, newest first, and how they relate to what came before.

    Attributes:
        relation: see :class:`HistoryRelation`.
        commits: the commits the push added (reachable from the new head, not from ``base_id``),
            newest first, at most as many as the message lists.
        total: how many commits the push added, counted up to the walk's bound.
        total_exact: False when the walk stopped at its bound, so ``total`` is a lower bound.
        previous_id: the branch's previous head (updates only): where a compare link starts.
        base_id: where the listed commits stop (exclusive): the previous head for a fast
            forward, the merge base for a force push or a new branch; None for unrelated history.
        base_ref: for a new branch, the short name of the default branch it is measured against.
        dropped: for a force push, how many commits are no longer on the branch (None: unknown).
        dropped_exact: False when ``dropped`` is a lower bound (the walk stopped at its bound).
        dropped_commits: for a force push, the commits no longer on the branch, newest first, at
            most as many as the message lists.
        combined_changes: what the push changed as a whole (None when not read): for an update,
            the diff from the previous head to the new one; for a new branch, its change against
            ``base_id``. When read, the tip commit's own diffs are not.
        combined_error: why ``combined_changes`` could not be read, if it could not.
    """

    relation: HistoryRelation
    commits: tuple[Commit, ...]
    total: int
    total_exact: bool = True
    previous_id: str | None = None
    base_id: str | None = None
    base_ref: str | None = None
    dropped: int | None = None
    dropped_exact: bool = True
    dropped_commits: tuple[Commit, ...] = ()
    combined_changes: tuple[FileChange, ...] | None = None
    combined_error: str | None = None

    @property
    def forced(self) -> bool:
        """True when the push rewrote history (the message must say "force-pushed")."""
        return self.relation is HistoryRelation.FORCED


#: ``RefReport.commit_error`` for a tag whose id is neither a readable commit nor a tag object that
#: can still be peeled to one (the pushed object is gone; the tag's name is never resolved instead).
TAG_OBJECT_UNREADABLE = "the tag object the push named can no longer be read, nor a commit with its id"


@dataclass(frozen=True)
class TagAnnotation:
    """What an annotated tag says of itself: who tagged, and the tag's message.

    Read where the reader can read tag objects (local git); CodeCommit has no API for them
    (GetCommit, GetBlob and GetFolder take commits, blobs and trees), so there it stays unknown.
    """

    tagger: Person
    message: str

    @property
    def subject(self) -> str:
        """The first line of the message."""
        return self.message.strip().split("\n", 1)[0].strip()


@dataclass(frozen=True)
class RefReport:
    """A reference change together with what could be learned about its commit.

    Attributes:
        ref_change: the reference as the trigger reported it.
        commit: the commit it points at (for an annotated tag, the commit the tag was peeled to).
        commit_error: why ``commit`` is None.
        parent_diffs: the tip commit's changes against each of its parents.
        history: for a branch push whose starting point is known, the commits it added; None
            when the branch is seen for the first time (the message then shows the tip only).
        tag_object_id: for an annotated tag, the tag object's id the trigger gave, when
            ``commit`` is the commit it was peeled to.
        tag: for an annotated tag, its tagger and message, where the reader can read them.
    """

    ref_change: RefChange
    commit: Commit | None
    commit_error: str | None
    parent_diffs: tuple[ParentDiff, ...] = ()
    history: BranchHistory | None = None
    tag_object_id: str | None = None
    tag: TagAnnotation | None = None


@dataclass(frozen=True)
class Notification:
    """Everything the renderer needs for one Slack message: the push and a report per reference.

    ``omitted`` holds the references past the per-message limit: they are named in the message but
    not read from CodeCommit, so a push of thousands of tags stays one bounded message.
    """

    push: Push
    reports: tuple[RefReport, ...]
    omitted: tuple[RefChange, ...] = ()
    #: Branch updates left out because a later push to the same branch was already reported
    #: (SNS does not keep order): their commits were listed then. Not rendered; logged.
    late: tuple[RefChange, ...] = ()


class RouteDecision(Protocol):
    """What a routing decision says to the log (``handler.routing.Decision`` is one): named here
    so this module needs nothing from the routing module, which only ``ROUTES`` loads."""

    @property
    def outcome(self) -> enum.Enum:
        """How the decision came about (``handler.routing.Outcome``)."""
        ...

    @property
    def reason(self) -> str:
        """Why it went where it went (or nowhere)."""
        ...


@dataclass(frozen=True)
class PushRouting:
    """A push routed per reference (``handler.routing.route_push``): what each destination
    receives, and what went nowhere. Without routes, everything goes to ``default``
    (:meth:`everything_to_default`), which needs nothing from the routing module.

    Attributes:
        by_destination: destination name → the references routed to it, in push order;
            destinations in order of first mention.
        dropped: each reference routed nowhere, with its decision (the reason to log).
        decisions: every reference's decision, in push order.
    """

    by_destination: Mapping[str, tuple[RefChange, ...]]
    dropped: tuple[tuple[RefChange, RouteDecision], ...]
    decisions: tuple[tuple[RefChange, RouteDecision], ...] = field(default=())

    @classmethod
    def everything_to_default(cls, ref_changes: tuple[RefChange, ...]) -> PushRouting:
        return cls({"default": ref_changes}, ())


class RunStatus(enum.Enum):
    """What a CI pipeline run's message reports."""

    FAILED = "failed"  #: the run failed
    FIXED = "fixed"  #: the run succeeded where the ref's previous run had failed


@dataclass(frozen=True)
class PipelineRun:
    """One finished CI pipeline run worth a message (a failure, or the success that fixed one).

    Attributes:
        repository: where it ran.
        run_id: the pipeline's id (``#31``).
        ref: the branch or tag (short name) it ran for.
        is_tag: whether ``ref`` is a tag.
        commit_id: the commit it ran for.
        commit_title: that commit's subject.
        status: failed, or fixed.
        url: the run's page (None when not a usable link).
        started_by: who started it (display name) and their username, the ``USER_MAP`` key.
        failed_jobs: (stage, job, reason) of each job that failed.
        finished_at: when it finished.
    """

    repository: Repository
    run_id: str
    ref: str
    is_tag: bool
    commit_id: str
    commit_title: str
    status: RunStatus
    url: str | None
    started_by: Pusher
    failed_jobs: tuple[tuple[str, str, str], ...] = ()
    finished_at: datetime | None = None
