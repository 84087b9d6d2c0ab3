"""The EventBridge parser: every AWS sample parses, each property reads its raw field, junk is dropped."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from handler.errors import UnprocessableEvent
from handler.pull_requests.model import ActivityKind
from handler.sources.eventbridge import (
    EventBridgeEvent,
    PullRequestStateDetail,
    is_eventbridge_event,
    iter_eventbridge_events,
    parse_activities,
    parse_activity,
)

FIXTURES = Path(__file__).parent / "fixtures" / "eventbridge"
ALL_FIXTURES = sorted(path.name for path in FIXTURES.glob("*.json"))


def load_eventbridge(name: str) -> Any:
    """A verbatim AWS EventBridge sample from tests/fixtures/eventbridge (see SOURCES.md there)."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def sns_wrapped(event: Any) -> dict[str, Any]:
    """The event as an SNS topic delivers it to Lambda."""
    sns = {"MessageId": "m-1", "Message": json.dumps(event)}
    return {"Records": [{"EventSource": "aws:sns", "Sns": sns}]}


EXPECTED_KINDS = {
    "awsdoc_commentOnCommitCreated.json": ActivityKind.COMMIT_COMMENT,
    "awsdoc_commentOnCommitUpdated.json": ActivityKind.COMMENT_EDITED,
    "awsdoc_commentOnPullRequestCreated.json": ActivityKind.COMMENT,
    "awsdoc_commentOnPullRequestUpdated.json": ActivityKind.COMMENT_EDITED,
    "awsdoc_pullRequestApprovalRuleCreated.json": ActivityKind.RULE_CHANGED,
    "awsdoc_pullRequestApprovalRuleDeleted.json": ActivityKind.RULE_CHANGED,
    "awsdoc_pullRequestApprovalRuleOverridden_1.json": ActivityKind.OVERRIDDEN,
    "awsdoc_pullRequestApprovalRuleOverridden_2.json": ActivityKind.OVERRIDE_REVOKED,
    "awsdoc_pullRequestApprovalRuleUpdated.json": ActivityKind.RULE_CHANGED,
    "awsdoc_pullRequestApprovalStateChanged_1.json": ActivityKind.APPROVED,
    "awsdoc_pullRequestApprovalStateChanged_2.json": ActivityKind.APPROVAL_REVOKED,
    "awsdoc_pullRequestCreated.json": ActivityKind.OPENED,
    "awsdoc_pullRequestMergeStatusUpdated.json": ActivityKind.MERGED,
    "awsdoc_pullRequestSourceBranchUpdated.json": ActivityKind.SOURCE_UPDATED,
    "awsdoc_pullRequestStatusChanged.json": ActivityKind.CLOSED,
    "thirdparty_pullRequestCreated.json": ActivityKind.OPENED,
}


def test_every_fixture_has_an_expected_kind() -> None:
    assert set(ALL_FIXTURES) == set(EXPECTED_KINDS)


@pytest.mark.parametrize("name", ALL_FIXTURES)
@pytest.mark.parametrize("wrapping", ["direct", "sns"])
def test_every_aws_sample_parses(name: str, wrapping: str) -> None:
    raw = load_eventbridge(name)
    event = raw if wrapping == "direct" else sns_wrapped(raw)
    assert is_eventbridge_event(event)
    [activity] = list(parse_activities(event))
    assert activity.kind is EXPECTED_KINDS[name]
    detail = raw["detail"]
    assert activity.repository.name == (detail.get("repositoryName") or detail["repositoryNames"][0])
    assert activity.repository.region == raw["region"]
    assert activity.actor.arn == raw["detail"]["callerUserArn"]
    assert activity.event_time == datetime.fromisoformat(raw["time"].replace("Z", "+00:00"))


