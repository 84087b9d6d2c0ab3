"""handler/deliver/slack_responses.py and the work's use of it: a reply marked ``public`` is posted
to the channel (``in_channel``), every other reply only to the person (``ephemeral``)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from handler.actions.context import Reply
from handler.actions.work import WorkEdges, finish
from handler.deliver.slack_responses import respond
from handler.state.memory import MemoryStore
from tests.standins.slack import running
from tests.test_chat_actions import World


@pytest.mark.parametrize(("public", "kind"), [(False, "ephemeral"), (True, "in_channel")])
def test_respond_posts_ephemeral_unless_public(public: bool, kind: str) -> None:
    with running() as slack:
        assert respond(slack.url, "hello", public=public)
    assert slack.delivered == [{"response_type": kind, "text": "hello", "replace_original": False}]


def test_a_public_reply_reaches_the_channel_and_a_private_one_only_the_person(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reply.public (a deploy started, a stage rolled back) was never honoured: every reply went
    ephemeral. The work now tells the response_url which one it is."""
    from handler.actions import table

    monkeypatch.setitem(table.SUBCOMMANDS, "status", lambda session, args: Reply("started", public=True))
    monkeypatch.setitem(table.SUBCOMMANDS, "prs", lambda session, args: Reply("only you"))
    world = World()
    said: list[tuple[str, bool]] = []

    class Edges:
        def __getattr__(self, name: str) -> Any:
            return getattr(world.slack, name)

        def respond(self, response_url: str, text: str, *, public: bool = False) -> None:
            said.append((text, public))

    base = world.edges()
    edges = WorkEdges(
        settings=base.settings,
        clients_as=base.clients_as,
        slack=Edges(),
        state=MemoryStore(),
        region="eu-west-1",
        clock=time.time,
    )
    for name in ("status", "prs"):
        finish({"kind": "command", "name": name, "args": [], "user": "U0BOB0001", "response_url": "u"}, edges)
    assert said == [("started", True), ("only you", False)]
