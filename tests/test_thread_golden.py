"""The Slack-app thread as a golden: a pull request's parent message (its state line, kept
current by ``chat.update``) and the replies under it, after it is opened, approved and merged.

``docs/screenshots.py`` draws it (docs/img/pull_requests/slack_app_thread.png). Rewrite it with
``UPDATE_GOLDEN=1`` like the other goldens, and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from handler.render.actions import ACTIONS_BLOCK_ID, APPROVE, COMMENT, MERGE, REVOKE
from tests.pull_request_scenarios import BOB
from tests.test_chat_pipeline import INTERACTIVE
from tests.test_routing_pipeline import (
    APP_ROUTES,
    CHANNEL,
    Book,
    World,
    book,
    lifecycle,
    merge,
    parents,
    play,
    with_pull_requests,
    world,
)

GOLDEN = Path(__file__).parent / "golden" / "pull_requests" / "slack_app_thread.json"
#: The same thread on an ``"interactive": true`` destination, after it is opened and approved: the
#: parent carries Approve / Revoke / Merge / Comment (docs/chat.md).
WITH_BUTTONS = GOLDEN.with_name("slack_app_thread_with_buttons.json")
__all__ = ["book", "world"]  # the fixtures, imported so this module can use them


def test_a_pull_requests_thread_golden(world: World, book: Book) -> None:
    runtime = with_pull_requests(world.runtime(APP_ROUTES), book)
    stored, events = lifecycle(book, "60")
    assert play(runtime, events["opened"]) == {"delivered": 1}
    book.stand_in.pull_requests.approve("60", BOB)
    assert play(runtime, events["approved"]) == {"delivered": 1}
    merge(book, stored)
    assert play(runtime, events["merged"]) == {"delivered": 1}
    [parent_ts] = parents(world.api)
    replies = sorted(
        (ts, message)
        for (channel, ts), message in world.api.messages.items()
        if channel == CHANNEL and ts != parent_ts
    )
    thread = {
        "parent": _shown(world.api.messages[(CHANNEL, parent_ts)]),
        "replies": [_shown(message) for _, message in replies],
    }
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(thread, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert thread == json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert "Merged" in json.dumps(thread["parent"]) and len(thread["replies"]) == 2


def test_an_interactive_threads_golden_has_the_review_buttons_on_its_parent(world: World, book: Book) -> None:
    runtime = with_pull_requests(
        world.runtime(APP_ROUTES, environ={"DESTINATIONS": json.dumps(INTERACTIVE)}), book
    )
    _, events = lifecycle(book, "61")
    assert play(runtime, events["opened"]) == {"delivered": 1}
    book.stand_in.pull_requests.approve("61", BOB)
    assert play(runtime, events["approved"]) == {"delivered": 1}
    [parent_ts] = parents(world.api)
    replies = sorted(
        (ts, message)
        for (channel, ts), message in world.api.messages.items()
        if channel == CHANNEL and ts != parent_ts
    )
    thread = {
        "parent": _shown(world.api.messages[(CHANNEL, parent_ts)]),
        "replies": [_shown(message) for _, message in replies],
    }
    if os.environ.get("UPDATE_GOLDEN"):
        WITH_BUTTONS.write_text(json.dumps(thread, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert thread == json.loads(WITH_BUTTONS.read_text(encoding="utf-8"))
    assert _action_ids(thread["parent"]) == [APPROVE, REVOKE, MERGE, COMMENT]
    assert all(_action_ids(reply) == [] for reply in thread["replies"])


def _action_ids(message: Any) -> list[str]:
    """The action ids of the review buttons a message carries (its ``codecommit_pr_actions`` block)."""
    return [
        element["action_id"]
        for attachment in message.get("attachments", [])
        for block in attachment.get("blocks", [])
        if block.get("block_id") == ACTIONS_BLOCK_ID
        for element in block["elements"]
    ]


def _shown(message: dict[str, object]) -> dict[str, object]:
    """What a reader sees of a stored message (not the stand-in's bookkeeping)."""
    return {key: message[key] for key in ("text", "attachments") if key in message}
