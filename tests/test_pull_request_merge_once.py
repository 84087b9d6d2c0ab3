"""A merge is one message, however CodeCommit announces it (issue 17, item 7).

CodeCommit may send a ``pullRequestStatusChanged`` to Closed with ``isMerged`` true beside the
``pullRequestMergeStatusUpdated`` of the same merge. The first must not read "closed without
merging", and the pair must post one merge message, in either order.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from handler.app import process_event
from handler.deadline import Deadline
from handler.demos.pull_requests import (
    ANA,
    BOB,
    DESTINATION,
    REVISION,
    SOURCE_1,
    ScriptedPullRequestReader,
    state_event,
)
from handler.pull_requests.model import ActivityKind, PullRequestDetails, PullRequestSnapshot
from handler.pull_requests.settings import PullRequestSettings
from handler.runtime import PullRequestRuntime
from handler.sources.eventbridge import parse_activities
from handler.state.memory import MemoryStore
from tests.conftest import local_runtime
from tests.standins import slack

OPEN = PullRequestSnapshot(
    pull_request_id="7",
    title="Cache",
    author_arn=ANA,
    source_reference="refs/heads/cache",
    destination_reference="refs/heads/main",
    source_commit=SOURCE_1,
    destination_commit=DESTINATION,
    revision_id=REVISION,
)
MERGED = replace(OPEN, is_merged=True, status="CLOSED", merge_option="SQUASH_MERGE", merged_by=BOB)


def _event(name: str, status: str, is_merged: str, **extra: str) -> dict[str, Any]:
    event = state_event(OPEN, name, BOB, **extra)
    event["detail"].update(pullRequestStatus=status, isMerged=is_merged)
    return event


#: (event, pullRequestStatus, isMerged) → the kind it is.
KINDS = [
    ("pullRequestStatusChanged", "Closed", "True", ActivityKind.MERGED),
    ("pullRequestStatusChanged", "Closed", "False", ActivityKind.CLOSED),
    ("pullRequestStatusChanged", "Open", "False", ActivityKind.REOPENED),
    ("pullRequestMergeStatusUpdated", "Closed", "True", ActivityKind.MERGED),
]


@pytest.mark.parametrize(("name", "status", "is_merged", "kind"), KINDS)
def test_a_status_change_is_a_merge_when_is_merged_says_so(
    name: str, status: str, is_merged: str, kind: ActivityKind
) -> None:
    [activity] = parse_activities(_event(name, status, is_merged))
    assert activity.kind is kind


def test_both_announcements_of_one_merge_share_a_delivery_id_and_other_events_keep_theirs() -> None:
    [by_status] = parse_activities(_event("pullRequestStatusChanged", "Closed", "True"))
    [by_merge] = parse_activities(_event("pullRequestMergeStatusUpdated", "Closed", "True"))
    [closed] = parse_activities(_event("pullRequestStatusChanged", "Closed", "False"))
    assert by_status.delivery_id == by_merge.delivery_id == "merge:eu-west-1:payments-service:7"
    assert (by_status.event_id, by_merge.event_id) == (
        "demo-pullRequestStatusChanged",
        "demo-pullRequestMergeStatusUpdated",
    )  # the logs still name each event by its own id
    assert closed.delivery_id == closed.event_id == "demo-pullRequestStatusChanged"


MERGE_EVENTS = {
    "status": _event("pullRequestStatusChanged", "Closed", "True"),
    "merge": _event("pullRequestMergeStatusUpdated", "Closed", "True", mergeOption="SQUASH_MERGE"),
}


@pytest.mark.parametrize("order", [("status", "merge"), ("merge", "status")])
def test_a_merge_announced_twice_posts_one_merge_message(order: tuple[str, str]) -> None:
    reader = ScriptedPullRequestReader(details={"7": PullRequestDetails(MERGED)})
    with slack.running() as stand_in:
        runtime = local_runtime(None, stand_in.url)  # type: ignore[arg-type]
        runtime.state = MemoryStore()
        runtime.pull_requests = PullRequestRuntime(
            load_settings=PullRequestSettings, reader_for=lambda repository: reader
        )
        outcomes = [process_event(MERGE_EVENTS[name], runtime, Deadline(None)) for name in order]
        delivered = list(stand_in.delivered)
    assert outcomes == [{"delivered": 1}, {"delivered": 0, "duplicate": 1}]
    [post] = delivered
    text = json.dumps(post)
    assert "Merged" in text and "without merging" not in text
