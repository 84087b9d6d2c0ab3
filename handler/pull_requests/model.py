"""Domain objects for pull-request, comment and approval events: frozen, typed, free of AWS shapes.

``handler.sources.eventbridge`` turns an EventBridge event into an :class:`Activity`;
``handler.enrich.pull_request`` adds what CodeCommit says about it (:class:`PullRequestDetails`,
:class:`CommentDetails`, :class:`ApprovalState`) as a :class:`Notice`; the renderer turns that into
a Slack payload. Nothing here does I/O.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from handler.model import Repository


class ActivityKind(enum.Enum):
    """What happened, one value per message kind. The value is the name ``PULL_REQUEST_EVENTS`` uses."""

    OPENED = "opened"
    SOURCE_UPDATED = "updated"
    APPROVED = "approved"
    APPROVAL_REVOKED = "approval-revoked"
    OVERRIDDEN = "overridden"
    OVERRIDE_REVOKED = "override-revoked"
    MERGED = "merged"
    CLOSED = "closed"
    REOPENED = "reopened"
    RULE_CHANGED = "rule-changed"
    COMMENT = "comment"
    COMMENT_EDITED = "comment-edited"
    COMMIT_COMMENT = "commit-comment"


#: Kinds that are about a pull request (the others are about a commit).
COMMIT_KINDS = frozenset({ActivityKind.COMMIT_COMMENT})


@dataclass(frozen=True)
class Identity:
    """Someone CodeCommit names by IAM ARN, as a person would say it.

    Attributes:
        arn: the IAM ARN as the event or the API gave it ("" when unknown).
        name: the IAM user name, the assumed-role session name or a federated user's name.
        role_name: the role, for an assumed-role session.
        email: the e-mail address from session tags, when CodeCommit passed it on.
        display_name: the display name from session tags, when CodeCommit passed it on.
    """

    arn: str
    name: str
    role_name: str | None = None
    email: str | None = None
    display_name: str | None = None

    @property
    def label(self) -> str:
        """``Mary Major`` (a display name) or ``alice`` / ``alice (role Dev)``."""
        if self.display_name:
            return self.display_name
        if self.role_name:
            return f"{self.name} (role {self.role_name})"
        return self.name


@dataclass(frozen=True)
class PullRequestSnapshot:
    """A pull request as an event or GetPullRequest describes it at one moment.

    Attributes:
        pull_request_id: the id, a decimal string (``"227"``).
        title: its title ("" when unknown).
        description: its description ("" when none).
        author_arn: who opened it.
        source_reference, destination_reference: full ref names (``refs/heads/feature``).
        source_commit, destination_commit: the commits they pointed at.
        status: ``Open`` or ``Closed``.
        is_merged: whether it was merged.
        revision_id: the revision, which the approval APIs ask for.
        merge_option: ``FAST_FORWARD_MERGE``, ``SQUASH_MERGE`` or ``THREE_WAY_MERGE`` when merged.
        merged_by: who merged it (GetPullRequest only).
        merge_commit_id: the merge commit (GetPullRequest only).
    """

    pull_request_id: str
    title: str = ""
    description: str = ""
    author_arn: str = ""
    source_reference: str = ""
    destination_reference: str = ""
    source_commit: str = ""
    destination_commit: str = ""
    status: str = ""
    is_merged: bool = False
    revision_id: str = ""
    merge_option: str | None = None
    merged_by: str | None = None
    merge_commit_id: str | None = None


@dataclass(frozen=True)
class CommentRef:
    """The comment an event is about (the event carries its id, never its text)."""

    comment_id: str
    in_reply_to: str | None = None
    before_commit_id: str | None = None
    after_commit_id: str | None = None


@dataclass(frozen=True)
class Activity:
    """One EventBridge event, parsed: what happened, where, by whom, to which pull request or commit.

    Attributes:
        kind: what happened.
        event_name: CodeCommit's own name for it (``pullRequestCreated``), for logs.
        repository: the repository (region and partition from the event).
        actor: who did it (``callerUserArn``).
        event_id: EventBridge's id for the event (redeliveries share it).
        event_time: the envelope's ``time``.
        pull_request: what the event says about the pull request (None for commit comments;
            comment events carry only its id, in ``pull_request_id``).
        pull_request_id: the pull request's id, if any.
        comment: the comment, for comment events.
        approval_rule_name: the rule, for rule events.
    """

    kind: ActivityKind
    event_name: str
    repository: Repository
    actor: Identity
    event_id: str = ""
    event_time: datetime | None = None
    pull_request: PullRequestSnapshot | None = None
    pull_request_id: str | None = None
    comment: CommentRef | None = None
    approval_rule_name: str | None = None

    @property
    def delivery_id(self) -> str:
        """The id this activity is delivered under, once ("" when the event had no id).

        EventBridge's id, except for a merge: a pull request is merged once, but CodeCommit may
        say so twice (``pullRequestMergeStatusUpdated``, and a ``pullRequestStatusChanged`` to
        Closed with ``isMerged`` true), each with its own id. Both are claimed under the merge's
        own id, so the pair posts one message in either order, and a redelivery of either none.
        """
        if not self.event_id:
            return ""
        if self.kind is ActivityKind.MERGED and self.pull_request_id:
            return f"merge:{self.repository.region}:{self.repository.name}:{self.pull_request_id}"
        return self.event_id

    @property
    def scope(self) -> str:
        """``<account>:<region>:<repository>#<pull request id>``: what names the pull request in
        every state key about it (drafts, source commits, threads, "ready for review" marks)."""
        repository = self.repository
        return f"{repository.account}:{repository.region}:{repository.name}#{self.pull_request_id}"


@dataclass(frozen=True)
class ApprovalRule:
    """One approval rule: how many approvals it needs and from whom (``approvalRuleContent``)."""

    name: str
    approvals_needed: int
    pool_members: tuple[str, ...] = ()
    template_name: str | None = None


@dataclass(frozen=True)
class PullRequestDetails:
    """What GetPullRequest says: the current snapshot and its approval rules."""

    snapshot: PullRequestSnapshot
    approval_rules: tuple[ApprovalRule, ...] = ()

    @property
    def approvals_needed(self) -> int:
        """The most any one rule needs (every rule must be met, each counts its own pool)."""
        return max((rule.approvals_needed for rule in self.approval_rules), default=0)

    @property
    def pool_members(self) -> tuple[str, ...]:
        """Every rule's pool members, each once, in rule order."""
        return tuple(dict.fromkeys(member for rule in self.approval_rules for member in rule.pool_members))


