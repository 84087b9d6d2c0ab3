"""The Slack app's front door: ``handler.chat.lambda_handler``, behind a Lambda function URL.

Two kinds of event reach it:

* a function-URL request from Slack (slash command, button, modal, Events API callback):
  verified, then acknowledged within Slack's 3 seconds (:mod:`handler.actions.front_door`); what
  takes longer is handed to a second, asynchronous invocation of this same function;
* that hand-over, ``{"codecommit_chat": {...}}``: run as the person, the outcome told privately
  (:mod:`handler.actions.work`).

Why not slack-bolt: Bolt's Lambda adapter does the same (verify, ack, lazy listeners through an
asynchronous self-invoke), but imports boto3 and the whole Slack SDK on every cold start; this
entry imports only what the acknowledgement needs and is measured against a minimal Bolt app in
``make bench`` (docs/chat.md, "Why not Bolt"). The refusal paths are ours and tested.

Everything is read once per container: the settings, the signing secret (re-read at most once a
minute when a signature does not match, so a rotated secret needs no redeploy), the clients.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from handler.actions.front_door import WORK_KEY, FrontDoor, acknowledge
from handler.deadline import Deadline
from handler.inbound import response
from handler.inbound.request import FunctionUrlRequest
from handler.inbound.slack import SIGNING_SECRET_KEY
from handler.metrics import Metrics, for_front_door
from handler.settings import Settings

log = logging.getLogger(__name__)

#: The secret's key holding the GitHub token for ``github-dispatch`` deploys.
GITHUB_TOKEN_KEY = "github-token"
#: How long a signing secret read is trusted when a signature fails to match.
SECRET_RECHECK_SECONDS = 60.0


class ChatRuntime:
    """The deployed function's edges, made on first use and kept for the container's life."""

    def __init__(self, settings: Settings, environ: Mapping[str, str]) -> None:
        self.settings = settings
        self.environ = environ
        self.region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self._session: Any = None
        self._full_session: Any = None
        self._clients: dict[str, Any] = {}
        self._secret: dict[str, str] | None = None
        self._secret_read_at = 0.0
        self._apps: dict[str, Any] = {}

    # -- the acknowledgement's edges -------------------------------------------------------
    def client(self, service: str) -> Any:
        """A client with the function's own credentials (Secrets Manager, Lambda, DynamoDB)."""
        if service not in self._clients:
            if self._session is None:
                from handler.aws.clients import trimmed_session

                self._session = trimmed_session()
            from botocore.config import Config

            config = Config(
                connect_timeout=2, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"}
            )
            self._clients[service] = self._session.create_client(
                service, region_name=self.region, config=config
            )
        return self._clients[service]

    def secret(self) -> dict[str, str]:
        """The JSON secret's string values (read once; see :data:`SECRET_RECHECK_SECONDS`)."""
        if self._secret is None:
            arn = self.settings.webhook_secret_arn
            if not arn:
                log.error("SLACK_WEBHOOK_SECRET_ARN is not set: every request is refused")
                self._secret = {}
            else:
                text = self.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
                document = json.loads(text) if text.strip().startswith("{") else {}
                self._secret = {str(k): v for k, v in document.items() if isinstance(v, str)}
                if SIGNING_SECRET_KEY not in self._secret:
                    log.error("the secret has no %r key: every request is refused", SIGNING_SECRET_KEY)
            self._secret_read_at = time.monotonic()
        return self._secret

    def signing_secret(self) -> str:
        """The signing secret."""
        return self.secret().get(SIGNING_SECRET_KEY, "")

    def maybe_reread(self) -> None:
        """After a mismatch: forget the secret if it was read over a minute ago (rotation)."""
        if time.monotonic() - self._secret_read_at > SECRET_RECHECK_SECONDS:
            self._secret = None

    def hand_on(self, function_name: str) -> Callable[[dict[str, Any]], None]:
        """Lambda Invoke of this function, ``InvocationType`` ``Event``, with the work."""

        def invoke(work: dict[str, Any]) -> None:
            payload = json.dumps({WORK_KEY: work}, separators=(",", ":")).encode()
            self.client("lambda").invoke(FunctionName=function_name, InvocationType="Event", Payload=payload)

        return invoke

    def slack_app(self, destination: str | None) -> Any:
        """The bot of ``destination`` (or of the one interactive slack-app destination)."""
        from handler.deliver.destinations import SecretMap
        from handler.deliver.slack_app import SlackApp

        chosen = self._destination(destination)
        if chosen.name not in self._apps:
            secrets = SecretMap(self.secret())
            token = secrets.value_for(chosen)
            self._apps[chosen.name] = SlackApp(token, base_url=self.settings.slack_api_url)
        return self._apps[chosen.name]

    def _destination(self, name: str | None) -> Any:
        from handler.errors import ConfigurationError

        interactive = [d for d in self.settings.destinations.values() if d.interactive]
        named = [d for d in interactive if d.name == name]
        if named:
            return named[0]
        if interactive:
            return interactive[0]
        raise ConfigurationError(
            'no slack-app destination has "interactive": true in DESTINATIONS; the chat function '
            "needs one (its bot token answers the person)"
        )

    def open_modal(self, destination: str, trigger_id: str, view: dict[str, Any]) -> None:
        """``views.open`` now: the trigger id is good for 3 seconds only."""
        self.slack_app(destination).call(
            "views.open", deadline=Deadline(lambda: 2_500.0, 0.0), trigger_id=trigger_id, view=view
        )

    # -- the work's edges --------------------------------------------------------------------
    def acting_client(self, service: str, region: str, credentials: dict[str, str] | None) -> Any:
        """A client with the full service model (the actor's CodeCommit calls) under
        ``credentials``, or with the function's own (STS)."""
        import botocore.session
        from botocore.config import Config

        if self._full_session is None:
            self._full_session = botocore.session.get_session()
        config = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 4, "mode": "standard"})
        return self._full_session.create_client(
            service, region_name=region, config=config, **(credentials or {})
        )


