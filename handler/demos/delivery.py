"""The destinations part of ``make demo``: one push and one pull request routed to three places.

Routes (the same ``ROUTES``/``DESTINATIONS`` a deployment takes from CDK context)::

    pushes                       → default (a Slack webhook) and team-mm (a Mattermost webhook)
    pull requests, approvals     → team-mm and reviews (a Slack app: one thread per pull request)

Everything runs through :func:`handler.app.process_event` against loopback stand-ins: two
capture webhooks and a Slack Web API (:func:`handler.preview.capture_slack_api`). The secret map
the deployed function would read from Secrets Manager is handed over in memory.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TextIO

from handler.model import Repository

ROUTES = {
    "routes": [
        {"events": ["push", "branch_created", "tag"], "to": ["default", "team-mm"]},
        {"events": ["pull_request", "comment", "approval"], "to": ["team-mm", "reviews"]},
    ],
    "filters": [{"refs": ["dependabot/*"]}],
}
DESTINATIONS = {
    "team-mm": {"type": "mattermost-webhook"},
    "reviews": {"type": "slack-app", "channel": "C0DEMOREVIEWS", "direct_messages": True},
}


class SecretsInMemory:
    """Stands in for Secrets Manager: the one secret, a JSON map of destination → URL or token."""

    def __init__(self, secret: dict[str, str]) -> None:
        self._secret = json.dumps(secret)

    def get_secret_value(self, SecretId: str) -> dict[str, str]:  # noqa: N803 (botocore's argument name)
        return {"SecretString": self._secret}


def run_destinations_demo(
    out: TextIO,
    *,
    push_event: dict[str, Any],
    reader_for: Callable[[Repository], Any],
    json_only: bool = False,
) -> int:
    """Route ``push_event`` and a pull request's opened → approved → merged events; print what each
    destination got; return how many messages and API calls were made."""
    from handler.app import process_event
    from handler.deadline import Deadline
    from handler.deliver.webhook_url import DestinationSecrets
    from handler.demos.pull_requests import DEMO_USER_MAP, ScriptedPullRequestReader, demo_steps
    from handler.preview import capture_slack_api, capture_webhook, describe
    from handler.pull_requests.people import UserMap
    from handler.pull_requests.settings import PullRequestSettings
    from handler.runtime import PullRequestRuntime, Runtime
    from handler.settings import Settings
    from handler.state.memory import MemoryStore

    settings = Settings.from_environ({"DESTINATIONS": json.dumps(DESTINATIONS), "ROUTES": json.dumps(ROUTES)})
    reader = ScriptedPullRequestReader()
    pull_request_settings = PullRequestSettings(user_map=UserMap.parse(json.dumps(DEMO_USER_MAP)))

    def say(text: str) -> None:
        if not json_only:
            print(text, file=out)

    say(
        "\n\nDestinations and routing: pushes go to a Slack webhook and a Mattermost webhook; pull "
        "requests go to Mattermost and to a Slack app, which keeps each pull request in one thread. "
        "Ana has a handle in both products, so each mentions her its own way."
    )
    count = 0
    with (
        capture_webhook() as (slack_url, to_slack),
        capture_webhook() as (mm_url, to_mattermost),
        capture_slack_api() as (api_url, calls),
    ):
        secret = {"default": slack_url, "team-mm": mm_url, "reviews": "xoxb-demo-token"}
        runtime = Runtime(
            settings=settings,
            reader_for=reader_for,
            secrets=DestinationSecrets(
                url=None, secret_arn="demo-secret", secrets_client=lambda region: SecretsInMemory(secret)
            ),
            state=MemoryStore(),
            pull_requests=PullRequestRuntime(
                load_settings=lambda: pull_request_settings, reader_for=lambda repository: reader
            ),
            slack_api_url=api_url,
        )
        steps: list[tuple[str, Callable[[], object], dict[str, Any]]] = [("a push", lambda: None, push_event)]
        wanted = ("a draft", "the title", "Bob comments", "Bob approves", "Bob merges")
        steps += [step for step in demo_steps(reader) if step[0].startswith(wanted)]
        for title, change, event in steps:
            change()
            process_event(event, runtime, Deadline(None))
            say(f"\n══ {title} " + "═" * max(0, 66 - len(title)))
            for payload in to_slack:
                count += 1
                _show(out, "default (Slack webhook)", payload, json_only, describe)
            for payload in to_mattermost:
                count += 1
                _show(out, "team-mm (Mattermost webhook; the Markdown as sent)", payload, json_only, None)
            for call in calls:
                count += 1
                _show_call(out, call, json_only, describe)
            to_slack.clear()
            to_mattermost.clear()
            calls.clear()
    return count


def _show(out: TextIO, where: str, payload: dict[str, Any], json_only: bool, describe: Any) -> None:
    if json_only:
        print(json.dumps({"destination": where, "payload": payload}, ensure_ascii=False), file=out)
        return
    print(f"\n→ {where}", file=out)
    if describe is not None:
        print(describe(payload), file=out)
        return
    print(payload["text"], file=out)
    for attachment in payload.get("attachments", []):
        for key in ("pretext", "author_name", "title", "title_link", "text", "footer"):
            if attachment.get(key):
                shown = f"↳ {attachment[key]}" if key == "title_link" else attachment[key]
                print(f"  {shown}".replace("\n", "\n  "), file=out)


def _show_call(out: TextIO, call: Any, json_only: bool, describe: Any) -> None:
    arguments = call.arguments
    if json_only:
        print(json.dumps({"destination": "reviews", "method": call.method, "arguments": arguments}), file=out)
        return
    if call.method == "conversations.open":
        print(f"\n→ reviews (Slack app): conversations.open with {arguments.get('users')}", file=out)
        return
    where = arguments.get("channel", "")
    if call.method == "chat.update":
        action = f"chat.update of the thread's first message (ts {arguments.get('ts')}) in {where}"
    elif arguments.get("thread_ts"):
        action = (
            f"chat.postMessage in {where}, a reply in the thread of {arguments['thread_ts']} (ts {call.ts})"
        )
    else:
        action = f"chat.postMessage in {where}, a new message (ts {call.ts})"
    print(f"\n→ reviews (Slack app): {action}", file=out)
    attachments = arguments.get("attachments")
    payload = {
        "text": arguments.get("text", ""),
        "attachments": json.loads(attachments) if isinstance(attachments, str) else attachments or [],
    }
    print(describe(payload), file=out)