@dataclass(frozen=True)
class CommentDetails:
    """What GetComment (and, for its place, GetCommentsForPullRequest) says about a comment."""

    comment_id: str
    content: str
    author_arn: str = ""
    in_reply_to: str | None = None
    deleted: bool = False
    file_path: str | None = None
    file_position: int | None = None
    relative_file_version: str | None = None


@dataclass(frozen=True)
class ApprovalState:
    """Who has approved the current revision, and whether the rules are met."""

    approver_arns: tuple[str, ...]
    approved: bool | None = None
    overridden: bool | None = None


class ReviewCommand(enum.Enum):
    """What a comment's first word asks for."""

    REVIEW_DONE = "review-done"  #: a reviewer tells the author the review is finished
    RE_REVIEW = "re-review"  #: the author asks the reviewers to look again
    PING_REVIEWERS = "ping-reviewers"  #: the author has a question for the reviewers


@dataclass(frozen=True)
class BuildResult:
    """The latest pipeline run of a pull request's source tip (``buildstatus#<scope>``), for the
    thread's parent: "✓ build passed" / "✗ build failed", as GitHub shows checks beside a PR.

    Attributes:
        passed: the run succeeded.
        commit_id: the source commit it built; shown only while that is still the source tip.
        pipeline: the pipeline's name.
    """

    passed: bool
    commit_id: str
    pipeline: str


@dataclass(frozen=True)
class Notice:
    """Everything the renderer needs for one message about a pull request or commit.

    Attributes:
        activity: the parsed event.
        details: GetPullRequest's answer; None when it could not be read (``details_error``).
        comment: GetComment's answer; None when it could not be read (``comment_error``).
        approvals: the approval state, for approval and merge messages (None if not read).
        command: the review command the comment starts with, if any.
        command_rest: the comment's text after the command.
        ready_for_review: True for the one "ready for review" announcement of a former draft.
        previous_source_commit: for new commits pushed, the source commit last seen (state).
    """

    activity: Activity
    details: PullRequestDetails | None = None
    details_error: str | None = None
    comment: CommentDetails | None = None
    comment_error: str | None = None
    approvals: ApprovalState | None = None
    command: ReviewCommand | None = None
    command_rest: str = ""
    ready_for_review: bool = False
    previous_source_commit: str | None = None

    @property
    def pull_request(self) -> PullRequestSnapshot | None:
        """The freshest snapshot: GetPullRequest's if read, else the event's."""
        if self.details is not None:
            return self.details.snapshot
        return self.activity.pull_request
