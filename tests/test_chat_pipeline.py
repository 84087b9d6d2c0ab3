"""The notifier's side of chat: buttons on the thread's parent for an interactive destination, and
no echo of a comment made from a Slack thread (handler/pipelines/threads.py, pull_request.py)."""

# ruff: noqa: F811 (world and book are the routing tests' fixtures, imported so pytest finds them)
from __future__ import annotations

import json
import time

from handler.render.actions import target_in
from handler.sources.eventbridge import parse_activities
from handler.state.chat_comments import remember_chat_comment
from tests.test_routing_pipeline import (  # noqa: F401 (the fixtures world and book)
    APP_ROUTES,
    CHANNEL,
    DESTINATIONS,
    Book,
    World,
    book,
    lifecycle,
    merge,
    play,
    with_pull_requests,
    world,
)

INTERACTIVE: dict[str, object] = {
    **DESTINATIONS,
    "app": {
        "type": "slack-app",
        "channel": CHANNEL,
        "secret": "bot",
        "interactive": True,
        "merge_strategy": "squash",
    },
}


def test_an_interactive_destinations_parent_carries_the_buttons_until_merged(
    world: World, book: Book
) -> None:
    runtime = with_pull_requests(
        world.runtime(APP_ROUTES, environ={"DESTINATIONS": json.dumps(INTERACTIVE)}), book
    )
    stored, events = lifecycle(book, "70")
    play(runtime, events["opened"])
    [(channel, parent_ts)] = list(world.api.messages)
    target = target_in(world.api.messages[(channel, parent_ts)])
    assert target is not None
    assert (target.destination, target.repository, target.pull_request_id) == ("app", stored.repository, "70")
    assert target.revision_id == stored.revision_id

    book.stand_in.pull_requests.approve("70", "arn:aws:iam::111122223333:user/bob")
    play(runtime, events["approved"])
    assert target_in(world.api.messages[(CHANNEL, parent_ts)]) == target  # the updated card keeps them

    merge(book, stored)
    play(runtime, events["merged"])
    assert target_in(world.api.messages[(CHANNEL, parent_ts)]) is None  # merged: nothing to press


def test_a_destination_that_is_not_interactive_has_no_buttons(world: World, book: Book) -> None:
    runtime = with_pull_requests(world.runtime(APP_ROUTES), book)
    _, events = lifecycle(book, "71")
    play(runtime, events["opened"])
    assert all(target_in(message) is None for message in world.api.messages.values())


def test_a_comment_made_from_a_slack_thread_is_not_echoed(world: World, book: Book) -> None:
    routes = {"routes": [{"to": ["mm"]}]}
    runtime = with_pull_requests(world.runtime(routes), book)
    event = book.scenarios["comment_inline"].events[0]
    [activity] = parse_activities(event)
    assert activity.comment is not None
    assert runtime.pull_requests is not None and not callable(runtime.pull_requests)
    state = runtime.pull_requests.state
    assert state is not None
    remember_chat_comment(state, activity.comment.comment_id, int(time.time()))
    assert play(runtime, event) == {"delivered": 0, "filtered": 1}
    assert world.mm.delivered == []


def test_any_other_comment_is_posted(world: World, book: Book) -> None:
    runtime = with_pull_requests(world.runtime({"routes": [{"to": ["mm"]}]}), book)
    assert play(runtime, book.scenarios["comment_inline"].events[0]) == {"delivered": 1}
