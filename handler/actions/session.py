"""A chat action's context: who acts, as whom it reaches AWS, and what it may touch.

:class:`ChatSession` is the :class:`~handler.actions.context.ActionContext` the chat function hands
every action: the person (:attr:`actor`), clients under the assumed actor role (:meth:`client`),
and the few settings an action checks before it calls anything (permissions, the watched
repositories, the destinations' merge strategies), plus the message a button was clicked on, so
an action can show its outcome there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from handler.actions.context import Actor
from handler.actions.permissions import DEFAULT_PERMISSIONS, Permissions
from handler.deliver.destinations import Destination
from handler.pull_requests.people import UserMap
from handler.state import StateStore


@dataclass(frozen=True)
class ChatSettings:
    """What actions check.

    Attributes:
        permissions: ``CHAT_PERMISSIONS``.
        watched: the watched repository names; None: every repository of the account and region.
        destinations: the declared destinations (a Merge button's ``merge_strategy``).
        user_map: ``USER_MAP`` (authors → Slack members, for the self-approval check).
    """

    permissions: Permissions = DEFAULT_PERMISSIONS
    watched: frozenset[str] | None = frozenset()
    destinations: Mapping[str, Destination] = field(default_factory=dict)
    user_map: UserMap = field(default_factory=UserMap)

    def is_watched(self, repository: str) -> bool:
        """The repository is one the notifier watches (every one when ``watched`` is None)."""
        return self.watched is None or repository in self.watched


@dataclass(frozen=True)
class ClickedMessage:
    """The message a button sits on: where it is, and what it says (to rewrite it afterwards)."""

    channel: str
    ts: str
    message: Mapping[str, Any]


@dataclass
class ChatSession:
    """One action's context (see the module docstring)."""

    actor: Actor
    clients: Callable[[str, str], Any]
    region: str
    settings: ChatSettings
    state: StateStore
    now: int
    clicked: ClickedMessage | None = None
    update_message: Callable[[ClickedMessage, dict[str, Any]], None] | None = None
    react: Callable[[str, str, str], None] | None = None
    #: The GitHub token (secret key ``github-token``) for ``github-dispatch`` deploys, read when asked.
    github_token: Callable[[], str] | None = None

    def client(self, service: str, region: str) -> Any:
        """A client acting as :attr:`actor` (assumed actor role)."""
        return self.clients(service, region)
