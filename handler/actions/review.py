"""Review actions from chat: Approve, Revoke, Merge and Comment, each as the person.

Every action reads top to bottom, and nothing is called before the checks that need no AWS::

    target (ids from the button or the command) ─► watched? ─► allowed (globs)? ─┐
    ┌────────────────────────────────────────────────────────────────────────────┘
    └► GetPullRequest as the person ─► allowed (own work, open)? ─► revision still the one shown?
       ─► the one CodeCommit call that acts ─► the clicked message shows the new state ─► Reply

Each refusal is a :class:`~handler.actions.context.Reply` in words (private), and each action is a
single CodeCommit call, so nothing is ever half done: a revision that moved, a merge conflict,
rules not yet satisfied, a pull request already merged, throttling, each ends before or in that
one call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from handler.actions.context import Reply
from handler.actions.permissions import PullRequestFacts, decide
from handler.actions.session import ChatSession
from handler.enrich.pull_request_reader import details_from_api
from handler.pull_requests.model import PullRequestSnapshot
from handler.pull_requests.people import identity_from_arn
from handler.render.actions import ButtonTarget, after_action, parse_value
from handler.render.mrkdwn import escape
from handler.state.chat_comments import remember_chat_comment

log = logging.getLogger(__name__)

NOT_OURS = "That button does not belong to the CodeCommit notifier (or was altered); nothing was done."
_BUSY = "CodeCommit is busy right now (throttled); nothing was done. Try again in a minute."
#: CodeCommit's errors that each mean one thing to the person, in words.
ERROR_WORDS: dict[str, str] = {
    "ThrottlingException": _BUSY,
    "TooManyRequestsException": _BUSY,
    "RevisionNotCurrentException": (
        "New commits were pushed since this message was posted, so nothing was done: look at them "
        "(the thread shows them), then act on the new revision."
    ),
    "TipOfSourceReferenceIsDifferentException": (
        "The source branch moved since this message was posted, so nothing was merged: look at the "
        "new commits, then merge again."
    ),
    "ManualMergeRequiredException": (
        "It does not merge cleanly (conflicts, or not a fast-forward for this strategy); nothing was "
        "merged. Resolve the conflicts on the source branch, then try again."
    ),
    "PullRequestApprovalRulesNotSatisfiedException": (
        "The approval rules are not satisfied yet, so nothing was merged."
    ),
    "PullRequestAlreadyClosedException": "This pull request is already merged or closed; nothing was done.",
    "PullRequestCannotBeApprovedByAuthorException": (
        "You opened this pull request, so you may not approve it."
    ),
    "AccessDeniedException": (
        "The notifier's actor role may not do that here (its policy covers the review actions on the "
        "watched repositories); ask whoever runs the notifier. Nothing was done."
    ),
    "PullRequestDoesNotExistException": "There is no such pull request (deleted?); nothing was done.",
    "RepositoryDoesNotExistException": "There is no such repository; nothing was done.",
}
_UNEXPECTED = (
    "CodeCommit refused ({code}); nothing was done. If it keeps happening, tell whoever runs the notifier."
)


class Refused(Exception):
    """An action ends here with this reply (a check failed, or CodeCommit said no)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.reply = Reply(text, ok=False)


def approve(session: ChatSession, value: str) -> Reply:
    """The Approve button: approve the revision the message showed, as the person."""
    return _run(lambda: _approval(session, _target(value), "APPROVE"))


def revoke(session: ChatSession, value: str) -> Reply:
    """The Revoke button: take back the person's approval of that revision."""
    return _run(lambda: _approval(session, _target(value), "REVOKE"))


def merge(session: ChatSession, value: str) -> Reply:
    """The Merge button: merge with the destination's strategy, if the rules are satisfied."""
    return _run(lambda: _merge(session, _target(value)))


def approve_command(session: ChatSession, args: Sequence[str]) -> Reply:
    """``/codecommit approve <repository> <id>``: approve the current revision."""
    return _run(lambda: _approval(session, _typed_target(session, args, "approve"), "APPROVE"))


