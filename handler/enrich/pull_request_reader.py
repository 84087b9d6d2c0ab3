"""Reading pull requests, comments and approvals: the :class:`PullRequestReader` interface.

Two implementations answer the same questions:

* :class:`CodeCommitPullRequestReader` calls GetPullRequest, GetComment,
  GetCommentsForPullRequest or GetCommentsForComparedCommit (for an inline comment's file and
  line, which GetComment does not give), GetPullRequestApprovalStates and
  EvaluatePullRequestApprovalRules through boto3;
* :class:`OfflinePullRequestReader` reads nothing, for local previews without AWS: every message
  is then built from what the event says.

A pull request or comment that does not exist (or was deleted, or sits behind an unusable KMS
key) raises :class:`Unreadable`, which enrich turns into a message with what the event says.
Throttling, 5xx and access denials raise :class:`~handler.errors.RepositoryReadError` after
botocore's retries, so Lambda retries the event.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from handler.aws.errors import unreadable_reasons
from handler.errors import NotifierError, RepositoryReadError
from handler.pull_requests.model import (
    ApprovalRule,
    ApprovalState,
    CommentDetails,
    PullRequestDetails,
    PullRequestSnapshot,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Error codes that mean "this thing cannot be read", tolerated: the message says what is known
#: (the classification of every code is in :mod:`handler.aws.errors`).
UNREADABLE_ERRORS = unreadable_reasons("codecommit")
MAX_COMMENT_PAGES = 10


class Unreadable(NotifierError):
    """A pull request, comment or approval state that cannot be read; the message says why."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"{what}: {reason}")
        self.what = what
        self.reason = reason


class PullRequestReader(Protocol):
    """Reads pull requests, comments and approvals. Every method may raise :class:`Unreadable`."""

    def get_pull_request(self, pull_request_id: str) -> PullRequestDetails:
        """GetPullRequest: the current snapshot and its approval rules."""
        ...

    def get_comment(
        self,
        comment_id: str,
        *,
        pull_request_id: str | None,
        repository_name: str,
        before_commit_id: str | None,
        after_commit_id: str | None,
    ) -> CommentDetails:
        """GetComment, plus the file and line for an inline pull-request comment."""
        ...

    def get_approval_state(self, pull_request_id: str, revision_id: str) -> ApprovalState:
        """Who approved this revision, and whether the rules are met."""
        ...


class OfflinePullRequestReader:
    """Reads nothing: for previews without AWS, where messages show what the event says."""

    def get_pull_request(self, pull_request_id: str) -> PullRequestDetails:
        raise Unreadable(f"pull request {pull_request_id}", "offline preview, nothing read from CodeCommit")

    def get_comment(self, comment_id: str, **_: Any) -> CommentDetails:
        raise Unreadable(f"comment {comment_id}", "offline preview, nothing read from CodeCommit")

    def get_approval_state(self, pull_request_id: str, revision_id: str) -> ApprovalState:
        raise Unreadable(f"pull request {pull_request_id}", "offline preview, nothing read from CodeCommit")


def parse_rule_content(content: str) -> tuple[int, tuple[str, ...]]:
    """``approvalRuleContent`` JSON → (approvals needed, pool members); (0, ()) if unreadable."""
    try:
        raw = json.loads(content)
    except (ValueError, RecursionError, TypeError):
        return 0, ()
    needed, members = 0, list[str]()
    statements = raw.get("Statements") if isinstance(raw, dict) else None
    for statement in statements if isinstance(statements, list) else ():
        if not isinstance(statement, dict):
            continue
        count = statement.get("NumberOfApprovalsNeeded")
        if isinstance(count, int) and not isinstance(count, bool):
            needed = max(needed, count)
        pool = statement.get("ApprovalPoolMembers")
        if isinstance(pool, list):
            members.extend(member for member in pool if isinstance(member, str))
    return needed, tuple(dict.fromkeys(members))


def details_from_api(raw: dict[str, Any]) -> PullRequestDetails:
    """GetPullRequest's ``pullRequest`` as :class:`PullRequestDetails`."""
    targets = raw.get("pullRequestTargets") or [{}]
    target = targets[0]
    merge = target.get("mergeMetadata") or {}
    snapshot = PullRequestSnapshot(
        pull_request_id=str(raw.get("pullRequestId") or ""),
        title=str(raw.get("title") or ""),
        description=str(raw.get("description") or ""),
        author_arn=str(raw.get("authorArn") or ""),
        source_reference=str(target.get("sourceReference") or ""),
        destination_reference=str(target.get("destinationReference") or ""),
        source_commit=str(target.get("sourceCommit") or ""),
        destination_commit=str(target.get("destinationCommit") or ""),
        status=str(raw.get("pullRequestStatus") or ""),
        is_merged=bool(merge.get("isMerged")),
        revision_id=str(raw.get("revisionId") or ""),
        merge_option=merge.get("mergeOption") or None,
        merged_by=merge.get("mergedBy") or None,
        merge_commit_id=merge.get("mergeCommitId") or None,
    )
    rules = []
    for rule in raw.get("approvalRules") or ():
        needed, members = parse_rule_content(str(rule.get("approvalRuleContent") or ""))
        template = (rule.get("originApprovalRuleTemplate") or {}).get("approvalRuleTemplateName")
        rules.append(ApprovalRule(str(rule.get("approvalRuleName") or ""), needed, members, template))
    return PullRequestDetails(snapshot=snapshot, approval_rules=tuple(rules))