def test_state_detail_properties_read_their_raw_fields() -> None:
    raw = load_eventbridge("awsdoc_pullRequestMergeStatusUpdated.json")
    detail = PullRequestStateDetail(raw["detail"], "detail")
    assert detail.event == "pullRequestMergeStatusUpdated"
    assert detail.pull_request_id == "1"
    assert detail.is_merged is True
    assert detail.merge_option == "FAST_FORWARD_MERGE"
    assert detail.source_reference == "refs/heads/test-branch"
    assert detail.destination_commit == "4376719EXAMPLE"
    assert detail.repository_names == ("MyDemoRepo",)
    envelope = EventBridgeEvent(raw)
    assert envelope.time == datetime(2019, 6, 12, 10, 23, 43, tzinfo=UTC)
    assert envelope.resources == ("arn:aws:codecommit:us-east-2:123456789012:MyDemoRepo",)


def test_pull_request_snapshot_and_comment_reference() -> None:
    [opened] = parse_activities(load_eventbridge("awsdoc_pullRequestCreated.json"))
    assert opened.pull_request is not None
    assert opened.pull_request.title == "My Example Pull Request"
    assert opened.pull_request.author_arn == "arn:aws:sts::123456789012:assumed-role/Admin/Mary_Major"
    assert opened.actor.name == "Mary_Major" and opened.actor.role_name == "Admin"
    [comment] = parse_activities(load_eventbridge("awsdoc_commentOnPullRequestCreated.json"))
    assert comment.pull_request_id == "201"
    assert comment.comment is not None and comment.comment.comment_id == "463bEXAMPLE..."
    assert comment.comment.in_reply_to == "695bEXAMPLE..."
    assert comment.actor.display_name == "Saanvi Sarkar"
    assert comment.actor.email == "saanvi_sarkar@example.com"
    [on_commit] = parse_activities(load_eventbridge("awsdoc_commentOnCommitCreated.json"))
    assert on_commit.pull_request_id is None and on_commit.comment is not None
    assert on_commit.comment.after_commit_id == "f4d5EXAMPLE"


def test_trigger_messages_are_not_eventbridge_events() -> None:
    from tests.conftest import load_event

    assert not is_eventbridge_event(load_event("dronescm_push.sns_envelope.json"))
    assert not is_eventbridge_event(load_event("awsdoc_lambda_devguide_push.json"))
    assert not is_eventbridge_event({"source": "aws.s3", "detail-type": "x", "detail": {}})
    assert not is_eventbridge_event("junk")


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda e: e.update({"detail-type": "CodeCommit Repository State Change"}), "not a pull-request"),
        (lambda e: e["detail"].update({"event": "pullRequestFooBar"}), "is not one this notifier reports"),
        (lambda e: e["detail"].update({"pullRequestId": "12; drop"}), "pullRequestId should be a decimal"),
        (lambda e: e["detail"].update({"approvalStatus": "MAYBE"}), "approvalStatus should be one of"),
        (lambda e: e.update({"detail": "x"}), "detail should be an object"),
        (lambda e: e["detail"].update({"title": 5}), "title should be str"),
    ],
)
def test_unusable_events_raise_a_reason(mutate: Any, reason: str) -> None:
    event = load_eventbridge("awsdoc_pullRequestApprovalStateChanged_1.json")
    mutate(event)
    with pytest.raises(UnprocessableEvent, match=reason):
        [envelope] = list(iter_eventbridge_events(event))
        assert isinstance(envelope, EventBridgeEvent)
        parse_activity(envelope)


def test_dropped_events_are_logged_with_a_reason(caplog: pytest.LogCaptureFixture) -> None:
    reaction = {
        "source": "aws.codecommit",
        "detail-type": "CodeCommit Comment Reaction Change",
        "region": "us-east-2",
        "detail": {"event": "commentReactionCreated"},
    }
    with caplog.at_level(logging.WARNING):
        assert list(parse_activities(reaction)) == []
        assert list(parse_activities(sns_wrapped(reaction))) == []
    assert caplog.text.count("is not a pull-request or comment event") == 2


def test_lone_surrogates_are_replaced_so_links_and_payloads_encode() -> None:
    event = load_eventbridge("awsdoc_commentOnPullRequestCreated.json")
    event["detail"]["commentId"] = "\ud800x"
    [activity] = parse_activities(event)
    assert activity.comment is not None and activity.comment.comment_id == "\ufffdx"
