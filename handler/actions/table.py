"""The chat function's tables: slash sub-command → action, button ``action_id`` → action.

Adding a family of actions (reminders, pipelines) is adding lines here::

    SUBCOMMANDS["deploy"] = deploy            # (context, args: Sequence[str]) -> Reply
    BUTTONS["codecommit_pipeline_approve"] = approve_stage   # (context, value: str) -> Reply

The front door (``front_door.py``) knows a request is ours only by these keys: an unknown
sub-command gets the usage, an unknown ``action_id`` is acknowledged and ignored.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

from handler.actions.context import Reply
from handler.render.actions import APPROVE, MERGE, REVOKE

SubCommand = Callable[[Any, Sequence[str]], Reply]
Button = Callable[[Any, str], Reply]


def lazy(module: str, name: str) -> Callable[[Any, Any], Reply]:
    """``module.name``, imported on its first call: the acknowledgement needs only the table's
    keys, so it never pays for importing what the actions import (measured in ``make bench``)."""

    def call(context: Any, argument: Any) -> Reply:
        action: Callable[[Any, Any], Reply] = getattr(importlib.import_module(module), name)
        return action(context, argument)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"{module}.{name}, imported on first use."
    return call


#: ``/codecommit <word> ...``; ``help`` is answered by the front door itself.
SUBCOMMANDS: dict[str, SubCommand] = {
    "approve": lazy("handler.actions.review", "approve_command"),
    "merge": lazy("handler.actions.review", "merge_command"),
}
# TODO(reminders): SUBCOMMANDS["prs"], SUBCOMMANDS["remind"] from handler.actions.review_queue.

#: Buttons by ``action_id`` (the Comment button opens a modal in the front door instead).
BUTTONS: dict[str, Button] = {
    APPROVE: lazy("handler.actions.review", "approve"),
    REVOKE: lazy("handler.actions.review", "revoke"),
    MERGE: lazy("handler.actions.review", "merge"),
}

USAGE_LINES = [
    "/codecommit approve <repository> <id>: approve a pull request's current revision, as you",
    "/codecommit merge <repository> <id>: merge it, if its approval rules are satisfied",
    "/codecommit help: this list",
]


def usage() -> str:
    """What ``/codecommit help`` (and any input it does not know) answers."""
    return "Usage:\n" + "\n".join(USAGE_LINES)
