"""Who may do what from chat: ``CHAT_PERMISSIONS`` and the one pure function that decides.

``CHAT_PERMISSIONS`` is a JSON object of action → identity globs, matched against the acting
person's ``USER_MAP`` key and their session name::

    {"approve": ["*"], "comment": ["*"], "merge": ["arn:aws:iam::*:user/lead-*", "ops@example.com"]}

Unset, every mapped person may ``approve`` and ``comment`` and nobody may do the rest
(``merge``, ``deploy``, ``rollback``, ``approve_deploy``). An action the object leaves out is
allowed to nobody; a person not in ``USER_MAP`` never gets this far (``who.py``). Revoking one's
approval counts as ``approve``.

Whatever the globs say, the notifier refuses approving or merging one's own pull request: the
action runs as an assumed role whose session is not the author's ARN, so CodeCommit itself would
accept it.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from handler.actions.context import Actor
from handler.settings import ACTIONS, DEFAULT_PERMISSIONS, Permissions, parse_chat_permissions

__all__ = [
    "ACTIONS",
    "DEFAULT_PERMISSIONS",
    "NOT_ON_OWN_WORK",
    "Decision",
    "Permissions",
    "PullRequestFacts",
    "decide",
    "is_own",
    "parse_chat_permissions",
]

#: The actions a person may never take on their own pull request.
NOT_ON_OWN_WORK = frozenset({"approve", "merge"})


@dataclass(frozen=True)
class PullRequestFacts:
    """What a decision needs to know about the pull request acted on.

    Attributes:
        author_arn: the author's ARN, as GetPullRequest gives it.
        author_chat_id: the author's Slack member id through ``USER_MAP``, if mapped.
        open: the pull request is open (not merged, not closed).
    """

    author_arn: str
    author_chat_id: str | None
    open: bool = True


@dataclass(frozen=True)
class Decision:
    """Allowed, or a ``reason`` (plain words: why not, and what to change)."""

    allowed: bool
    reason: str = ""


def decide(
    actor: Actor, action: str, pull_request: PullRequestFacts | None, permissions: Permissions
) -> Decision:
    """May ``actor`` take ``action`` (on ``pull_request``, when one is known yet)?

    Pure: called once before anything is read (``pull_request`` None: the globs alone, so a person
    who may not act causes no AWS call at all), then again with the pull request's facts.
    """
    if not any(_matches(actor, glob) for glob in permissions.globs(action)):
        return Decision(
            False,
            f"You may not {action.replace('_', ' ')} from chat. CHAT_PERMISSIONS decides who may; "
            f'ask whoever runs the notifier to add {actor.person} under "{action}".',
        )
    if pull_request is None:
        return Decision(True)
    if action in NOT_ON_OWN_WORK and is_own(actor, pull_request):
        return Decision(
            False, f"You opened this pull request, so you may not {action} it; ask a reviewer to."
        )
    if not pull_request.open and action != "comment":
        return Decision(False, "This pull request is no longer open (merged or closed); nothing was done.")
    return Decision(True)


def is_own(actor: Actor, pull_request: PullRequestFacts) -> bool:
    """The author is the actor: the same Slack member through ``USER_MAP``, the same ARN as the
    person's key, or an author ARN whose last segment is the actor's session name (a pull request
    opened as the actor role, or as an IAM user or role session of the same name)."""
    author = pull_request.author_arn
    if pull_request.author_chat_id and pull_request.author_chat_id == actor.chat_user_id:
        return True
    if author and author == actor.person:
        return True
    tail = author.rsplit("/", 1)[-1] if author.startswith("arn:") else author
    return bool(tail) and tail.casefold() in (actor.session_name.casefold(), actor.person.casefold())


def _matches(actor: Actor, glob: str) -> bool:
    pattern = glob.casefold()
    return any(fnmatch.fnmatchcase(name.casefold(), pattern) for name in (actor.person, actor.session_name))
