"""The Slack-app thread as a golden: a pull request's parent message (its state line, kept
current by ``chat.update``) and the replies under it, after it is opened, approved and merged.

``docs/screenshots.py`` draws it (docs/img/pull_requests/slack_app_thread.png). Rewrite it with
``UPDATE_GOLDEN=1`` like the other goldens, and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.pull_request_scenarios import BOB
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


def _shown(message: dict[str, object]) -> dict[str, object]:
    """What a reader sees of a stored message (not the stand-in's bookkeeping)."""
    return {key: message[key] for key in ("text", "attachments") if key in message}
