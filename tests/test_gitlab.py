"""GitLab as a second source: GitLab's documented payloads through the same renderers, routing and state.

Each event type and action the notifier reports has a test here, fed by the verbatim payloads
under tests/fixtures/gitlab/ (and the variants SOURCES.md lists) and posted to a Slack or
Mattermost stand-in on loopback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from handler.app import Runtime
from handler.deadline import Deadline
from handler.pipelines.gitlab import process_gitlab_event
from handler.pull_requests.people import UserMap
from handler.pull_requests.pipeline import offline_runtime
from handler.pull_requests.settings import PullRequestSettings
from handler.settings import Settings
from handler.state.memory import MemoryStore
from tests.conftest import FIXTURES, local_runtime
from tests.standins import mattermost, slack

EVENTS = {
    "push": "Push Hook",
    "tag_push": "Tag Push Hook",
    "merge_request": "Merge Request Hook",
    "note": "Note Hook",
    "pipeline": "Pipeline Hook",
}
USER_MAP = UserMap.parse(json.dumps({"root": "U0ROOT0001", "user1": "U0USER0001", "jsmith": "U0JSMITH01"}))


def payload(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / "gitlab" / f"{name}.json").read_text())
    return loaded


def envelope(name: str, delivery: str = "") -> dict[str, Any]:
    body = payload(name)
    kind = next(key for key in ("tag_push", "note", "push", "merge_request", "pipeline") if key in name)
    return {"source": "gitlab", "event": EVENTS[kind], "delivery": delivery or f"delivery-{name}", "payload": body}


class Channel:
    """A runtime posting to a stand-in, with state in memory, and what reached the channel."""

    def __init__(self, stand_in: slack.SlackStandIn, store: MemoryStore) -> None:
        self.stand_in = stand_in
        self.runtime: Runtime = local_runtime(reader=None, webhook_url=stand_in.url)  # type: ignore[arg-type]
        self.runtime.state = store
        self.runtime.pull_requests = offline_runtime(PullRequestSettings(user_map=USER_MAP))
        self.runtime.pull_requests.state = store

    def play(self, name: str, delivery: str = "") -> dict[str, int]:
        return process_gitlab_event(envelope(name, delivery), self.runtime, Deadline(None))

    @property
    def texts(self) -> list[str]:
        return [json.dumps(post, ensure_ascii=False) for post in self.stand_in.delivered]


@pytest.fixture
def channel() -> Iterator[Channel]:
    with slack.running() as stand_in:
        yield Channel(stand_in, MemoryStore())


@pytest.fixture
def mattermost_channel() -> Iterator[Channel]:
    with mattermost.running() as stand_in:
        yield Channel(stand_in, MemoryStore())


def test_push_lists_the_payloads_commits_newest_first_with_a_gitlab_compare_link(channel: Channel) -> None:
    assert channel.play("gitlabdoc_push") == {"delivered": 1}
    [post] = channel.stand_in.delivered
    text = post["text"]
    compare = "http://example.com/mike/diaspora/-/compare/95790bf891e76fee5e1747ab589903a6a1f80f22...da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
    assert f"<{compare}|4 new commits>" in text
    assert "John Smith" in text and "<http://example.com/mike/diaspora|mike/diaspora>" in text
    body = post["attachments"][0]["text"]
    assert body.index("fixed readme") < body.index("Update Catalan translation")
    assert "http://example.com/mike/diaspora/-/commit/da1560886d4f094c3e6c9ef40349f7d38b5d27d7" in body
    assert "2 more" in body
    assert post["attachments"][-1]["footer"] == "GitLab · example.com"
