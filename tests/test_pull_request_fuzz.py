"""Hostile input for the pull-request pipeline, generated like tests/test_fuzz.py does for pushes.

Hypothesis builds EventBridge events (direct and in SNS) with missing keys, wrong types, huge and
odd-Unicode strings, and pull requests, rules and comments whose every text is hostile. Each case
runs ``process_event`` into the Slack stand-in and must raise nothing but
:class:`~handler.errors.NotifierError`, stay within Slack's limits, and post no ``<!…>`` or ``<@…>``
except the mentions of people ``USER_MAP`` maps.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handler.__main__ import OfflineReader
from handler.app import process_event
from handler.deadline import Deadline
from handler.enrich.pull_request_reader import Unreadable
from handler.errors import NotifierError
from handler.pull_requests.model import (
    ApprovalRule,
    ApprovalState,
    CommentDetails,
    PullRequestDetails,
    PullRequestSnapshot,
)
from handler.pull_requests.settings import PullRequestSettings
from handler.runtime import PullRequestRuntime
from handler.sources.eventbridge import parse_activities
from tests.conftest import local_runtime
from tests.standins import slack
from tests.test_fuzz import ANY_JSON, HOSTILE_TEXT, IDENTITY, check_payload, mostly_valid

GENERATED = {"cases": 0, "posted": 0}
MAPPED = {"alice": "U0ALICE01", "arn:aws:iam::123456789012:user/bob": "U0BOB0001"}
MENTIONS = {f"<@{handle}>" for handle in MAPPED.values()}
MENTION = re.compile(r"<[!@][^>]*>?")
ALICE = "arn:aws:iam::123456789012:user/alice"
BOB = "arn:aws:iam::123456789012:user/bob"
PERSON_ARN = st.one_of(st.sampled_from([ALICE, BOB, "arn:aws:sts::123456789012:assumed-role/R/*"]), IDENTITY)
EVENT_NAMES = st.sampled_from(
    [
        "pullRequestCreated",
        "pullRequestSourceBranchUpdated",
        "pullRequestStatusChanged",
        "pullRequestMergeStatusUpdated",
        "pullRequestApprovalStateChanged",
        "pullRequestApprovalRuleOverridden",
        "pullRequestApprovalRuleCreated",
    ]
)
COMMAND_TEXT = st.builds(
    "{} {}".format,
    st.sampled_from(["/review-done", "/re-review", "/ping-reviewers", "/리뷰완료", "x"]),
    HOSTILE_TEXT,
)
STATE_DETAIL = mostly_valid(
    {
        "event": EVENT_NAMES,
        "pullRequestId": st.integers(1, 10_000).map(str),
        "title": HOSTILE_TEXT,
        "description": HOSTILE_TEXT,
        "author": PERSON_ARN,
        "callerUserArn": PERSON_ARN,
        "sourceReference": HOSTILE_TEXT,
        "destinationReference": HOSTILE_TEXT,
        "sourceCommit": HOSTILE_TEXT,
        "destinationCommit": HOSTILE_TEXT,
        "pullRequestStatus": st.sampled_from(["Open", "Closed"]),
        "isMerged": st.sampled_from(["True", "False"]),
        "repositoryNames": st.just(["payments"]),
        "mergeOption": HOSTILE_TEXT,
        "approvalStatus": st.sampled_from(["APPROVE", "REVOKE"]),
        "overrideStatus": st.sampled_from(["OVERRIDE", "REVOKE"]),
        "revisionId": HOSTILE_TEXT,
        "approvalRuleName": HOSTILE_TEXT,
    }
)
COMMENT_DETAIL = mostly_valid(
    {
        "event": st.sampled_from(
            ["commentOnPullRequestCreated", "commentOnCommitCreated", "commentOnPullRequestUpdated"]
        ),
        "commentId": HOSTILE_TEXT,
        "pullRequestId": st.integers(1, 10_000).map(str),
        "repositoryName": st.just("payments"),
        "callerUserArn": PERSON_ARN,
        "inReplyTo": HOSTILE_TEXT,
        "beforeCommitId": HOSTILE_TEXT,
        "afterCommitId": HOSTILE_TEXT,
        "displayName": HOSTILE_TEXT,
        "emailAddress": HOSTILE_TEXT,
    }
)
ENVELOPE = st.one_of(
    STATE_DETAIL.map(lambda detail: ("CodeCommit Pull Request State Change", detail)),
    COMMENT_DETAIL.map(lambda detail: ("CodeCommit Comment on Pull Request", detail)),
    COMMENT_DETAIL.map(lambda detail: ("CodeCommit Comment on Commit", detail)),
).map(
    lambda pair: {
        "id": "e",
        "source": "aws.codecommit",
        "detail-type": pair[0],
        "region": "us-east-1",
        "account": "123456789012",
        "time": "2026-11-20T09:30:00Z",
        "resources": ["arn:aws:codecommit:us-east-1:123456789012:payments"],
        "detail": pair[1],
    }
)
EVENT = st.one_of(
    ENVELOPE,
    ENVELOPE,
    ENVELOPE.map(
        lambda event: {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(event)}}]}
    ),
    ANY_JSON.map(lambda junk: {"source": "aws.codecommit", "detail-type": "x", "detail": junk}),
    ANY_JSON.map(
        lambda junk: {
            "Records": [{"Sns": {"Message": json.dumps({"source": "aws.codecommit", "detail": junk})}}]
        }
    ),
)
SNAPSHOT = st.builds(
    PullRequestSnapshot,
    pull_request_id=st.just("1"),
    title=HOSTILE_TEXT,
    description=HOSTILE_TEXT,
    author_arn=PERSON_ARN,
    source_reference=HOSTILE_TEXT,
    destination_reference=HOSTILE_TEXT,
    source_commit=HOSTILE_TEXT,
    destination_commit=HOSTILE_TEXT,
    merge_option=st.one_of(st.none(), HOSTILE_TEXT),
    merge_commit_id=st.one_of(st.none(), HOSTILE_TEXT),
    revision_id=st.just("r"),
)
DETAILS = st.one_of(
    st.none(),
    st.builds(
        PullRequestDetails,
        SNAPSHOT,
        st.lists(
            st.builds(
                ApprovalRule, HOSTILE_TEXT, st.integers(0, 5), st.lists(PERSON_ARN, max_size=30).map(tuple)
            ),
            max_size=3,
        ).map(tuple),
    ),
)
COMMENT = st.one_of(
    st.none(),
    st.builds(
        CommentDetails,
        comment_id=st.just("c"),
        content=st.one_of(HOSTILE_TEXT, COMMAND_TEXT),
        author_arn=PERSON_ARN,
        file_path=st.one_of(st.none(), HOSTILE_TEXT),
        file_position=st.one_of(st.none(), st.integers(0, 10**6)),
    ),
)


class HostileReader:
    """Answers with generated (hostile) pull requests, comments and approvals, or as unreadable."""

    def __init__(
        self, details: PullRequestDetails | None, comment: CommentDetails | None, approvers: list[str]
    ) -> None:
        self.details, self.comment, self.approvers = details, comment, tuple(approvers)

    def get_pull_request(self, pull_request_id: str) -> PullRequestDetails:
        if self.details is None:
            raise Unreadable("pull request", "<!channel> generated as unreadable")
        return self.details

    def get_comment(self, comment_id: str, **_: Any) -> CommentDetails:
        if self.comment is None:
            raise Unreadable("comment", "generated as unreadable")
        return self.comment

    def get_approval_state(self, pull_request_id: str, revision_id: str) -> ApprovalState:
        return ApprovalState(self.approvers, approved=bool(self.approvers))


@pytest.fixture(scope="module")
def fuzz_slack() -> Iterator[slack.SlackStandIn]:
    with slack.running() as stand_in:
        yield stand_in


@settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(event=EVENT, details=DETAILS, comment=COMMENT, approvers=st.lists(PERSON_ARN, max_size=5))
def test_hostile_pull_request_events_through_the_whole_pipeline(
    fuzz_slack: slack.SlackStandIn,
    event: Any,
    details: PullRequestDetails | None,
    comment: CommentDetails | None,
    approvers: list[str],
) -> None:
    GENERATED["cases"] += 1
    runtime = local_runtime(OfflineReader(), fuzz_slack.url)
    pr_settings = PullRequestSettings.from_environ({"USER_MAP": json.dumps(MAPPED)})
    reader = HostileReader(details, comment, approvers)
    runtime.pull_requests = PullRequestRuntime(
        load_settings=lambda: pr_settings, reader_for=lambda repository: reader
    )
    before = len(fuzz_slack.delivered)
    with contextlib.suppress(NotifierError):
        process_event(event, runtime, Deadline(None))
    for payload in fuzz_slack.delivered[before:]:
        GENERATED["posted"] += 1
        text = json.dumps(payload, ensure_ascii=False)
        assert set(MENTION.findall(text)) <= MENTIONS, MENTION.findall(text)
        for mention in MENTIONS:
            text = text.replace(mention, "")
        check_payload(json.loads(text))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=st.one_of(EVENT, ANY_JSON))
def test_parsing_eventbridge_never_raises(event: Any) -> None:
    """Parsing judges; it never crashes: every unusable event is dropped with a logged reason."""
    GENERATED["cases"] += 1
    for activity in parse_activities(event):
        assert activity.repository.name


def test_the_fuzz_reached_the_slack_stand_in() -> None:
    """Runs after the property above (file order): enough cases must reach Slack (about 1 in 7 do)."""
    assert GENERATED["posted"] > 40, GENERATED
