"""The chat part of ``make demo``: review from Slack, locally, with no Slack and no AWS.

The loop, each step through the code the deployed functions run:

1. a pull request is opened: the notifier's pull-request pipeline posts it to an interactive
   ``slack-app`` destination (a Slack Web API stand-in on 127.0.0.1); the message carries buttons;
2. Bob clicks Approve: a stand-in Slack signs the click; the chat front door verifies it,
   acknowledges it and hands the work on; the work runs as Bob (an assumed-role session the
   CodeCommit stand-in records) and the thread's parent is rewritten to the new state;
3. Bob replies in the thread: the reply becomes a comment as Bob (``clientRequestToken`` = the
   event id, so Slack's retry makes no second one), gets a ✅ reaction, and the comment's own
   EventBridge event is not echoed back into the thread;
4. Ana clicks Approve on her own pull request: refused, privately, nothing recorded;
5. a forged click (wrong signing secret): 401, nothing handed on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any, TextIO
from urllib.parse import urlencode

SIGNING_SECRET = "demo-signing-secret-not-a-real-one"
TEAM = "T0DEMO001"
APP_ID = "A0DEMOAPP"
CHANNEL = "C0DEMOREVIEWS"
ACTOR_ROLE = "arn:aws:iam::123456789012:role/CodeCommitChatActor"
DESTINATIONS = {
    "reviews": {"type": "slack-app", "channel": CHANNEL, "interactive": True, "merge_strategy": "squash"}
}


class DemoSlack:
    """The channel as Slack would hold it, and the work's Slack edges over it (printing each call)."""

    def __init__(self, out: TextIO, say: Any) -> None:
        self.messages: dict[str, dict[str, Any]] = {}
        self.out = out
        self.say = say

    def respond(self, response_url: str, text: str, *, public: bool = False) -> None:
        self.say(f"  → {'the channel' if public else 'only the clicker'} sees: {text}")

    def post_ephemeral(self, channel: str, user: str, text: str, thread_ts: str | None) -> None:
        self.say(f"  → only {user} sees (in the thread): {text}")

    def update(self, channel: str, ts: str, payload: dict[str, Any]) -> None:
        self.messages[ts] = {**payload, "ts": ts, "bot_id": "B0DEMO", "app_id": APP_ID}
        status = [a.get("text", "") for a in payload.get("attachments", []) if "blocks" not in a][-1:]
        self.say(f"  → chat.update of the thread's parent: its last line now reads {status}")
        self.say(f"    buttons: {self.buttons(ts)}")

    def parent(self, channel: str, thread_ts: str) -> Mapping[str, Any] | None:
        return self.messages.get(thread_ts)

    def react(self, channel: str, ts: str, name: str) -> None:
        self.say(f"  → reactions.add :{name}: on the reply {ts}")

    def show(self, ts: str) -> None:
        from handler.preview import describe

        message = self.messages[ts]
        shown = {**message, "attachments": [a for a in message.get("attachments", []) if "blocks" not in a]}
        self.say("    " + describe(shown).replace("\n", "\n    "))
        self.say(f"    buttons: {self.buttons(ts)}")

    def buttons(self, ts: str) -> str:
        labels = [
            element["text"]["text"]
            for attachment in self.messages[ts].get("attachments", [])
            for block in attachment.get("blocks", [])
            for element in block.get("elements", [])
        ]
        return " · ".join(f"[{label}]" for label in labels) or "none"


def _signed(body: str, content_type: str, secret: str = SIGNING_SECRET) -> dict[str, Any]:
    from handler.inbound.slack import signature

    timestamp = str(int(time.time()))
    return {
        "headers": {
            "content-type": content_type,
            "x-slack-request-timestamp": timestamp,
            "x-slack-signature": signature(secret, timestamp, body.encode()),
        },
        "requestContext": {"http": {"method": "POST"}},
        "body": body,
        "isBase64Encoded": False,
    }


def _click(user: str, message: Mapping[str, Any], ts: str, value: str) -> str:
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM},
        "user": {"id": user},
        "api_app_id": APP_ID,
        "response_url": "https://hooks.slack.com/actions/T0DEMO001/1/demo",
        "container": {"type": "message", "channel_id": CHANNEL, "message_ts": ts},
        "message": dict(message),
        "actions": [{"action_id": "codecommit_approve", "value": value, "type": "button"}],
    }
    return urlencode({"payload": json.dumps(payload)})


