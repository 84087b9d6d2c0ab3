"""Who acts: the Slack member who clicked or typed, mapped back to a person through ``USER_MAP``.

The map goes identity → Slack member id; a chat action needs the other direction (the key whose
value is that member id, :meth:`~handler.pull_requests.people.UserMap.keys_of`). That key becomes
the session the action runs as: ``RoleSessionName`` and ``SourceIdentity`` of the assumed actor
role, so CodeCommit records ``assumed-role/<role>/<session name>``.
"""

from __future__ import annotations

import re

from handler.actions.context import Actor
from handler.pull_requests.people import UserMap

#: What STS allows in ``RoleSessionName`` and ``SourceIdentity``: ``[\w+=,.@-]``, 2 to 64 characters.
_NOT_STS = re.compile(r"[^A-Za-z0-9_+=,.@-]")
SESSION_NAME_MAX = 64

UNMAPPED = (
    "You are not mapped to an AWS identity yet, so nothing was done. Ask whoever runs the "
    "CodeCommit notifier to add you to USER_MAP under your full IAM ARN, e.g. "
    '"arn:aws:iam::123456789012:user/alice": "{user}" (your Slack member id is {user}); then try again.'
)


SHARED_SESSION = (
    "You would act in AWS as {session}, and so would someone else in USER_MAP: CodeCommit, CloudTrail "
    "and approval rules could not tell you apart, so nothing was done. Ask whoever runs the CodeCommit "
    "notifier to give one of you a USER_MAP key that reduces to a session name of your own."
)


def session_name(person: str) -> str:
    """``person`` as STS takes it: an ARN's last path segment, other characters replaced by ``-``,
    at most 64 characters, at least 2 (padded with ``-``)."""
    tail = person.rsplit("/", 1)[-1] if person.startswith("arn:") else person
    reduced = _NOT_STS.sub("-", tail)[:SESSION_NAME_MAX]
    return reduced.ljust(2, "-")


def actor_for(slack_user_id: str, user_map: UserMap) -> Actor | None:
    """The person a Slack member is, or None when ``USER_MAP`` has no key for them.

    Several keys may name one member (an ARN and an e-mail); the first one written wins, so the
    session name is stable from one click to the next.
    """
    keys = user_map.keys_of(slack_user_id)
    if not keys:
        return None
    return Actor(person=keys[0], chat_user_id=slack_user_id, session_name=session_name(keys[0]))


def shared_session(actor: Actor, user_map: UserMap) -> str | None:
    """Another person's ``USER_MAP`` key that reduces to the actor's session name, or None.

    The session name is all CodeCommit and CloudTrail record (``assumed-role/<role>/<name>``), and
    :func:`session_name` is lossy (an ARN's account and path dropped, other characters made ``-``):
    ``arn:aws:iam::111111111111:user/alice`` and ``alice`` of another Slack member would both act as
    ``alice``, each approving in the other's name. Case is ignored, as the own-work check ignores it.
    Only keys with a Slack member count: nobody else can act from chat.
    """
    mine = actor.session_name.casefold()
    for key, chat in user_map.entries():
        if chat.slack and chat.slack != actor.chat_user_id and session_name(key).casefold() == mine:
            return key
    return None
