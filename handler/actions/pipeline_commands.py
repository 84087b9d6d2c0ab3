"""The pipeline actions as the chat table calls them: ``(session, args)`` and ``(session, value)``.

The chat function's table (``handler/actions/table.py``) registers these five; each builds the
:class:`~handler.actions.pipelines.PipelineActions` from the function's settings (``PIPELINES``,
``DEPLOY_TARGETS``, ``GITHUB_API_URL``, ``CHAT_PERMISSIONS``, the region) and runs it with the
session as its context. A button that closed a gate rewrites the clicked message
(``session.update_message``): its attachments as they were, the buttons replaced by who decided.

The session is the chat side's ``ChatSession``; only these of its attributes are read:
``actor``, ``client``, ``region``, ``settings.permissions`` (its ``Permissions``, whose
``globs(action)`` names who may), ``clicked`` and ``update_message``; ``github_token`` when a
``github-dispatch`` target is deployed (the secret's ``github-token``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache
from typing import Any

from handler.actions.context import Reply
from handler.actions.pipelines import GateReply, GitHubDispatch, PipelineActions, glob_permit
from handler.render.pipeline import after_gate
from handler.settings import Settings

__all__ = ["approve_deploy", "deploy", "reject_deploy", "rollback", "status"]

#: The actions ``CHAT_PERMISSIONS`` names for pipelines.
PIPELINE_PERMISSIONS = ("deploy", "rollback", "approve_deploy")


@cache
def _settings() -> Settings:
    """The function's settings, read once per container."""
    return Settings.from_environ(os.environ)


def actions_for(session: Any, settings: Settings | None = None) -> PipelineActions:
    """The pipeline actions over ``session``'s permissions and region."""
    settings = settings or _settings()
    permissions = getattr(getattr(session, "settings", None), "permissions", None)
    grants = (
        {action: tuple(permissions.globs(action)) for action in PIPELINE_PERMISSIONS} if permissions else {}
    )
    token = getattr(session, "github_token", None)
    github = GitHubDispatch(settings.github_api_url, token) if callable(token) else None
    return PipelineActions(
        pipelines=settings.pipelines,
        region=str(getattr(session, "region", "") or os.environ.get("AWS_REGION", "")),
        permit=glob_permit(grants),
        github_targets=dict(settings.deploy_targets),
        github=github,
    )


def deploy(session: Any, args: Sequence[str]) -> Reply:
    """``/codecommit deploy <pipeline> [<branch or commit>]``."""
    return actions_for(session).deploy(session, args)


def status(session: Any, args: Sequence[str]) -> Reply:
    """``/codecommit status <pipeline>``."""
    return actions_for(session).status(session, args)


def rollback(session: Any, args: Sequence[str]) -> Reply:
    """``/codecommit rollback <pipeline> <stage>``."""
    return actions_for(session).rollback(session, args)


def approve_deploy(session: Any, value: str) -> Reply:
    """The approval gate's **Approve** button (``action_id`` ``codepipeline_approve``)."""
    return _shown(session, actions_for(session).approve(session, value))


def reject_deploy(session: Any, value: str) -> Reply:
    """The approval gate's **Reject** button (``action_id`` ``codepipeline_reject``)."""
    return _shown(session, actions_for(session).reject(session, value))


def _shown(session: Any, reply: GateReply) -> Reply:
    """Rewrite the clicked message once the gate no longer waits (who decided, or no buttons)."""
    clicked, update = getattr(session, "clicked", None), getattr(session, "update_message", None)
    if reply.gate_closed and clicked is not None and callable(update):
        update(clicked, after_gate(clicked.message, reply.decided))
    return reply
