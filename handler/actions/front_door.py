"""The Slack front door: verify, acknowledge within 3 seconds, hand the slow part on.

One Request URL takes slash commands, interactivity and Events API callbacks. Each request::

    raw body ─► signature + timestamp (401) ─► decode ─► workspace (403) ─► kind ─► answer
                                                                         └► work (async self-invoke)

Nothing before the signature check reads anything but the signing secret; nothing after it that
can take long runs here. What acts (AssumeRole, CodeCommit, the state table, Slack posts) runs
in :mod:`handler.actions.work`, in a second invocation of the same function started with
``InvocationType`` ``Event`` (so Lambda's retries and the dead-letter queue keep it). Two things
are answered here directly: ``url_verification`` (its ``challenge``) and the usage text; and the
Comment button opens its modal here, because its ``trigger_id`` expires within 3 seconds.

The work a request hands on is ``{"codecommit_chat": {...}}``: the ids and the person's Slack id
from the verified request, never anything unverified. Function-URL events always carry
``requestContext.http``; a work event never does, and only an IAM principal allowed
``lambda:InvokeFunction`` (the function's own role) can send one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from handler.actions.table import BUTTONS, SUBCOMMANDS, usage
from handler.errors import NotifierError
from handler.inbound import response
from handler.inbound.request import FunctionUrlRequest
from handler.inbound.slack import (
    RETRY_HEADER,
    SlackBody,
    check_signature,
    check_team,
    decode_body,
    team_of,
)
from handler.render.actions import COMMENT, COMMENT_INPUT, COMMENT_INPUT_BLOCK, COMMENT_MODAL, comment_modal
from handler.render.actions import parse_value as parse_button_value

log = logging.getLogger(__name__)

WORK_KEY = "codecommit_chat"


@dataclass(frozen=True)
class FrontDoor:
    """The edges the acknowledgement may touch.

    Attributes:
        signing_secret: reads the signing secret (the only call allowed before verification).
        team_id: ``SLACK_TEAM_ID``; None serves any workspace (not recommended).
        hand_on: starts the work asynchronously (Lambda Invoke, ``InvocationType`` ``Event``).
        open_modal: ``views.open`` with a ``trigger_id`` and a view, for the Comment button.
        clock: epoch seconds now.
    """

    signing_secret: Callable[[], str]
    team_id: str | None
    hand_on: Callable[[dict[str, Any]], None]
    open_modal: Callable[[str, str, dict[str, Any]], None]
    clock: Callable[[], float]


def acknowledge(request: FunctionUrlRequest, door: FrontDoor) -> response.Response:
    """Answer one function-URL request from Slack (see the module docstring)."""
    body = verified(request, door)
    if not isinstance(body, SlackBody):
        return body
    document = body.document
    if document is None:
        return _command(body.form, door) if "command" in body.form else response.ack()
    if document.get("type") == "url_verification":
        return response.json_body(200, {"challenge": str(document.get("challenge", ""))})
    if document.get("type") == "event_callback":
        return _event(document, request.header(RETRY_HEADER), door)
    return _interaction(document, door)


def verified(request: FunctionUrlRequest, door: FrontDoor) -> SlackBody | response.Response:
    """The decoded body of a request that is Slack's, fresh and from the served workspace; else the
    401/403/400 answer (the reason logged, not told)."""
    refusal = check_signature(request, door.signing_secret(), door.clock())
    if refusal is not None:
        log.warning("refused a request (%s): %s", refusal.status, refusal.reason)
        return response.unauthorized()
    body = decode_body(request.raw_body, request.header("content-type") or "")
    if body is None:
        log.warning("a verified request whose body is neither a form nor JSON: ignored")
        return response.text(400, "bad request")
    if body.document is not None and body.document.get("type") == "url_verification":
        return body  # signed, and names no team: Slack's check of the Request URL, answered as is
    refusal = check_team(team_of(body.form, body.document), door.team_id)
    if refusal is not None:
        log.warning("refused a request (%s): %s", refusal.status, refusal.reason)
        return response.forbidden()
    return body


def _command(form: Mapping[str, str], door: FrontDoor) -> response.Response:
    words = form.get("text", "").split()
    sub = words[0].lower() if words else "help"
    if sub not in SUBCOMMANDS:
        return response.json_body(200, {"response_type": "ephemeral", "text": usage()})
    door.hand_on(
        {
            "kind": "command",
            "name": sub,
            "args": words[1:],
            "user": form.get("user_id", ""),
            "channel": form.get("channel_id", ""),
            "response_url": form.get("response_url", ""),
            "request": form.get("trigger_id", "")[:200],
        }
    )
    return response.ack()


def _interaction(document: Mapping[str, Any], door: FrontDoor) -> response.Response:
    kind = document.get("type")
    user = _user_id(document)
    if kind == "block_actions":
        actions = document.get("actions") or []
        action = actions[0] if actions and isinstance(actions[0], Mapping) else {}
        action_id, value = str(action.get("action_id", "")), str(action.get("value", ""))
        if action_id == COMMENT:
            target = parse_button_value(value)
            if target is not None:
                title = f"#{target.pull_request_id} in {target.repository}"
                _open_modal(
                    door,
                    target.destination,
                    str(document.get("trigger_id", "")),
                    comment_modal(target, title),
                )
            return response.ack()
        if action_id in BUTTONS:
            container = document.get("container") or {}
            door.hand_on(
                {
                    "kind": "button",
                    "name": action_id,
                    "value": value,
                    "user": user,
                    "channel": str(container.get("channel_id") or ""),
                    "message_ts": str(container.get("message_ts") or ""),
                    "message": document.get("message") or {},
                    "response_url": str(document.get("response_url") or ""),
                    "request": str(document.get("trigger_id") or "")[:200],
                }
            )
        return response.ack()
    if kind == "view_submission":
        view = document.get("view") or {}
        if view.get("callback_id") == COMMENT_MODAL:
            values = (view.get("state") or {}).get("values") or {}
            text = ((values.get(COMMENT_INPUT_BLOCK) or {}).get(COMMENT_INPUT) or {}).get("value") or ""
            door.hand_on(
                {
                    "kind": "comment",
                    "value": str(view.get("private_metadata") or ""),
                    "text": str(text),
                    "user": user,
                    "token": str(view.get("id") or "")[:64] or None,
                }
            )
        return response.ack()
    return response.ack()


def _event(document: Mapping[str, Any], retry: str | None, door: FrontDoor) -> response.Response:
    """A human's reply in a thread is handed on; everything else (bots, edits, top-level messages,
    our own posts) is acknowledged and ignored. A retry (``X-Slack-Retry-Num``) is handed on too:
    its ``event_id`` is the comment's ``clientRequestToken``, so it can never comment twice."""
    event = document.get("event") or {}
    if not (
        event.get("type") == "message"
        and event.get("subtype") in (None, "thread_broadcast")  # a reply also sent to the channel counts
        and not event.get("bot_id")
        and event.get("user")
        and event.get("thread_ts")
        and event.get("thread_ts") != event.get("ts")
    ):
        return response.ack()
    door.hand_on(
        {
            "kind": "thread_reply",
            "user": str(event["user"]),
            "channel": str(event.get("channel") or ""),
            "thread_ts": str(event["thread_ts"]),
            "ts": str(event.get("ts") or ""),
            "text": str(event.get("text") or ""),
            "event_id": str(document.get("event_id") or ""),
            "app_id": str(document.get("api_app_id") or ""),
            "retry": retry or "",
        }
    )
    return response.ack()


def _open_modal(door: FrontDoor, destination: str, trigger_id: str, view: dict[str, Any]) -> None:
    """Open the Comment modal; a failure is logged and the click still acknowledged (nothing was
    done, and the person can click again; an error page would say no more)."""
    try:
        door.open_modal(destination, trigger_id, view)
    except (NotifierError, OSError) as error:
        log.warning("could not open the comment modal: %s: %s", type(error).__name__, error)


def _user_id(document: Mapping[str, Any]) -> str:
    user = document.get("user")
    return str(user.get("id", "")) if isinstance(user, Mapping) else ""