class CodeCommitPullRequestReader:
    """Reads through a boto3 CodeCommit client that the caller creates and owns (one per region)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def get_pull_request(self, pull_request_id: str) -> PullRequestDetails:
        response = self._call(
            "GetPullRequest",
            f"pull request {pull_request_id}",
            lambda: self._client.get_pull_request(pullRequestId=pull_request_id),
        )
        return details_from_api(response["pullRequest"])

    def get_comment(
        self,
        comment_id: str,
        *,
        pull_request_id: str | None,
        repository_name: str,
        before_commit_id: str | None,
        after_commit_id: str | None,
    ) -> CommentDetails:
        what = f"comment {comment_id}"
        response = self._call("GetComment", what, lambda: self._client.get_comment(commentId=comment_id))
        raw = response["comment"]
        location: dict[str, Any] = {}
        if after_commit_id:
            try:
                location = self._location(
                    comment_id, pull_request_id, repository_name, before_commit_id, after_commit_id
                )
            except Unreadable as unreadable:
                log.info("no file or line for %s: %s", what, unreadable.reason)
        position = location.get("filePosition")
        return CommentDetails(
            comment_id=str(raw.get("commentId") or comment_id),
            content=str(raw.get("content") or ""),
            author_arn=str(raw.get("authorArn") or ""),
            in_reply_to=raw.get("inReplyTo") or None,
            deleted=bool(raw.get("deleted")),
            file_path=location.get("filePath") or None,
            file_position=int(position) if isinstance(position, int) else None,
            relative_file_version=location.get("relativeFileVersion") or None,
        )

    def _location(
        self,
        comment_id: str,
        pull_request_id: str | None,
        repository_name: str,
        before: str | None,
        after: str,
    ) -> dict[str, Any]:
        """Where an inline comment sits: the ``location`` of the thread that holds it ({} if none).

        GetComment does not say; GetCommentsForPullRequest (or, for a comment on a commit,
        GetCommentsForComparedCommit) lists the threads of one comparison with their locations.
        """
        arguments: dict[str, Any] = {
            "repositoryName": repository_name,
            "afterCommitId": after,
            "PaginationConfig": {"MaxItems": MAX_COMMENT_PAGES * 100},
        }
        if before:
            arguments["beforeCommitId"] = before
        if pull_request_id:
            operation, key = "GetCommentsForPullRequest", "commentsForPullRequestData"
            pages = self._client.get_paginator("get_comments_for_pull_request").paginate(
                pullRequestId=pull_request_id, **arguments
            )
        else:
            operation, key = "GetCommentsForComparedCommit", "commentsForComparedCommitData"
            pages = self._client.get_paginator("get_comments_for_compared_commit").paginate(**arguments)

        def find() -> dict[str, Any]:
            for page in pages:
                for thread in page.get(key, ()):
                    if any(c.get("commentId") == comment_id for c in thread.get("comments", ())):
                        return dict(thread.get("location") or {})
            return {}

        return self._call(operation, f"comment {comment_id}", find)

    def get_approval_state(self, pull_request_id: str, revision_id: str) -> ApprovalState:
        what = f"pull request {pull_request_id}"
        states = self._call(
            "GetPullRequestApprovalStates",
            what,
            lambda: self._client.get_pull_request_approval_states(
                pullRequestId=pull_request_id, revisionId=revision_id
            ),
        )
        approvers = tuple(
            str(approval.get("userArn") or "")
            for approval in states.get("approvals", ())
            if approval.get("approvalState") == "APPROVE"
        )
        try:
            evaluation = self._call(
                "EvaluatePullRequestApprovalRules",
                what,
                lambda: self._client.evaluate_pull_request_approval_rules(
                    pullRequestId=pull_request_id, revisionId=revision_id
                ),
            )["evaluation"]
        except Unreadable:
            return ApprovalState(approvers)
        return ApprovalState(approvers, bool(evaluation.get("approved")), bool(evaluation.get("overridden")))

    @staticmethod
    def _call(operation: str, what: str, call: Callable[[], T]) -> T:
        return read_call(operation, what, call)


def read_call(operation: str, what: str, call: Callable[[], T]) -> T:
    """Run one pull-request read; translate botocore's errors (shared with the review queue).

    Raises:
        Unreadable: a code that means "can't read this" (the message says what is known).
        RepositoryReadError: anything else, after botocore's retries.
    """
    try:
        return call()
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in UNREADABLE_ERRORS:
            raise Unreadable(what, UNREADABLE_ERRORS[code]) from error
        raise RepositoryReadError(
            f"{operation} for {what} failed with {code or 'an error'} after retries; if it says "
            "AccessDenied, the repository is not among the stack's watched repositories"
        ) from error
    except BotoCoreError as error:
        raise RepositoryReadError(
            f"{operation} for {what} failed after retries: {type(error).__name__}"
        ) from error
