"""Enrich a GitLab event: what the payload carries, and what GitLab's REST API adds.

A push payload carries its commits (the newest 20), so a push is enriched from the payload alone
(:func:`notification_from_push`): no history walk, no recorded heads.

A merge request or note payload lacks what the review rules need for some messages: a note
names neither the merge request's author nor its reviewers, and no event but ``open`` names the
author. :class:`GitLabMergeRequestReader` is the pull-request reader
(:class:`~handler.enrich.pull_request_reader.PullRequestReader`)
for one GitLab event: it asks ``GET /projects/:id/merge_requests/:iid`` when it has an API token
(secret key ``gitlab-api-token``, header ``PRIVATE-TOKEN``), and otherwise answers with what the
payload says, so the message names nobody it can't know.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlsplit

from handler.enrich.pull_request_reader import Unreadable
from handler.errors import RepositoryReadError
from handler.model import (
    BranchHistory,
    Commit,
    HistoryRelation,
    Notification,
    Person,
    Push,
    RefAction,
    RefChange,
    RefKind,
    RefReport,
)
from handler.pull_requests.model import (
    ApprovalRule,
    ApprovalState,
    CommentDetails,
    PullRequestDetails,
    PullRequestSnapshot,
)
from handler.sources.gitlab import HookCommit, PushHook

log = logging.getLogger(__name__)

#: Seconds for one API request; two attempts at most (the event is retried by Lambda after that).
API_TIMEOUT_SECONDS = 5
API_ATTEMPTS = 2
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _commit(hook_commit: HookCommit) -> Commit:
    author = Person(hook_commit.author_name, hook_commit.author_email, hook_commit.timestamp)
    message = hook_commit.message or hook_commit.title
    return Commit(hook_commit.commit_id, message, author, author, ())


def notification_from_push(hook: PushHook, push: Push, *, max_listed: int) -> Notification:
    """The push as the renderer wants it: the payload's commits newest first, up to ``max_listed``,
    counted by ``total_commits_count`` (so a push of 25 lists 10 and says "… and 15 more").

    An update lists what it added since ``before`` (the compare link's start); a created branch
    lists what GitLab says it brought against the default branch.
    """
    ref_change = push.ref_changes[0]
    by_id = {commit.commit_id: commit for commit in hook.commits}
    head = by_id.get(ref_change.commit_id or "")
    commit = _commit(head) if head is not None and ref_change.action is not RefAction.DELETED else None
    error = None if commit is not None else _why_no_commit(ref_change)
    history = None
    if (
        ref_change.kind is RefKind.BRANCH
        and ref_change.action is not RefAction.DELETED
        and commit is not None
    ):
        newest_first = tuple(_commit(item) for item in reversed(hook.commits))[:max_listed]
        total = max(hook.total_commits_count, len(hook.commits))
        if ref_change.action is RefAction.CREATED:
            history = BranchHistory(
                HistoryRelation.BRANCHED, newest_first, total, base_ref=hook.project.default_branch or None
            )
        else:
            history = BranchHistory(
                HistoryRelation.FAST_FORWARD, newest_first, total, previous_id=hook.before
            )
    return Notification(push, (RefReport(ref_change, commit, error, history=history),))


def _why_no_commit(ref_change: RefChange) -> str:
    if ref_change.action is RefAction.DELETED:
        return "the reference is gone, and GitLab sends no commits for a deletion"
    if ref_change.kind is RefKind.TAG:
        return "GitLab's tag push names the commit but does not describe it"
    return "GitLab's payload does not list it"


@dataclass(frozen=True)
class GitLabApi:
    """GitLab's REST API v4: its base URL and a token (None: do not ask)."""

    base_url: str
    token: str | None

    @classmethod
    def for_instance(cls, web_url: str, token: str | None, override: str | None = None) -> GitLabApi | None:
        """The API the token may be sent to: ``GITLAB_API_URL`` (``override``) only; None without it,
        without a token, or when it is not ``https://`` (a token is never sent in clear, loopback aside).

        Never the instance a payload names (``web_url``): anyone who knows the webhook token could
        post a payload naming their own host and be sent the API token. So with a token and no
        ``GITLAB_API_URL`` the messages say what the payload says, and a warning says what to set.
        """
        if not token:
            return None
        if not override:
            log.warning(
                "gitlab-api-token is set but GITLAB_API_URL is not (context gitlab_api_url, e.g. "
                "https://gitlab.example.com/api/v4): the token is sent to no host a payload could name"
            )
            return None
        base = override.rstrip("/")
        try:
            parts = urlsplit(base)
        except ValueError:
            return None
        if parts.scheme != "https" and parts.hostname not in _LOOPBACK:
            log.warning(
                "not sending the GitLab API token to %s: only https:// (or loopback) is used", base[:100]
            )
            return None
        return cls(base, token)

    def get(self, path: str) -> Any:
        """GET ``path`` (under the base) as JSON.

        Raises:
            Unreadable: 404, or the token was refused (401/403): the message says what the payload says.
            RepositoryReadError: 5xx or no answer after :data:`API_ATTEMPTS` (Lambda retries the event).
        """
        request = urllib.request.Request(
            f"{self.base_url}{path}",
            headers={"PRIVATE-TOKEN": self.token or "", "Accept": "application/json"},
        )
        last: Exception | None = None
        for _ in range(API_ATTEMPTS):
            try:
                with urllib.request.urlopen(request, timeout=API_TIMEOUT_SECONDS) as response:
                    return json.loads(response.read(2_000_000))
            except urllib.error.HTTPError as error:
                if error.code in (401, 403):
                    raise Unreadable(
                        path,
                        f"GitLab refused the gitlab-api-token ({error.code}); check its scope (read_api)",
                    ) from None
                if error.code == 404:
                    raise Unreadable(path, "GitLab says it does not exist") from None
                last = error
            except (urllib.error.URLError, TimeoutError, ValueError) as error:
                last = error
        raise RepositoryReadError(
            f"GitLab's API did not answer {path} ({type(last).__name__}); Lambda retries the event"
        )


@dataclass(frozen=True)
class GitLabMergeRequestReader:
    """Answers the pull-request reader's questions for one GitLab event.

    Attributes:
        snapshot: the merge request as the payload describes it.
        reviewers: the reviewers' usernames the payload names (merge request events carry them).
        comment: the note, for a note event.
        project_id: the REST API's ``:id``.
        api: the API, or None to answer from the payload alone.
    """

    snapshot: PullRequestSnapshot
    reviewers: tuple[str, ...] = ()
    comment: CommentDetails | None = None
    project_id: int | None = None
    api: GitLabApi | None = None

    def get_pull_request(self, pull_request_id: str) -> PullRequestDetails:
        """The merge request: from the API when it can be asked, else from the payload."""
        if self.api is not None and self.project_id is not None:
            raw = self.api.get(
                f"/projects/{self.project_id}/merge_requests/{quote(pull_request_id, safe='')}"
            )
            if isinstance(raw, dict):
                return _details_from_api(raw, self.snapshot)
        if self.comment is not None:  # a note names neither author nor reviewers: claim no roles
            raise Unreadable(
                f"merge request !{pull_request_id}", "no gitlab-api-token to read its author and reviewers"
            )
        return _details(self.snapshot, self.reviewers)

    def get_comment(self, comment_id: str, **_: Any) -> CommentDetails:
        """The note the event carries."""
        if self.comment is None or self.comment.comment_id != comment_id:
            raise Unreadable(f"note {comment_id}", "the event does not carry it")
        return self.comment

    def get_approval_state(self, pull_request_id: str, revision_id: str) -> ApprovalState:
        """Not read from GitLab: approval messages say who approved, not the count."""
        raise Unreadable(f"merge request {pull_request_id}", "approval counts are not read from GitLab")


def _details(snapshot: PullRequestSnapshot, reviewers: tuple[str, ...]) -> PullRequestDetails:
    rules = (ApprovalRule("requested reviewers", 0, reviewers),) if reviewers else ()
    return PullRequestDetails(snapshot, rules)


def _username(value: object) -> str:
    if isinstance(value, dict) and isinstance(value.get("username"), str):
        return str(value["username"])[:200]
    return ""


def _details_from_api(raw: dict[str, Any], payload: PullRequestSnapshot) -> PullRequestDetails:
    """``GET /projects/:id/merge_requests/:iid`` adds who the payload does not name: the author and
    the reviewers. Title and state stay the payload's: they are the event's moment (a draft's
    title, say), and the API answers with the merge request as it is by the time it is asked."""
    reviewers = tuple(name for name in (_username(item) for item in raw.get("reviewers") or []) if name)
    title = raw.get("title")
    snapshot = replace(
        payload,
        author_arn=_username(raw.get("author")) or payload.author_arn,
        title=payload.title or (title if isinstance(title, str) else ""),
    )
    return _details(snapshot, reviewers)
