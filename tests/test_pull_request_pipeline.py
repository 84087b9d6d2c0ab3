"""The pull-request pipeline's state: draft marks, the source commit last seen, and the kind filter."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from handler.demos.pull_requests import (
    ANA,
    BOB,
    DESTINATION,
    REVISION,
    SOURCE_1,
    SOURCE_2,
    ScriptedPullRequestReader,
    state_event,
)
from handler.pipelines.pull_request import plan
from handler.pull_requests.model import PullRequestDetails, PullRequestSnapshot
from handler.pull_requests.settings import PullRequestSettings, parse_event_kinds
from handler.runtime import PullRequestRuntime
from handler.settings import RenderSettings
from handler.sources.eventbridge import parse_activities
from handler.state.memory import MemoryStore

DRAFT = PullRequestSnapshot(
    pull_request_id="7",
    title="WIP: cache",
    author_arn=ANA,
    source_reference="refs/heads/cache",
    destination_reference="refs/heads/main",
    source_commit=SOURCE_1,
    destination_commit=DESTINATION,
    revision_id=REVISION,
)
DRAFT_KEY = "draft#123456789012:eu-west-1:payments-service#7"
SOURCE_KEY = "pr#123456789012:eu-west-1:payments-service#7"


def run(
    snapshot: PullRequestSnapshot, event: str, store: MemoryStore, **settings: Any
) -> list[dict[str, Any]]:
    reader = ScriptedPullRequestReader(details={"7": PullRequestDetails(snapshot)})
    runtime = PullRequestRuntime(
        load_settings=lambda: PullRequestSettings(**settings),
        reader_for=lambda repository: reader,
        state=store,
    )
    extra = {"mergeOption": "SQUASH_MERGE"} if snapshot.is_merged else {}
    [activity] = parse_activities(state_event(snapshot, event, BOB if snapshot.is_merged else ANA, **extra))
    posts = []
    for outgoing in plan(activity, runtime, RenderSettings()):
        for write in outgoing.after_delivery:
            write()
        posts.append(outgoing.payload)
    return posts


def test_a_draft_is_marked_and_its_source_remembered_without_a_post() -> None:
    store = MemoryStore()
    assert run(DRAFT, "pullRequestCreated", store) == []
    draft = store.get(DRAFT_KEY)
    assert draft is not None and draft.attributes == {"title": "WIP: cache"}
    source = store.get(SOURCE_KEY)
    assert source is not None and source.attributes == {"source_commit": SOURCE_1}


def test_ready_is_announced_once_then_the_mark_is_gone() -> None:
    store = MemoryStore()
    run(DRAFT, "pullRequestCreated", store)
    ready = replace(DRAFT, title="Cache", source_commit=SOURCE_2)
    first = run(ready, "pullRequestSourceBranchUpdated", store)
    # planned: both; posted: "ready for review" alone wherever it is posted (one event, one message:
    # tests/test_routing_pipeline.py and the goldens), "new commits" where "ready" was said before
    assert [post["attachments"][0]["pretext"] for post in first] == [
        ":eyes: *Ready for review*",
        ":arrow_up: *New commits pushed*",
    ]
    assert store.get(DRAFT_KEY) is None
    source = store.get(SOURCE_KEY)  # the next push still compares from the commit it was ready at
    assert source is not None and source.attributes == {"source_commit": SOURCE_2}
    assert [
        post["attachments"][0]["pretext"] for post in run(ready, "pullRequestSourceBranchUpdated", store)
    ] == [":arrow_up: *New commits pushed*"]


def test_no_ready_announcement_when_opened_messages_are_off() -> None:
    store = MemoryStore()
    run(DRAFT, "pullRequestCreated", store)
    kinds, commands = parse_event_kinds("default,-opened")
    posts = run(
        replace(DRAFT, title="Cache"),
        "pullRequestSourceBranchUpdated",
        store,
        kinds=kinds,
        review_commands=commands,
    )
    assert [post["attachments"][0]["pretext"] for post in posts] == [":arrow_up: *New commits pushed*"]
    assert store.get(DRAFT_KEY) is None


def test_a_draft_merged_is_reported_as_merged_and_leaves_no_mark() -> None:
    store = MemoryStore()
    merged = replace(DRAFT, is_merged=True, status="CLOSED", merge_option="SQUASH_MERGE", merged_by=BOB)
    [post] = run(merged, "pullRequestMergeStatusUpdated", store)
    assert post["attachments"][0]["pretext"] == ":tada: *Merged*"
    assert store.get(DRAFT_KEY) is None


def test_an_event_delivered_twice_posts_once_and_a_failed_post_is_retried() -> None:
    from handler.app import process_event
    from handler.deadline import Deadline
    from handler.errors import DeliveryExhausted
    from tests.conftest import local_runtime
    from tests.standins import slack
    from tests.standins.slack import Reply

    store = MemoryStore()
    reader = ScriptedPullRequestReader(details={"7": PullRequestDetails(replace(DRAFT, title="Cache"))})
    event = state_event(replace(DRAFT, title="Cache"), "pullRequestCreated", ANA)
    with slack.running([Reply(500)]) as stand_in:
        runtime = local_runtime(None, stand_in.url)  # type: ignore[arg-type]
        runtime.state = store
        runtime.pull_requests = PullRequestRuntime(
            load_settings=PullRequestSettings, reader_for=lambda repository: reader
        )
        runtime.settings = replace(runtime.settings, delivery_max_attempts=1)
        with pytest.raises(DeliveryExhausted):
            process_event(event, runtime, Deadline(None))
        assert process_event(event, runtime, Deadline(None)) == {"delivered": 1}
        assert process_event(event, runtime, Deadline(None)) == {"delivered": 0, "duplicate": 1}
        assert len(stand_in.delivered) == 1
