"""Enrich: add what CodeCommit knows to an :class:`Activity`, giving a :class:`Notice`.

What is read, per kind:

* every pull-request event: GetPullRequest (title, description, author, branches, merge state,
  approval rules with their pool members), because the current title decides drafts and the
  rules name the reviewers;
* comments: GetComment (the text, which events never carry) and, for pull-request comments,
  GetCommentsForPullRequest for an inline comment's file and line;
* approvals, revocations, overrides and ``/review-done``: the approval state, for "1 of 2
  approvals".

Whatever cannot be read is recorded with the reason and the message is built from the event.
Anything else the reader raises (throttling after retries, access denied) propagates.
"""

from __future__ import annotations

from collections.abc import Mapping

from handler.enrich.pull_request_reader import PullRequestReader, Unreadable
from handler.pull_requests.commands import split_command
from handler.pull_requests.model import (
    Activity,
    ActivityKind,
    ApprovalState,
    CommentDetails,
    Notice,
    PullRequestDetails,
    ReviewCommand,
)

APPROVAL_KINDS = frozenset(
    {
        ActivityKind.APPROVED,
        ActivityKind.APPROVAL_REVOKED,
        ActivityKind.OVERRIDDEN,
        ActivityKind.OVERRIDE_REVOKED,
    }
)
COMMAND_KINDS = frozenset({ActivityKind.COMMENT})


def enrich(activity: Activity, reader: PullRequestReader, commands: Mapping[str, ReviewCommand]) -> Notice:
    """Read what the message needs; see the module docstring."""
    details, details_error = _details(activity, reader)
    comment, comment_error = _comment(activity, reader)
    command, rest = None, ""
    if comment is not None and activity.kind in COMMAND_KINDS and activity.pull_request_id:
        command, rest = split_command(comment.content, commands)
    approvals = None
    if (activity.kind in APPROVAL_KINDS or command is ReviewCommand.REVIEW_DONE) and activity.pull_request_id:
        approvals = _approvals(activity, details, reader)
    return Notice(
        activity=activity,
        details=details,
        details_error=details_error,
        comment=comment,
        comment_error=comment_error,
        approvals=approvals,
        command=command,
        command_rest=rest,
    )


def _details(activity: Activity, reader: PullRequestReader) -> tuple[PullRequestDetails | None, str | None]:
    if activity.pull_request_id is None:
        return None, None
    try:
        return reader.get_pull_request(activity.pull_request_id), None
    except Unreadable as unreadable:
        return None, unreadable.reason


def _comment(activity: Activity, reader: PullRequestReader) -> tuple[CommentDetails | None, str | None]:
    reference = activity.comment
    if reference is None:
        return None, None
    try:
        comment = reader.get_comment(
            reference.comment_id,
            pull_request_id=activity.pull_request_id,
            repository_name=activity.repository.name,
            before_commit_id=reference.before_commit_id,
            after_commit_id=reference.after_commit_id,
        )
    except Unreadable as unreadable:
        return None, unreadable.reason
    if comment.deleted:
        return None, "it was deleted"
    return comment, None


def _approvals(
    activity: Activity, details: PullRequestDetails | None, reader: PullRequestReader
) -> ApprovalState | None:
    snapshot = details.snapshot if details is not None else activity.pull_request
    if snapshot is None or not snapshot.revision_id or activity.pull_request_id is None:
        return None
    try:
        return reader.get_approval_state(activity.pull_request_id, snapshot.revision_id)
    except Unreadable:
        return None
