"""The work a verified Slack request handed on, run in an asynchronous invocation of the chat function.

::

    work ─► who (USER_MAP; unmapped: told how to get mapped, nothing else) ─► action from the table,
            as the person (assumed actor role) ─► the reply, privately

A button or a command replies through its ``response_url``; a thread reply gets a reaction on
success (the thread shows it went through) or a private message in the thread saying why not.
A thread whose parent is not a pull-request message from this app is not ours: nothing happens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from handler.actions import review
from handler.actions.context import Actor, Reply
from handler.actions.session import ChatSession, ChatSettings, ClickedMessage
from handler.actions.slack_text import comment_text
from handler.actions.table import BUTTONS, SUBCOMMANDS
from handler.actions.who import SHARED_SESSION, UNMAPPED, actor_for, shared_session
from handler.render.actions import target_in
from handler.state import StateItem, StateStore
from handler.state.chat_comments import REQUEST_PREFIX

log = logging.getLogger(__name__)

#: The reaction a thread reply gets once it is a comment on the pull request.
POSTED_REACTION = "white_check_mark"


class SlackEdges(Protocol):
    """What the work says back to Slack (each may fail; failures are logged by the caller)."""

    def respond(self, response_url: str, text: str, *, public: bool = False) -> None:
        """A message through an interaction's ``response_url``: private, or the channel's when
        ``public``."""
        ...

    def post_ephemeral(self, channel: str, user: str, text: str, thread_ts: str | None) -> None:
        """``chat.postEphemeral``: a message only ``user`` sees."""
        ...

    def update(self, channel: str, ts: str, payload: dict[str, Any]) -> None:
        """``chat.update``: rewrite a message."""
        ...

    def parent(self, channel: str, thread_ts: str) -> Mapping[str, Any] | None:
        """The thread's first message (``conversations.replies``), or None."""
        ...

    def react(self, channel: str, ts: str, name: str) -> None:
        """``reactions.add``."""
        ...


@dataclass(frozen=True)
class WorkEdges:
    """Where the work runs.

    Attributes:
        settings: what actions check.
        clients_as: ``clients_as(actor)`` → ``(service, region) → client`` acting as the person.
        slack: replies, updates, the thread's parent, reactions.
        state: the state table (comments made from threads).
        region: the function's (and the watched repositories') region.
        clock: epoch seconds now.
    """

    settings: ChatSettings
    clients_as: Callable[[Actor], Callable[[str, str], Any]]
    slack: SlackEdges
    state: StateStore
    region: str
    clock: Callable[[], float]
    #: The secret's ``github-token`` (``github-dispatch`` deploys), read when a deploy asks for it.
    github_token: Callable[[], str] | None = None


def finish(work: Mapping[str, Any], edges: WorkEdges) -> Reply | None:
    """Run one piece of handed-on work; return what the person was told (None: nothing)."""
    kind = work.get("kind")
    user = str(work.get("user") or "")
    actor = actor_for(user, edges.settings.user_map)
    refusal = _who_refusal(user, actor, edges)
    if kind == "thread_reply":
        return _thread_reply(work, actor, refusal, edges)
    claim = _claim_request(work, edges)
    if claim is False:
        log.info("chat %s %s: this request was handled before; nothing done", kind, work.get("name", ""))
        return None
    reply: Reply | None = refusal
    if actor is not None and refusal is None:
        try:
            reply = _run(work, _session(actor, edges, work))
        except BaseException:
            if isinstance(claim, StateItem):
                edges.state.delete(claim)  # Lambda's retry of this work acts
            raise
    if reply is not None:
        _tell(edges, work, reply)
    return reply


def _claim_request(work: Mapping[str, Any], edges: WorkEdges) -> StateItem | bool:
    """Claim the request's ``trigger_id`` (``chatrequest#<id>``): the claim, True when the work has
    no id to claim, False when it was claimed before.

    Slack's signature has no nonce: a request captured and sent again within its 300 s window
    verifies again, and Lambda may run handed-on work twice. Either would deploy, roll back or
    merge twice; with the claim the second causes nothing (not even an AssumeRole).
    """
    request = str(work.get("request") or "")
    if not request:
        return True
    item = edges.state.put_new(
        REQUEST_PREFIX + request, {"kind": str(work.get("kind") or "")}, expires_at=int(edges.clock()) + 3600
    )
    return item if item is not None else False


