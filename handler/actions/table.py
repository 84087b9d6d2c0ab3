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
    "prs": lazy("handler.actions.review_queue", "prs"),
    "approve": lazy("handler.actions.review", "approve_command"),
    "merge": lazy("handler.actions.review", "merge_command"),
    "remind": lazy("handler.actions.review_queue", "remind"),
    "deploy": lazy("handler.actions.pipeline_commands", "deploy"),
    "status": lazy("handler.actions.pipeline_commands", "status"),
    "rollback": lazy("handler.actions.pipeline_commands", "rollback"),
}

#: The approval gate's buttons (``handler.render.pipeline``'s ids, written here so the
#: acknowledgement never imports the pipeline renderer; a test holds the two equal).
APPROVE_DEPLOY = "codepipeline_approve"
REJECT_DEPLOY = "codepipeline_reject"

#: Buttons by ``action_id`` (the Comment button opens a modal in the front door instead).
BUTTONS: dict[str, Button] = {
    APPROVE: lazy("handler.actions.review", "approve"),
    REVOKE: lazy("handler.actions.review", "revoke"),
    MERGE: lazy("handler.actions.review", "merge"),
    APPROVE_DEPLOY: lazy("handler.actions.pipeline_commands", "approve_deploy"),
    REJECT_DEPLOY: lazy("handler.actions.pipeline_commands", "reject_deploy"),
}

USAGE_LINES = [
    "/codecommit prs [repository]: what waits on you, and what waits on others",
    "/codecommit approve <repository> <id>: approve a pull request's current revision, as you",
    "/codecommit merge <repository> <id>: merge it, if its approval rules are satisfied",
    "/codecommit remind: the review digest, now, privately",
    "/codecommit deploy <pipeline> [<branch, tag or commit>]: start a pipeline run, as you",
    "/codecommit status <pipeline>: its latest runs, stage by stage",
    "/codecommit rollback <pipeline> <stage>: roll a stage back to its last successful run",
    "/codecommit help: this list",
]


def usage() -> str:
    """What ``/codecommit help`` (and any input it does not know) answers."""
    return "Usage:\n" + "\n".join(USAGE_LINES)
