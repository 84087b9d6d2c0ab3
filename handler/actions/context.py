"""The interface every chat action takes and gives: who acts, what they are told, where they act.

An action is a plain function ``(context: ActionContext, args: Sequence[str]) -> Reply`` for a
slash sub-command, or ``(context: ActionContext, value: str) -> Reply`` for a button whose value
carries only ids. It decides with pure checks first (permissions, self-approval, the repository or
pipeline being watched) and calls AWS only through ``context.client``, which hands out clients that
act *as the person* (an assumed role with their ``SourceIdentity``), so CodeCommit and CloudTrail
record them, not the bot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Actor:
    """The person behind a verified chat request.

    Attributes:
        person: their ``USER_MAP`` key (an ARN, IAM name, session name or e-mail), as written there.
        chat_user_id: the Slack member id that clicked or typed (``U…``/``W…``).
        session_name: ``person`` reduced to STS's ``RoleSessionName``/``SourceIdentity`` characters
            (``[\\w+=,.@-]``, at most 64): what CodeCommit records as ``assumed-role/<role>/<session_name>``.
    """

    person: str
    chat_user_id: str
    session_name: str


@dataclass(frozen=True)
class Reply:
    """What the person is told. Private (ephemeral) unless ``public``; ``text`` is plain words that
    say what happened or why not, and what to change, never a traceback."""

    text: str
    public: bool = False
    ok: bool = True


class ActionContext(Protocol):
    """Where an action runs: who acts and how it reaches AWS as them."""

    @property
    def actor(self) -> Actor:
        """The person acting."""
        ...

    def client(self, service: str, region: str) -> Any:
        """A botocore client for ``service`` in ``region`` acting as :attr:`actor` (assumed role)."""
        ...