_runtime: ChatRuntime | None = None


def runtime() -> ChatRuntime:
    """The container's runtime (settings read and checked once)."""
    global _runtime  # noqa: PLW0603 (one per warm container: cached clients and secret)
    if _runtime is None:
        _runtime = ChatRuntime(Settings.from_environ(os.environ), os.environ)
    return _runtime


def lambda_handler(event: Any, context: Any) -> Any:
    """Entry point (handler string ``handler.chat.lambda_handler``); its metrics (``ColdStart``,
    ``EventsReceived`` by kind, refusals as ``Dropped``) are written after each invocation."""
    metrics = for_front_door("chat", os.environ)
    try:
        return _handle(event, context, metrics)
    finally:
        metrics.flush()


def _handle(event: Any, context: Any, metrics: Metrics) -> Any:
    chat = runtime()
    if (
        isinstance(event, Mapping)
        and isinstance(event.get(WORK_KEY), Mapping)
        and "requestContext" not in event
    ):
        metrics.event("slack", "work")
        run_work(event[WORK_KEY], chat)
        return {"ok": True}
    metrics.event("slack", "request")
    request = FunctionUrlRequest(event if isinstance(event, Mapping) else {})
    if not request.is_function_url:
        log.warning("an event that is neither a function-URL request nor chat work: ignored")
        return response.text(400, "bad request")
    function_name = (
        getattr(context, "invoked_function_arn", None)
        or os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        or os.environ.get("NOTIFIER_FUNCTION_NAME", "")
    )
    door = FrontDoor(
        signing_secret=chat.signing_secret,
        team_id=chat.settings.slack_team_id,
        hand_on=chat.hand_on(str(function_name)),
        open_modal=chat.open_modal,
        clock=time.time,
    )
    answer = acknowledge(request, door)
    if answer["statusCode"] == 401:
        chat.maybe_reread()
    if answer["statusCode"] in (401, 403):
        metrics.outcome("dropped", "slack")
    return answer


class _AppSlackEdges:
    """:class:`~handler.actions.work.SlackEdges` through the interactive destination's bot."""

    def __init__(self, chat: ChatRuntime, destination: str | None) -> None:
        self._chat = chat
        self._destination = destination

    def _call(self, method: str, **arguments: Any) -> dict[str, Any]:
        app = self._chat.slack_app(self._destination)
        result: dict[str, Any] = app.call(method, deadline=Deadline(lambda: 20_000.0, 0.0), **arguments)
        return result

    def respond(self, response_url: str, text: str, *, public: bool = False) -> None:
        from handler.deliver.slack_responses import respond

        respond(response_url, text, public=public)

    def post_ephemeral(self, channel: str, user: str, text: str, thread_ts: str | None) -> None:
        extra = {"thread_ts": thread_ts} if thread_ts else {}
        self._call("chat.postEphemeral", channel=channel, user=user, text=text, **extra)

    def update(self, channel: str, ts: str, payload: dict[str, Any]) -> None:
        self._call("chat.update", channel=channel, ts=ts, **payload)

    def parent(self, channel: str, thread_ts: str) -> Mapping[str, Any] | None:
        answer = self._call("conversations.replies", channel=channel, ts=thread_ts, limit=1, inclusive=True)
        messages = answer.get("messages") or []
        first = messages[0] if messages and isinstance(messages[0], Mapping) else None
        return first if first is not None and first.get("ts") == thread_ts else None

    def react(self, channel: str, ts: str, name: str) -> None:
        self._call("reactions.add", channel=channel, timestamp=ts, name=name)


def run_work(work: Mapping[str, Any], chat: ChatRuntime) -> None:
    """Finish handed-on work as the person (:func:`handler.actions.work.finish`)."""
    from handler.actions.assume import AssumedRoleContext
    from handler.actions.session import ChatSettings
    from handler.actions.work import WorkEdges, finish
    from handler.errors import ConfigurationError
    from handler.pull_requests.settings import load_user_map
    from handler.render.actions import parse_value
    from handler.state import StateStore

    settings = chat.settings
    role_arn = settings.chat_actor_role_arn
    if not role_arn:
        raise ConfigurationError("CHAT_ACTOR_ROLE_ARN is not set: chat actions cannot run as anyone")
    watched = settings.watched_repositories
    chat_settings = ChatSettings(
        permissions=settings.chat_permissions,
        watched=None if "*" in watched else frozenset(watched),
        destinations=settings.destinations,
        user_map=load_user_map(chat.environ, None),
    )
    state: StateStore
    if settings.state_table_name:
        from handler.state.dynamodb import DynamoDBStore

        state = DynamoDBStore(chat.client("dynamodb"), settings.state_table_name)
    else:
        from handler.state.memory import MemoryStore

        state = MemoryStore()
    target = parse_value(work.get("value"))
    edges = WorkEdges(
        settings=chat_settings,
        clients_as=lambda actor: AssumedRoleContext(actor, role_arn, chat.acting_client).client,
        slack=_AppSlackEdges(chat, target.destination if target is not None else None),
        state=state,
        region=chat.region,
        clock=time.time,
        github_token=lambda: chat.secret().get(GITHUB_TOKEN_KEY, ""),
    )
    reply = finish(work, edges)
    log.info(
        "chat %s %s: %s", work.get("kind"), work.get("name", ""), "done" if reply and reply.ok else "refused"
    )
