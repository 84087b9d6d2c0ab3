"""A Slack Web API stand-in on 127.0.0.1: ``chat.postMessage``, ``chat.update``, ``conversations.open``,
``conversations.replies``.

It answers as Slack does where the notifier can tell: HTTP 200 with ``{"ok": true, ...}`` or
``{"ok": false, "error": "..."}``, a bot token in ``Authorization: Bearer`` (a wrong one gets
``invalid_auth``, none ``not_authed``), message timestamps that only grow, ``chat.update`` of a
message it never posted gets ``message_not_found``, a post with neither ``text``, ``attachments``
nor ``blocks`` gets ``no_text``, and a channel name (``#reviews``) resolves to its id only when
it is in :attr:`SlackWebApiStandIn.channel_ids`.

Each call first takes the next entry of the script: an :class:`ApiReply` is answered as it is
(``ratelimited`` with 429 and ``Retry-After``, an error body, a 500), ``None`` means "answer
normally"; a spent script answers normally. :attr:`calls` records every call, answered or not.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Self
from urllib.parse import parse_qsl

from tests.standins import LoopbackServer

TOKEN = "xoxb-1111111111-2222222222-StandInBotTokenValue01"
BOT_ID = "B0STANDIN01"


@dataclass(frozen=True)
class ApiReply:
    """A scripted answer: ``body`` as JSON (or ``raw`` text as it is) with ``status`` and ``headers``."""

    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: str | None = None
    #: seconds to hold the answer (past the client's timeout: a read timeout)
    delay: float = 0.0


def error(code: str, status: int = 200, **extra: Any) -> ApiReply:
    """Slack's refusal: HTTP 200 (usually) with ``{"ok": false, "error": code}``."""
    return ApiReply(status, {"ok": False, "error": code, **extra})


def ratelimited(retry_after: str = "3") -> ApiReply:
    """What Slack answers past a method's rate limit."""
    return ApiReply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": retry_after})


def server_error(status: int = 500) -> ApiReply:
    """A failure in front of the API: an HTML page, not JSON."""
    return ApiReply(status, raw="<html><body>Internal Server Error</body></html>")


@dataclass(frozen=True)
class ApiCall:
    """One request as the stand-in received it."""

    method: str
    channel: str | None
    thread_ts: str | None
    payload: dict[str, Any]
    #: ``True`` when the request carried the stand-in's token
    authorized: bool
    #: the HTTP status it was answered with, and the ``error`` when it was refused
    status: int
    error: str | None


class SlackWebApiStandIn(LoopbackServer):
    def __init__(
        self,
        script: list[ApiReply | None] | None = None,
        *,
        token: str = TOKEN,
        channel_ids: dict[str, str] | None = None,
    ) -> None:
        self.script = list(script or [])
        self.token = token
        #: channel names (without ``#``) this workspace has, and their ids
        self.channel_ids = dict(channel_ids or {"reviews": "C0REVIEWS01"})
        self.calls: list[ApiCall] = []
        #: what each channel shows: (channel id, ts) -> the message as posted or last updated
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._ts = itertools.count(100, 100)
        self._lock = threading.Lock()
        super().__init__()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method == method]

    def answer(self, method: str, authorization: str, args: dict[str, Any]) -> ApiReply:
        with self._lock:
            scripted = self.script.pop(0) if self.script else None
            authorized = authorization == f"Bearer {self.token}"
            reply = scripted or self._answer(method, authorization, args)
            body = reply.body or {}
            self.calls.append(
                ApiCall(
                    method=method,
                    channel=args.get("channel"),
                    thread_ts=args.get("thread_ts"),
                    payload=args,
                    authorized=authorized,
                    status=reply.status,
                    error=None if body.get("ok") else str(body.get("error", reply.raw)),
                )
            )
            return reply

    def _answer(self, method: str, authorization: str, args: dict[str, Any]) -> ApiReply:
        if not authorization.startswith("Bearer "):
            return error("not_authed")
        if authorization != f"Bearer {self.token}":
            return error("invalid_auth")
        methods = {
            "chat.postMessage": self._post,
            "chat.update": self._update,
            "conversations.open": self._open,
            "conversations.replies": self._replies,
        }
        answer = methods.get(method)
        return answer(args) if answer else error("unknown_method", 404)

    def _replies(self, args: dict[str, Any]) -> ApiReply:
        """The thread's parent (``limit=1``, ``inclusive``), as the channel shows it now."""
        channel_id = self._channel_id(str(args.get("channel", "")))
        message = self.messages.get((channel_id or "", str(args.get("ts", ""))))
        if message is None:
            return error("thread_not_found")
        return ApiReply(body={"ok": True, "messages": [message], "has_more": False})

    def _open(self, args: dict[str, Any]) -> ApiReply:
        users = str(args.get("users", ""))
        if not users.startswith("U"):
            return error("user_not_found")
        return ApiReply(body={"ok": True, "channel": {"id": "D" + users[1:]}})

    def _channel_id(self, channel: str) -> str | None:
        if channel.startswith("#"):
            return self.channel_ids.get(channel[1:])
        return channel if channel[:1] in ("C", "G", "D") else None

    def _post(self, args: dict[str, Any]) -> ApiReply:
        channel_id = self._channel_id(str(args.get("channel", "")))
        if channel_id is None:
            return error("channel_not_found")
        if not (args.get("text") or args.get("attachments") or args.get("blocks")):
            return error("no_text")
        ts = f"1700000000.{next(self._ts):06d}"
        message = {"type": "message", "bot_id": BOT_ID, "ts": ts, "text": args.get("text", "")}
        for key in ("attachments", "blocks", "thread_ts"):
            if key in args:
                message[key] = args[key]
        self.messages[(channel_id, ts)] = message
        return ApiReply(body={"ok": True, "channel": channel_id, "ts": ts, "message": message})

    def _update(self, args: dict[str, Any]) -> ApiReply:
        channel_id = self._channel_id(str(args.get("channel", "")))
        if channel_id is None:
            return error("channel_not_found")
        key = (channel_id, str(args.get("ts", "")))
        if key not in self.messages:
            return error("message_not_found")
        changes: dict[str, Any] = {k: args[k] for k in ("text", "attachments", "blocks") if k in args}
        message = {**self.messages[key], **changes}
        self.messages[key] = message
        return ApiReply(
            body={
                "ok": True,
                "channel": channel_id,
                "ts": key[1],
                "text": message["text"],
                "message": message,
            }
        )

    def start(self) -> Self:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length).decode()
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    args = json.loads(raw)
                else:
                    args = dict(parse_qsl(raw))
                method = self.path.split("?", 1)[0].rsplit("/", 1)[-1]
                reply = stand_in.answer(method, self.headers.get("Authorization", ""), args)
                data = (reply.raw if reply.raw is not None else json.dumps(reply.body)).encode()
                content_type = "text/html" if reply.raw is not None else "application/json; charset=utf-8"
                time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up waiting
                    self.close_connection = True

            def log_message(self, *args: Any) -> None:
                return

        self.serve(Handler)
        return self


@contextmanager
def running(script: list[ApiReply | None] | None = None, **kwargs: Any) -> Iterator[SlackWebApiStandIn]:
    stand_in = SlackWebApiStandIn(script, **kwargs).start()
    try:
        yield stand_in
    finally:
        stand_in.stop()