def merge_command(session: ChatSession, args: Sequence[str]) -> Reply:
    """``/codecommit merge <repository> <id>``: merge the current revision (fast-forward unless the
    one interactive destination says otherwise)."""
    return _run(lambda: _merge(session, _typed_target(session, args, "merge")))


def comment(session: ChatSession, value: str, text: str, *, token: str | None = None) -> Reply:
    """The Comment modal's submission (or a thread reply): post ``text`` as the person.

    Args:
        value: the button value the modal carried (or the thread parent's).
        text: the comment, as the person wrote it (CodeCommit shows it as Markdown).
        token: ``clientRequestToken``: the Slack ``event_id`` of a thread reply, so a retried
            event returns the same comment instead of making a second one.
    """
    return _run(lambda: _comment(session, _target(value), text, token))


def _run(action: Callable[[], Reply]) -> Reply:
    try:
        return action()
    except Refused as refusal:
        return refusal.reply


def _target(value: str) -> ButtonTarget:
    target = parse_value(value)
    if target is None:
        raise Refused(NOT_OURS)
    return target


def _typed_target(session: ChatSession, args: Sequence[str], verb: str) -> ButtonTarget:
    if len(args) != 2 or not args[1].isdigit():
        raise Refused(
            f"Usage: /codecommit {verb} <repository> <pull request id>, e.g. /codecommit {verb} my-repo 12"
        )
    interactive = [d for d in session.settings.destinations.values() if d.interactive]
    destination = interactive[0].name if len(interactive) == 1 else ""
    return ButtonTarget(destination or "-", args[0], args[1], "")


def _checked(session: ChatSession, target: ButtonTarget, action: str) -> PullRequestSnapshot:
    """The checks before the acting call; the pull request as the person reads it."""
    if not session.settings.is_watched(target.repository):
        raise Refused(f"{_where(target)} is not a repository this notifier watches; nothing was done.")
    decision = decide(session.actor, action, None, session.settings.permissions)
    if not decision.allowed:
        raise Refused(decision.reason)
    raw = _call(session, "get_pull_request", pullRequestId=target.pull_request_id)["pullRequest"]
    snapshot = details_from_api(raw).snapshot
    if (raw.get("pullRequestTargets") or [{}])[0].get(
        "repositoryName", target.repository
    ) != target.repository:
        raise Refused(NOT_OURS)
    author = session.settings.user_map.lookup(identity_from_arn(snapshot.author_arn))
    facts = PullRequestFacts(
        author_arn=snapshot.author_arn,
        author_chat_id=author.slack if author is not None else None,
        open=snapshot.status.upper() == "OPEN" and not snapshot.is_merged,
    )
    decision = decide(session.actor, action, facts, session.settings.permissions)
    if not decision.allowed:
        raise Refused(decision.reason)
    if target.revision_id and target.revision_id != snapshot.revision_id:
        _show(
            session, _moved(target, snapshot), "New commits were pushed: look at them before acting.", False
        )
        raise Refused(ERROR_WORDS["RevisionNotCurrentException"])
    return snapshot


def _approval(session: ChatSession, target: ButtonTarget, state: str) -> Reply:
    snapshot = _checked(session, target, "approve")
    _call(
        session,
        "update_pull_request_approval_state",
        pullRequestId=target.pull_request_id,
        revisionId=snapshot.revision_id,
        approvalState=state,
    )
    done = "Approved" if state == "APPROVE" else "Approval revoked"
    line = f"{done} by {session.actor.session_name} from Slack{_rules_line(session, snapshot)}"
    _show(session, _moved(target, snapshot), line, False)
    return Reply(f"{done}: {_which(target)}, as {escape(session.actor.session_name)}.")


