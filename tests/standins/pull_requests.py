"""The pull-request half of the CodeCommit stand-in: ListPullRequests, GetPullRequest, GetComment,
GetCommentsForPullRequest, GetPullRequestApprovalStates and EvaluatePullRequestApprovalRules.

Answers use the service model's field names (botocore parses them through the real client) and
its error codes. Timestamps are epoch seconds, as CodeCommit's JSON 1.1 protocol sends them.
Tests script the data: :meth:`PullRequestBook.add_pull_request`, :meth:`add_comment`,
:meth:`approve`.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import threading
from dataclasses import dataclass, field
from typing import Any

OPERATIONS = frozenset(
    {
        "ListPullRequests",
        "GetPullRequest",
        "GetComment",
        "GetCommentsForPullRequest",
        "GetCommentsForComparedCommit",
        "GetPullRequestApprovalStates",
        "EvaluatePullRequestApprovalRules",
    }
)
CREATED = 1_763_630_000.0


class ServiceError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def rule_content(needed: int, members: list[str]) -> str:
    """An ``approvalRuleContent`` document as the console writes it."""
    return json.dumps(
        {
            "Version": "2018-11-08",
            "Statements": [
                {"Type": "Approvers", "NumberOfApprovalsNeeded": needed, "ApprovalPoolMembers": members}
            ],
        }
    )


@dataclass
class StoredPullRequest:
    pull_request_id: str
    repository: str
    title: str
    author_arn: str
    source_reference: str = "refs/heads/feature/login"
    destination_reference: str = "refs/heads/main"
    source_commit: str = "a" * 40
    destination_commit: str = "b" * 40
    description: str | None = None
    status: str = "OPEN"
    revision_id: str = "r" * 64
    rules: list[tuple[str, str]] = field(default_factory=list)
    merged_by: str | None = None
    merge_option: str | None = None
    merge_commit_id: str | None = None
    approvals: dict[str, str] = field(default_factory=dict)
    #: When it was opened, epoch seconds.
    created: float = CREATED


@dataclass
class StoredComment:
    comment_id: str
    content: str
    author_arn: str
    pull_request_id: str | None = None
    in_reply_to: str | None = None
    file_path: str | None = None
    file_position: int | None = None
    before_commit_id: str = "b" * 40
    after_commit_id: str = "a" * 40
    deleted: bool = False


class PullRequestBook:
    """Scripted pull requests, comments and approvals, served by the CodeCommit stand-in."""

    def __init__(self, *, page_size: int = 2) -> None:
        self.pull_requests: dict[str, StoredPullRequest] = {}
        self.comments: dict[str, StoredComment] = {}
        self.page_size = page_size
        #: repositories ListPullRequests answers RepositoryDoesNotExistException for
        self.missing_repositories: set[str] = set()
        self._lock = threading.Lock()

    def add_pull_request(self, pull_request: StoredPullRequest) -> StoredPullRequest:
        with self._lock:
            self.pull_requests[pull_request.pull_request_id] = pull_request
        return pull_request

    def add_comment(self, comment: StoredComment) -> StoredComment:
        with self._lock:
            self.comments[comment.comment_id] = comment
        return comment

    def approve(self, pull_request_id: str, user_arn: str, state: str = "APPROVE") -> None:
        with self._lock:
            self.pull_requests[pull_request_id].approvals[user_arn] = state

    def answer(self, operation: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            with self._lock:
                return 200, getattr(self, "_" + operation)(body)
        except ServiceError as error:
            return error.status, {"__type": error.code, "message": error.message}

    def _pull_request(self, body: dict[str, Any]) -> StoredPullRequest:
        pull_request_id = body.get("pullRequestId")
        if not pull_request_id:
            raise ServiceError("PullRequestIdRequiredException", "A pull request ID is required.")
        if not str(pull_request_id).isdecimal():
            raise ServiceError("InvalidPullRequestIdException", "The pull request ID is not valid.")
        if pull_request_id not in self.pull_requests:
            raise ServiceError(
                "PullRequestDoesNotExistException", f"Pull request {pull_request_id} does not exist."
            )
        return self.pull_requests[pull_request_id]

    def _GetPullRequest(self, body: dict[str, Any]) -> dict[str, Any]:
        stored = self._pull_request(body)
        merge: dict[str, Any] = {"isMerged": stored.merged_by is not None}
        if stored.merged_by:
            merge.update(mergedBy=stored.merged_by, mergeOption=stored.merge_option)
            if stored.merge_commit_id:
                merge["mergeCommitId"] = stored.merge_commit_id
        pull_request: dict[str, Any] = {
            "pullRequestId": stored.pull_request_id,
            "title": stored.title,
            "lastActivityDate": CREATED + 60,
            "creationDate": stored.created,
            "pullRequestStatus": stored.status,
            "authorArn": stored.author_arn,
            "pullRequestTargets": [
                {
                    "repositoryName": stored.repository,
                    "sourceReference": stored.source_reference,
                    "destinationReference": stored.destination_reference,
                    "destinationCommit": stored.destination_commit,
                    "sourceCommit": stored.source_commit,
                    "mergeBase": stored.destination_commit,
                    "mergeMetadata": merge,
                }
            ],
            "clientRequestToken": "standin",
            "revisionId": stored.revision_id,
            "approvalRules": [
                {
                    "approvalRuleId": f"rule-{index}",
                    "approvalRuleName": name,
                    "approvalRuleContent": content,
                    "ruleContentSha256": "0" * 64,
                    "lastModifiedDate": CREATED,
                    "creationDate": CREATED,
                    "lastModifiedUser": stored.author_arn,
                }
                for index, (name, content) in enumerate(stored.rules)
            ],
        }
        if stored.description is not None:
            pull_request["description"] = stored.description
        return {"pullRequest": pull_request}

    def _ListPullRequests(self, body: dict[str, Any]) -> dict[str, Any]:
        """Ids of one repository's pull requests, newest first, ``page_size`` (or ``maxResults``) a page."""
        repository = body.get("repositoryName")
        if not repository:
            raise ServiceError("RepositoryNameRequiredException", "A repository name is required.")
        if repository in self.missing_repositories:
            raise ServiceError("RepositoryDoesNotExistException", f"{repository} does not exist")
        status = body.get("pullRequestStatus")
        ids = [
            stored.pull_request_id
            for stored in sorted(self.pull_requests.values(), key=lambda p: -int(p.pull_request_id))
            if stored.repository == repository and (status is None or stored.status == status)
        ]
        start = int(base64.b64decode(body["nextToken"]).decode()) if body.get("nextToken") else 0
        size = min(self.page_size, int(body.get("maxResults") or self.page_size))
        answer: dict[str, Any] = {"pullRequestIds": ids[start : start + size]}
        if start + size < len(ids):
            answer["nextToken"] = base64.b64encode(str(start + size).encode()).decode()
        return answer

    def _GetComment(self, body: dict[str, Any]) -> dict[str, Any]:
        comment_id = body.get("commentId")
        if not comment_id:
            raise ServiceError("CommentIdRequiredException", "The comment ID is missing or null.")
        stored = self.comments.get(comment_id)
        if stored is None:
            raise ServiceError("CommentDoesNotExistException", "No comment exists with the provided ID.")
        if stored.deleted:
            raise ServiceError("CommentDeletedException", "This comment has already been deleted.")
        return {"comment": self._comment(stored)}

    @staticmethod
    def _comment(stored: StoredComment) -> dict[str, Any]:
        comment: dict[str, Any] = {
            "commentId": stored.comment_id,
            "content": stored.content,
            "creationDate": CREATED,
            "lastModifiedDate": CREATED,
            "authorArn": stored.author_arn,
            "deleted": stored.deleted,
            "callerReactions": [],
            "reactionCounts": {},
        }
        if stored.in_reply_to:
            comment["inReplyTo"] = stored.in_reply_to
        return comment

    def _GetCommentsForPullRequest(self, body: dict[str, Any]) -> dict[str, Any]:
        stored = self._pull_request(body)
        if ("beforeCommitId" in body or "afterCommitId" in body) and not body.get("repositoryName"):
            raise ServiceError("RepositoryNameRequiredException", "A repository name is required.")
        threads: dict[tuple[str | None, int | None], list[StoredComment]] = {}
        for comment in self.comments.values():
            if comment.pull_request_id != stored.pull_request_id:
                continue
            if body.get("afterCommitId") not in (None, comment.after_commit_id):
                continue
            threads.setdefault((comment.file_path, comment.file_position), []).append(comment)
        data = []
        for (path, position), comments in threads.items():
            entry: dict[str, Any] = {
                "pullRequestId": stored.pull_request_id,
                "repositoryName": stored.repository,
                "beforeCommitId": comments[0].before_commit_id,
                "afterCommitId": comments[0].after_commit_id,
                "comments": [self._comment(comment) for comment in comments],
            }
            if path:
                entry["location"] = {
                    "filePath": path,
                    "filePosition": position,
                    "relativeFileVersion": "AFTER",
                }
            data.append(entry)
        page_size = min(int(body.get("maxResults") or self.page_size), self.page_size)
        start = int(base64.b64decode(body["nextToken"])) if body.get("nextToken") else 0
        answer: dict[str, Any] = {"commentsForPullRequestData": data[start : start + page_size]}
        if start + page_size < len(data):
            answer["nextToken"] = base64.b64encode(str(start + page_size).encode()).decode()
        return answer

    def _GetCommentsForComparedCommit(self, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("repositoryName"):
            raise ServiceError("RepositoryNameRequiredException", "A repository name is required.")
        if not body.get("afterCommitId"):
            raise ServiceError("CommitIdRequiredException", "A commit ID is required.")
        data = []
        for comment in self.comments.values():
            if comment.pull_request_id is None and comment.after_commit_id == body["afterCommitId"]:
                entry: dict[str, Any] = {
                    "repositoryName": body["repositoryName"],
                    "afterCommitId": comment.after_commit_id,
                    "comments": [self._comment(comment)],
                }
                if comment.file_path:
                    entry["location"] = {
                        "filePath": comment.file_path,
                        "filePosition": comment.file_position,
                        "relativeFileVersion": "AFTER",
                    }
                data.append(entry)
        return {"commentsForComparedCommitData": data}

    def _revision(self, body: dict[str, Any]) -> StoredPullRequest:
        stored = self._pull_request(body)
        if not body.get("revisionId"):
            raise ServiceError("RevisionIdRequiredException", "A revision ID is required.")
        return stored

    def _GetPullRequestApprovalStates(self, body: dict[str, Any]) -> dict[str, Any]:
        stored = self._revision(body)
        if body["revisionId"] != stored.revision_id:
            raise ServiceError("InvalidRevisionIdException", "The revision ID is not valid.")
        return {
            "approvals": [
                {"userArn": arn, "approvalState": state}
                for arn, state in stored.approvals.items()
                if state == "APPROVE"  # "REVOKE states are not stored"
            ]
        }

    def _EvaluatePullRequestApprovalRules(self, body: dict[str, Any]) -> dict[str, Any]:
        stored = self._revision(body)
        if body["revisionId"] != stored.revision_id:
            raise ServiceError("RevisionNotCurrentException", "The revision ID is not the current revision.")
        approvers = [arn for arn, state in stored.approvals.items() if state == "APPROVE"]
        satisfied, not_satisfied = list[str](), list[str]()
        for name, content in stored.rules:
            statement = json.loads(content)["Statements"][0]
            count = sum(
                1
                for arn in approvers
                if any(fnmatch.fnmatchcase(arn, member) for member in statement["ApprovalPoolMembers"])
            )
            (satisfied if count >= statement["NumberOfApprovalsNeeded"] else not_satisfied).append(name)
        return {
            "evaluation": {
                "approved": not not_satisfied,
                "overridden": False,
                "approvalRulesSatisfied": satisfied,
                "approvalRulesNotSatisfied": not_satisfied,
            }
        }
