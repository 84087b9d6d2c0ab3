"""A pull-request event's retry posts only what is missing (found by an adversarial review).

* An event that posts two messages ("ready for review", then "new commits"), whose second post
  fails: the retry posts only the second. Each message is marked on its own.
* A state write after a delivered post fails: the event does not raise, so no retry reposts it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest

from handler.app import process_event
from handler.deadline import Deadline
from handler.demos.pull_requests import ANA, SOURCE_2, ScriptedPullRequestReader, state_event
from handler.errors import DeliveryExhausted
from handler.pull_requests.model import PullRequestDetails
from handler.pull_requests.settings import PullRequestSettings
from handler.runtime import PullRequestRuntime
from handler.state import StateError
from handler.state.memory import MemoryStore
from tests.conftest import local_runtime
from tests.standins import slack
from tests.standins.slack import Reply
from tests.test_pull_request_pipeline import DRAFT


def runtime_for(url: str, store: MemoryStore, reader: ScriptedPullRequestReader) -> Any:
    runtime = local_runtime(None, url)  # type: ignore[arg-type]
    runtime.state = store
    runtime.pull_requests = PullRequestRuntime(load_settings=PullRequestSettings, reader_for=lambda r: reader)
    runtime.settings = replace(runtime.settings, delivery_max_attempts=1)
    return runtime


def test_a_failed_second_message_is_the_only_one_posted_again() -> None:
    store = MemoryStore()
    with slack.running([]) as stand_in:
        draft_reader = ScriptedPullRequestReader(details={"7": PullRequestDetails(DRAFT)})
        process_event(
            state_event(DRAFT, "pullRequestCreated", ANA),
            runtime_for(stand_in.url, store, draft_reader),
            Deadline(None),
        )
        assert stand_in.delivered == []  # a draft is not announced
    ready = replace(DRAFT, title="Cache", source_commit=SOURCE_2)
    # reopened with the marker gone: "ready for review" and "reopened", two messages from one event
    # (new commits would say nothing "ready" doesn't, and post alone)
    event = state_event(ready, "pullRequestStatusChanged", ANA)
    reader = ScriptedPullRequestReader(details={"7": PullRequestDetails(ready)})
    with slack.running([Reply(200), Reply(500)]) as stand_in:
        runtime = runtime_for(stand_in.url, store, reader)
        with pytest.raises(DeliveryExhausted):
            process_event(event, runtime, Deadline(None))
        process_event(event, runtime, Deadline(None))
        pretexts = [payload["attachments"][0]["pretext"] for payload in stand_in.delivered]
    assert pretexts == [":eyes: *Ready for review*", ":recycle: *Reopened*"], pretexts


class FailsOnce(MemoryStore):
    """Throttles the first write of a pull request's source commit (a write after the post)."""

    failed = False

    def put_new(self, key: str, attributes: Mapping[str, str | int], **kwargs: Any) -> Any:
        if key.startswith("pr#") and not self.failed:
            self.failed = True
            raise StateError("throttled")
        return super().put_new(key, attributes, **kwargs)


def test_a_failed_write_after_the_post_does_not_post_again() -> None:
    opened = replace(DRAFT, title="Cache")
    event = state_event(opened, "pullRequestCreated", ANA)
    store = FailsOnce()
    with slack.running([]) as stand_in:
        runtime = runtime_for(
            stand_in.url, store, ScriptedPullRequestReader(details={"7": PullRequestDetails(opened)})
        )
        assert process_event(event, runtime, Deadline(None))["delivered"] == 1
        assert process_event(event, runtime, Deadline(None)).get("duplicate") == 1
        assert len(stand_in.delivered) == 1
    assert store.failed
