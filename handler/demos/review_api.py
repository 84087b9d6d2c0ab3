"""Stand-ins for ``make demo``'s chat part (and the chat tests): CodeCommit's review API and STS,
in process, with CodeCommit's semantics where the chat actions depend on them.

* :class:`ReviewBook` keeps pull requests and answers, as the session that calls it:
  GetPullRequest, UpdatePullRequestApprovalState (the revision must be current; the author cannot
  approve), EvaluatePullRequestApprovalRules, the three merges (``sourceCommitId`` must be the tip;
  a conflict refuses), PostCommentForPullRequest (the same ``clientRequestToken`` returns the same
  comment instead of a second one). Refusals are botocore ``ClientError`` with CodeCommit's codes.
* :class:`StsStandIn` "assumes" a role: it records the call and hands out credentials that name the
  session, so the book knows who calls (``assumed-role/<role>/<session name>``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError


def _refuse(code: str, operation: str, message: str = "") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message or code}}, operation)


@dataclass
class StoredPullRequest:
    """One pull request, as much as the review actions read and change."""

    pull_request_id: str
    repository: str
    title: str
    author_arn: str
    source_commit: str
    destination_commit: str
    revision_id: str
    approvals_needed: int = 1
    status: str = "OPEN"
    merged: bool = False
    conflicts: bool = False
    approvals: dict[str, str] = field(default_factory=dict)


@dataclass
class ReviewBook:
    """CodeCommit's review API over a few pull requests (see the module docstring)."""

    account: str = "123456789012"
    pull_requests: dict[str, StoredPullRequest] = field(default_factory=dict)
    comments: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def add(self, pull_request: StoredPullRequest) -> StoredPullRequest:
        self.pull_requests[pull_request.pull_request_id] = pull_request
        return pull_request

    def client_as(self, caller_arn: str) -> ReviewClient:
        """A client whose calls are made as ``caller_arn``."""
        return ReviewClient(self, caller_arn)


class ReviewClient:
    """The botocore-shaped client one session gets from :class:`ReviewBook`."""

    def __init__(self, book: ReviewBook, caller_arn: str) -> None:
        self._book = book
        self.caller_arn = caller_arn

    def _pr(self, operation: str, arguments: dict[str, Any]) -> StoredPullRequest:
        self._book.calls.append((operation, self.caller_arn, arguments))
        found = self._book.pull_requests.get(str(arguments.get("pullRequestId")))
        if found is None:
            raise _refuse("PullRequestDoesNotExistException", operation)
        return found

    def get_pull_request(self, **arguments: Any) -> dict[str, Any]:
        pr = self._pr("GetPullRequest", arguments)
        return {
            "pullRequest": {
                "pullRequestId": pr.pull_request_id,
                "title": pr.title,
                "authorArn": pr.author_arn,
                "pullRequestStatus": pr.status,
                "revisionId": pr.revision_id,
                "pullRequestTargets": [
                    {
                        "repositoryName": pr.repository,
                        "sourceReference": "refs/heads/feature",
                        "destinationReference": "refs/heads/main",
                        "sourceCommit": pr.source_commit,
                        "destinationCommit": pr.destination_commit,
                        "mergeMetadata": {"isMerged": pr.merged},
                    }
                ],
                "approvalRules": [],
            }
        }

    def update_pull_request_approval_state(self, **arguments: Any) -> dict[str, Any]:
        pr = self._pr("UpdatePullRequestApprovalState", arguments)
        if pr.status != "OPEN":
            raise _refuse("PullRequestAlreadyClosedException", "UpdatePullRequestApprovalState")
        if arguments["revisionId"] != pr.revision_id:
            raise _refuse("RevisionNotCurrentException", "UpdatePullRequestApprovalState")
        if self.caller_arn == pr.author_arn:
            raise _refuse("PullRequestCannotBeApprovedByAuthorException", "UpdatePullRequestApprovalState")
        pr.approvals[self.caller_arn] = arguments["approvalState"]
        return {}

    def evaluate_pull_request_approval_rules(self, **arguments: Any) -> dict[str, Any]:
        pr = self._pr("EvaluatePullRequestApprovalRules", arguments)
        count = sum(1 for state in pr.approvals.values() if state == "APPROVE")
        approved = count >= pr.approvals_needed
        return {
            "evaluation": {
                "approved": approved,
                "overridden": False,
                "approvalRulesSatisfied": ["Two reviewers"] if approved else [],
                "approvalRulesNotSatisfied": [] if approved else ["Two reviewers"],
            }
        }

    def _merge(self, operation: str, arguments: dict[str, Any]) -> dict[str, Any]:
        pr = self._pr(operation, arguments)
        if pr.status != "OPEN":
            raise _refuse("PullRequestAlreadyClosedException", operation)
        if arguments.get("sourceCommitId") != pr.source_commit:
            raise _refuse("TipOfSourceReferenceIsDifferentException", operation)
        if pr.conflicts:
            raise _refuse("ManualMergeRequiredException", operation)
        pr.status, pr.merged = "CLOSED", True
        return {"pullRequest": {"pullRequestId": pr.pull_request_id}}

    def merge_pull_request_by_fast_forward(self, **arguments: Any) -> dict[str, Any]:
        return self._merge("MergePullRequestByFastForward", arguments)

    def merge_pull_request_by_squash(self, **arguments: Any) -> dict[str, Any]:
        return self._merge("MergePullRequestBySquash", arguments)

    def merge_pull_request_by_three_way(self, **arguments: Any) -> dict[str, Any]:
        return self._merge("MergePullRequestByThreeWay", arguments)

    def post_comment_for_pull_request(self, **arguments: Any) -> dict[str, Any]:
        self._pr("PostCommentForPullRequest", arguments)
        token = arguments.get("clientRequestToken")
        if token and token in self._book.comments:
            return {"comment": self._book.comments[token]}
        comment = {
            "commentId": f"comment-{next(self._book._ids)}",
            "content": arguments["content"],
            "authorArn": self.caller_arn,
        }
        self._book.comments[token or comment["commentId"]] = comment
        return {"comment": comment}


@dataclass
class StsStandIn:
    """AssumeRole, recorded; the credentials carry the session so the book knows who calls."""

    account: str = "123456789012"
    calls: list[dict[str, Any]] = field(default_factory=list)

    def assume_role(self, **arguments: Any) -> dict[str, Any]:
        self.calls.append(arguments)
        role = str(arguments["RoleArn"]).rsplit("/", 1)[-1]
        session = f"arn:aws:sts::{self.account}:assumed-role/{role}/{arguments['RoleSessionName']}"
        return {
            "Credentials": {"AccessKeyId": "ASIA" + "X" * 16, "SecretAccessKey": "s", "SessionToken": session}
        }


def stand_in_clients(book: ReviewBook, sts: StsStandIn) -> Any:
    """``base_client(service, region, credentials)`` for ``handler.actions.assume.AssumedRoleContext``."""

    def base_client(service: str, region: str, credentials: dict[str, str] | None) -> Any:
        if service == "sts":
            return sts
        if credentials is None:
            raise AssertionError("a CodeCommit client without the person's credentials")
        return book.client_as(credentials["aws_session_token"])

    return base_client