def run_chat_demo(out: TextIO, *, json_only: bool = False) -> int:  # noqa: PLR0915 (one story, top to bottom)
    """Play the loop; print each step; return how many steps ended as the demo expects."""
    from handler.actions.assume import AssumedRoleContext
    from handler.actions.front_door import FrontDoor, acknowledge
    from handler.actions.session import ChatSettings
    from handler.actions.work import WorkEdges, finish
    from handler.app import process_event
    from handler.deadline import Deadline
    from handler.deliver.webhook_url import DestinationSecrets
    from handler.demos.delivery import SecretsInMemory
    from handler.demos.pull_requests import (
        ANA,
        DEMO_USER_MAP,
        DESTINATION,
        REPOSITORY,
        REVISION,
        SOURCE_2,
        ScriptedPullRequestReader,
        demo_steps,
        eventbridge_event,
    )
    from handler.demos.review_api import ReviewBook, StoredPullRequest, StsStandIn, stand_in_clients
    from handler.inbound.request import FunctionUrlRequest
    from handler.preview import capture_slack_api
    from handler.pull_requests.people import UserMap
    from handler.pull_requests.settings import PullRequestSettings
    from handler.render.actions import target_in
    from handler.runtime import PullRequestRuntime, Runtime
    from handler.settings import Settings
    from handler.state.memory import MemoryStore

    def say(text: str) -> None:
        if not json_only:
            print(text, file=out)

    say(
        "\n\nReview from Slack (the chat front door, handler.chat): buttons on the pull request, a "
        "signed click, the approval made as the person, a thread reply turned into a comment."
    )
    ok = 0
    user_map = UserMap.parse(json.dumps(DEMO_USER_MAP))
    reader = ScriptedPullRequestReader()
    _, show_ready, _ = demo_steps(reader)[1]
    show_ready()
    ready = reader.details["42"].snapshot
    state = MemoryStore()
    slack = DemoSlack(out, say)
    book = ReviewBook()
    book.add(
        StoredPullRequest(
            "42", REPOSITORY, ready.title, ANA, SOURCE_2, DESTINATION, REVISION, approvals_needed=2
        )
    )
    sts = StsStandIn()
    base = stand_in_clients(book, sts)
    edges = WorkEdges(
        settings=ChatSettings(
            watched=frozenset({REPOSITORY}),
            destinations=Settings.from_environ({"DESTINATIONS": json.dumps(DESTINATIONS)}).destinations,
            user_map=user_map,
        ),
        clients_as=lambda actor: AssumedRoleContext(actor, ACTOR_ROLE, base).client,
        slack=slack,
        state=state,
        region="eu-west-1",
        clock=time.time,
    )
    handed_on: list[dict[str, Any]] = []
    door = FrontDoor(
        signing_secret=lambda: SIGNING_SECRET,
        team_id=TEAM,
        hand_on=handed_on.append,
        open_modal=lambda *_: None,
        clock=time.time,
    )
    settings = Settings.from_environ(
        {"DESTINATIONS": json.dumps(DESTINATIONS), "ROUTES": json.dumps({"routes": [{"to": ["reviews"]}]})}
    )
    pull_request_settings = PullRequestSettings(user_map=user_map)

    with capture_slack_api() as (api_url, calls):
        runtime = Runtime(
            settings=settings,
            reader_for=lambda repository: _no_commits(),
            secrets=DestinationSecrets(
                url=None,
                secret_arn="demo",
                secrets_client=lambda region: SecretsInMemory({"reviews": "xoxb-demo-token"}),
            ),
            state=state,
            pull_requests=PullRequestRuntime(
                load_settings=lambda: pull_request_settings, reader_for=lambda repository: reader, state=state
            ),
            slack_api_url=api_url,
        )
        from handler.demos.pull_requests import state_event

        say("\n══ chat 1: a pull request is opened; the interactive destination's message has buttons ══")
        process_event(state_event(ready, "pullRequestCreated", ANA), runtime, Deadline(None))
        [post] = [call for call in calls if call.method == "chat.postMessage"]
        parent_ts = post.ts
        slack.messages[parent_ts] = {**post.arguments, "ts": parent_ts, "bot_id": "B0DEMO", "app_id": APP_ID}
        slack.show(parent_ts)
        target = target_in(slack.messages[parent_ts])
        ok += target is not None

        say("\n══ chat 2: Bob clicks Approve (a signed request from the stand-in Slack) ══")
        started = time.perf_counter()
        body = _click("U0BOB0001", slack.messages[parent_ts], parent_ts, target.value() if target else "")
        answer = acknowledge(FunctionUrlRequest(_signed(body, "application/x-www-form-urlencoded")), door)
        say(
            f"  front door: {answer['statusCode']} in {(time.perf_counter() - started) * 1000:.1f} ms; "
            f"work handed on ({len(handed_on)} asynchronous invocation)"
        )
        finish(handed_on.pop(), edges)
        approvals = book.pull_requests["42"].approvals
        say(f"  CodeCommit stand-in recorded: {json.dumps(approvals)}")
        assumed = sts.calls[-1]
        say(f"  STS stand-in: AssumeRole {assumed['RoleArn']}")
        say(f"    session {assumed['RoleSessionName']!r}, SourceIdentity {assumed['SourceIdentity']!r}")
        ok += approvals == {"arn:aws:sts::123456789012:assumed-role/CodeCommitChatActor/bob": "APPROVE"}

        say("\n══ chat 3: Bob replies in the thread; the reply becomes his comment, and is not echoed ══")
        event = {
            "type": "message",
            "user": "U0BOB0001",
            "channel": CHANNEL,
            "ts": "1700000999.000100",
            "thread_ts": parent_ts,
            "text": "Nice work. Could the challenge expire after 5 minutes?",
        }
        callback = json.dumps(
            {
                "type": "event_callback",
                "team_id": TEAM,
                "api_app_id": APP_ID,
                "event_id": "Ev0DEMO1",
                "event": event,
            }
        )
        for attempt in ("first delivery", "Slack's retry (X-Slack-Retry-Num: 1)"):
            request = _signed(callback, "application/json")
            if attempt != "first delivery":
                request["headers"]["x-slack-retry-num"] = "1"
            acknowledge(FunctionUrlRequest(request), door)
            say(f"  {attempt}: acknowledged; work handed on")
            finish(handed_on.pop(), edges)
        say(
            f"  CodeCommit stand-in holds {len(book.comments)} comment(s): "
            + json.dumps(list(book.comments.values()))
        )
        (comment,) = book.comments.values()
        calls.clear()
        echo = eventbridge_event(
            "CodeCommit Comment on Pull Request",
            {
                "afterCommitId": SOURCE_2,
                "beforeCommitId": DESTINATION,
                "callerUserArn": comment["authorArn"],
                "commentId": comment["commentId"],
                "event": "commentOnPullRequestCreated",
                "pullRequestId": "42",
                "repositoryName": REPOSITORY,
            },
            "demo-chat-comment",
        )
        outcome = process_event(echo, runtime, Deadline(None))
        say(
            f"  the comment's own EventBridge event through the notifier: {outcome.get('delivered', 0)} "
            f"posted, {len(calls)} Slack calls"
        )
        ok += len(book.comments) == 1 and not calls and not outcome.get("delivered")

        say("\n══ chat 4: Ana clicks Approve on her own pull request ══")
        before = dict(book.pull_requests["42"].approvals)
        body = _click("U0ANA0001", slack.messages[parent_ts], parent_ts, target.value() if target else "")
        acknowledge(FunctionUrlRequest(_signed(body, "application/x-www-form-urlencoded")), door)
        reply = finish(handed_on.pop(), edges)
        ok += reply is not None and not reply.ok and book.pull_requests["42"].approvals == before

        say("\n══ chat 5: a forged click (signed with the wrong secret) ══")
        forged = _signed(body, "application/x-www-form-urlencoded", secret="guessed")
        answer = acknowledge(FunctionUrlRequest(forged), door)
        say(f"  front door: {answer['statusCode']} {answer['body']}; work handed on: {len(handed_on)}")
        ok += answer["statusCode"] == 401 and not handed_on
    say(f"\nchat demo: {ok} of 5 steps as expected")
    return ok


def _no_commits() -> Any:
    raise AssertionError("the chat demo reads no commits")