def _who_refusal(user: str, actor: Actor | None, edges: WorkEdges) -> Reply | None:
    """Why this member may not act at all (unmapped, or sharing a session name), or None."""
    if actor is None:
        return Reply(UNMAPPED.format(user=user), ok=False)
    other = shared_session(actor, edges.settings.user_map)
    if other is not None:
        log.error(
            "USER_MAP keys %r and %r (different people) both act as session %r: neither may act from "
            "chat until one key changes",
            actor.person[:200],
            other[:200],
            actor.session_name,
        )
        return Reply(SHARED_SESSION.format(session=actor.session_name), ok=False)
    return None


def _run(work: Mapping[str, Any], session: ChatSession) -> Reply | None:
    kind, name = work.get("kind"), str(work.get("name") or "")
    if kind == "command" and name in SUBCOMMANDS:
        return SUBCOMMANDS[name](session, [str(arg) for arg in work.get("args") or []])
    if kind == "button" and name in BUTTONS:
        return BUTTONS[name](session, str(work.get("value") or ""))
    if kind == "comment":
        token = str(work.get("token") or "") or None  # the modal's view id: a retried hand-over posts once
        return review.comment(session, str(work.get("value") or ""), str(work.get("text") or ""), token=token)
    log.warning("work of an unknown kind %r: ignored", kind)
    return None


def _session(actor: Actor, edges: WorkEdges, work: Mapping[str, Any]) -> ChatSession:
    clicked = None
    message = work.get("message")
    if work.get("channel") and work.get("message_ts") and isinstance(message, Mapping):
        clicked = ClickedMessage(str(work["channel"]), str(work["message_ts"]), message)
    return ChatSession(
        actor=actor,
        clients=edges.clients_as(actor),
        region=edges.region,
        settings=edges.settings,
        state=edges.state,
        now=int(edges.clock()),
        clicked=clicked,
        update_message=lambda where, payload: edges.slack.update(where.channel, where.ts, payload),
        github_token=edges.github_token,
    )


def _thread_reply(
    work: Mapping[str, Any], actor: Actor | None, refusal: Reply | None, edges: WorkEdges
) -> Reply | None:
    channel, thread_ts = str(work.get("channel") or ""), str(work.get("thread_ts") or "")
    parent = edges.slack.parent(channel, thread_ts)
    if parent is None or not _from_our_app(parent, str(work.get("app_id") or "")):
        return None  # not a pull request's thread: an ordinary conversation, left alone
    target = target_in(parent)
    if target is None:
        return None
    if actor is None or refusal is not None:
        reply = refusal or Reply(UNMAPPED.format(user=work.get("user")), ok=False)
    else:
        session = _session(actor, edges, {})
        reply = review.comment(
            session,
            target.value(),
            comment_text(str(work.get("text") or "")),
            token=str(work.get("event_id") or "") or None,
        )
    if reply.ok:
        _quietly(lambda: edges.slack.react(channel, str(work.get("ts") or ""), POSTED_REACTION))
    else:
        user = str(work.get("user") or "")
        _quietly(lambda: edges.slack.post_ephemeral(channel, user, reply.text, thread_ts))
    return reply


def _from_our_app(parent: Mapping[str, Any], app_id: str) -> bool:
    """The parent was posted by this app (its ``app_id``), not by a person or another app."""
    return bool(app_id) and parent.get("app_id") == app_id and bool(parent.get("bot_id"))


def _tell(edges: WorkEdges, work: Mapping[str, Any], reply: Reply) -> None:
    url = str(work.get("response_url") or "")
    if url:
        _quietly(lambda: edges.slack.respond(url, reply.text, public=reply.public))
    elif work.get("channel"):
        user = str(work.get("user") or "")
        _quietly(lambda: edges.slack.post_ephemeral(str(work["channel"]), user, reply.text, None))


def _quietly(say: Callable[[], None]) -> None:
    """Telling the person is a courtesy after the action: a failure is logged, never raised (a
    retry of the whole work would act again)."""
    try:
        say()
    except Exception as error:  # a reply that fails never undoes or repeats the action
        log.warning("acted, but could not tell the person: %s: %s", type(error).__name__, error)