def _merge(session: ChatSession, target: ButtonTarget) -> Reply:
    snapshot = _checked(session, target, "merge")
    evaluation = _call(
        session,
        "evaluate_pull_request_approval_rules",
        pullRequestId=target.pull_request_id,
        revisionId=snapshot.revision_id,
    )["evaluation"]
    if not (evaluation.get("approved") or evaluation.get("overridden")):
        missing = ", ".join(evaluation.get("approvalRulesNotSatisfied") or []) or "the approval rules"
        raise Refused(f"Not merged: {missing} not satisfied yet. Nothing was done.")
    destination = session.settings.destinations.get(target.destination)
    strategy = destination.merge_strategy if destination is not None else "fast-forward"
    operation = {
        "fast-forward": "merge_pull_request_by_fast_forward",
        "squash": "merge_pull_request_by_squash",
        "three-way": "merge_pull_request_by_three_way",
    }[strategy]
    _call(
        session,
        operation,
        pullRequestId=target.pull_request_id,
        repositoryName=target.repository,
        sourceCommitId=snapshot.source_commit,
    )
    _show(session, target, f"Merged ({strategy}) by {session.actor.session_name} from Slack", True)
    return Reply(f"Merged {_which(target)} ({strategy}).")


def _comment(session: ChatSession, target: ButtonTarget, text: str, token: str | None) -> Reply:
    if not text.strip():
        raise Refused("The comment was empty; nothing was posted.")
    snapshot = _checked(
        session, ButtonTarget(target.destination, target.repository, target.pull_request_id, ""), "comment"
    )
    arguments: dict[str, Any] = {
        "pullRequestId": target.pull_request_id,
        "repositoryName": target.repository,
        "beforeCommitId": snapshot.destination_commit,
        "afterCommitId": snapshot.source_commit,
        "content": text[:10_000],
    }
    if token:
        arguments["clientRequestToken"] = token
    answer = _call(session, "post_comment_for_pull_request", **arguments)
    comment_id = str((answer.get("comment") or {}).get("commentId") or "")
    if comment_id:
        remember_chat_comment(session.state, comment_id, session.now)
    return Reply(f"Commented on {_which(target)} as {escape(session.actor.session_name)}.")


def _call(session: ChatSession, operation: str, **arguments: Any) -> dict[str, Any]:
    """One CodeCommit call as the person; its refusal in words."""
    try:
        client = session.client("codecommit", session.region)
        return dict(getattr(client, operation)(**arguments))
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        log.info("CodeCommit %s refused for %s: %s", operation, session.actor.session_name, code)
        raise Refused(ERROR_WORDS.get(code) or _UNEXPECTED.format(code=code or "unknown")) from None
    except BotoCoreError as error:
        log.warning("CodeCommit %s failed: %s", operation, type(error).__name__)
        raise Refused("CodeCommit could not be reached; nothing was done. Try again in a minute.") from None


def _rules_line(session: ChatSession, snapshot: PullRequestSnapshot) -> str:
    try:
        evaluation = _call(
            session,
            "evaluate_pull_request_approval_rules",
            pullRequestId=snapshot.pull_request_id,
            revisionId=snapshot.revision_id,
        )["evaluation"]
    except Refused:
        return ""
    return " · approval rules satisfied" if evaluation.get("approved") else ""


def _where(target: ButtonTarget) -> str:
    """The repository a button or a command named, inert in mrkdwn (it may be anything typed)."""
    return escape(target.repository)


def _which(target: ButtonTarget) -> str:
    """``#12 in my-repo``, inert in mrkdwn."""
    return f"#{escape(target.pull_request_id)} in {_where(target)}"


def _moved(target: ButtonTarget, snapshot: PullRequestSnapshot) -> ButtonTarget:
    return ButtonTarget(target.destination, target.repository, target.pull_request_id, snapshot.revision_id)


def _show(session: ChatSession, target: ButtonTarget, line: str, finished: bool) -> None:
    """Rewrite the clicked message (if any) to the new state; a failure is logged only (the action
    itself is done, and its own EventBridge event updates the thread's parent again)."""
    clicked = session.clicked
    if clicked is None or session.update_message is None:
        return
    try:
        session.update_message(
            clicked, after_action(clicked.message, target, line, merged_or_closed=finished)
        )
    except Exception as error:  # a courtesy update never undoes or repeats the action
        log.warning("acted, but could not update the message: %s", type(error).__name__)
