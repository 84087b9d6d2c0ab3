"""handler/render/pipeline.py: each message kind in both dialects, and hostile text kept inert."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from handler.render.markup import MATTERMOST, SLACK
from handler.render.pipeline import (
    APPROVE_DEPLOY,
    REJECT_DEPLOY,
    Approval,
    Failure,
    GateTarget,
    NoticeKind,
    PipelineNotice,
    Revision,
    Trigger,
    duration_words,
    execution_url,
    parse_gate_value,
    render_pipeline_notice,
)
from tests.test_fuzz import HOSTILE_TEXT, check_payload
from tests.test_mattermost_markdown import (
    LIVE_MENTION,
    OWN_LINK,
    OWN_URL,
    live_syntax,
    markdown_fields,
    plain_fields,
    server_side,
)

COMMIT = "5963024454c0c2818d5fa7b9cad3d3cd3120e78d"
COMMIT_URL = f"https://eu-west-1.console.aws.amazon.com/codesuite/codecommit/repositories/app/commit/{COMMIT}?region=eu-west-1"
LOGS = "https://console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logEvent:group=/aws/codebuild/app;stream=1"
REGIONAL_LOGS = "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups"
REVISION = Revision(COMMIT, "Fix the login redirect", "main", COMMIT_URL)


def notice(kind: NoticeKind, **fields: Any) -> PipelineNotice:
    base: dict[str, Any] = {
        "kind": kind,
        "pipeline": "web-deploy",
        "execution_id": "3776ce0b-26ba-40a5-a1ef-2f1f2591934e",
        "region": "eu-west-1",
        "revision": REVISION,
        "at": datetime(2026, 12, 7, 18, 0, tzinfo=UTC),
    }
    return PipelineNotice(**(base | fields))


def test_started_says_which_revision_and_who() -> None:
    payload = render_pipeline_notice(
        notice(NoticeKind.STARTED, trigger=Trigger("StartPipelineExecution", "alice"))
    )
    assert payload["text"] == "▶ web-deploy started"
    text = payload["attachments"][0]["text"]
    assert f"<{COMMIT_URL}|`5963024`> Fix the login redirect on `main`" in text
    assert "Started by alice" in text
    assert payload["attachments"][0]["title_link"] == (
        "https://eu-west-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/web-deploy/executions/"
        "3776ce0b-26ba-40a5-a1ef-2f1f2591934e/timeline?region=eu-west-1"
    )


def test_started_by_a_push_names_the_branch() -> None:
    payload = render_pipeline_notice(notice(NoticeKind.STARTED, trigger=Trigger("CloudWatchEvent")))
    assert "Started by a push to main" in payload["attachments"][0]["text"]


def test_succeeded_says_how_long_it_took() -> None:
    payload = render_pipeline_notice(notice(NoticeKind.SUCCEEDED, duration_seconds=252))
    assert payload["text"] == "✓ web-deploy succeeded"
    assert "Succeeded in 4 min 12 s" in payload["attachments"][0]["text"]


def test_fixed_is_a_success_after_a_failure() -> None:
    payload = render_pipeline_notice(notice(NoticeKind.FIXED, duration_seconds=61))
    assert payload["text"] == "✓ web-deploy fixed"
    assert "*Fixed*: succeeded in 1 min 1 s, after a failure" in payload["attachments"][0]["text"]


def test_failed_names_stage_action_summary_and_logs() -> None:
    failure = Failure("Build", "Compile", "YAML_FILE_ERROR: no buildspec", "JobFailed", LOGS)
    payload = render_pipeline_notice(notice(NoticeKind.FAILED, failure=failure))
    assert payload["text"] == "✗ web-deploy failed at Build / Compile"
    text = payload["attachments"][0]["text"]
    assert "Failed at *Build* / *Compile* (JobFailed)" in text
    assert ">YAML_FILE_ERROR: no buildspec" in text
    assert f"<{LOGS}|Build logs>" in text
    assert payload["attachments"][0]["color"] == "#D00000"


@pytest.mark.parametrize(
    ("kind", "line"),
    [
        (NoticeKind.STOPPED, "Stopped before it finished"),
        (NoticeKind.SUPERSEDED, "A newer run went ahead through the pipeline instead of this one"),
    ],
)
def test_stopped_and_superseded(kind: NoticeKind, line: str) -> None:
    assert line in render_pipeline_notice(notice(kind))["attachments"][0]["text"]


def test_an_approval_gate_carries_buttons_with_ids_only_on_interactive_slack() -> None:
    approval = Approval(
        "Production", "Approve", "Check the staging smoke tests", "https://example.com/review"
    )
    gate = notice(NoticeKind.APPROVAL, approval=approval, interactive=True)
    payload = render_pipeline_notice(gate)
    assert payload["text"] == "⏸ web-deploy waits for approval at Production / Approve"
    assert "<https://example.com/review|What to review>" in payload["attachments"][0]["text"]
    buttons = payload["attachments"][1]["blocks"][0]["elements"]
    assert [b["action_id"] for b in buttons] == [APPROVE_DEPLOY, REJECT_DEPLOY]
    target = parse_gate_value(buttons[0]["value"])
    assert target == GateTarget("web-deploy", "Production", "Approve", "3776ce0b-26ba-40a5-a1ef-2f1f2591934e")
    assert len(render_pipeline_notice(notice(NoticeKind.APPROVAL, approval=approval))["attachments"]) == 1
    assert len(render_pipeline_notice(gate, markup=MATTERMOST)["attachments"]) == 1


@pytest.mark.parametrize(
    "value",
    ['{"p":"a","s":"b","a":"c"}', '{"p":"a","s":"b","a":"c","e":"<!channel>"}', "x" * 3000, "[]", 7, ""],
)
def test_a_button_value_that_is_not_four_ids_is_refused(value: object) -> None:
    assert parse_gate_value(value) is None


def test_mattermost_writes_the_same_message_in_markdown() -> None:
    failure = Failure("Build", "Compile", "boom", "", LOGS)
    payload = render_pipeline_notice(notice(NoticeKind.FAILED, failure=failure), markup=MATTERMOST)
    text = payload["attachments"][0]["text"]
    assert "Failed at **Build** / **Compile**" in text and f"[Build logs]({LOGS})" in text
    assert set(payload) == {"text", "attachments"}


def test_only_https_links_leave_the_notifier() -> None:
    revision = Revision(COMMIT, "x", "", "javascript:alert(1)")
    payload = render_pipeline_notice(notice(NoticeKind.STARTED, revision=revision))
    assert "javascript" not in payload["attachments"][0]["text"]


def test_no_link_for_a_partition_whose_console_is_unknown() -> None:
    assert execution_url("us-iso-east-1", "p", "e") is not None  # aws partition by name: still linked
    assert execution_url("", "p") is None
    assert execution_url("cn-north-1", "p").startswith("https://cn-north-1.console.amazonaws.cn/")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("seconds", "words"), [(0, "0 s"), (45, "45 s"), (60, "1 min"), (252, "4 min 12 s"), (3790, "1 h 3 min")]
)
def test_duration_words(seconds: float, words: str) -> None:
    assert duration_words(seconds) == words


def hostile_notice(kind: NoticeKind, text: str) -> PipelineNotice:
    return notice(
        kind,
        pipeline=text,
        revision=Revision(text, text, text, COMMIT_URL),
        trigger=Trigger("StartPipelineExecution", text),
        failure=Failure(text, text, text, text, REGIONAL_LOGS),
        approval=Approval(text, text, text, None),
        interactive=True,
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(list(NoticeKind)), text=HOSTILE_TEXT)
@example(kind=NoticeKind.FAILED, text="<!channel> @here <https://evil.example|click> *b*")
def test_hostile_text_can_neither_ping_nor_link_in_slack(kind: NoticeKind, text: str) -> None:
    payload = render_pipeline_notice(hostile_notice(kind, text), markup=SLACK)
    check_payload(payload)
    for attachment in payload["attachments"]:
        assert "<https://evil" not in attachment.get("text", "")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(list(NoticeKind)), text=HOSTILE_TEXT)
@example(kind=NoticeKind.APPROVAL, text="@channel @here @all [pay](https://evil.example) **now**")
def test_hostile_text_can_neither_ping_nor_link_in_mattermost(kind: NoticeKind, text: str) -> None:
    payload = render_pipeline_notice(hostile_notice(kind, text), markup=MATTERMOST)
    linked_title = payload["attachments"][0].get("title_link") is not None
    fields = [
        field
        for field in markdown_fields(payload)
        if not (linked_title and field == payload["attachments"][0]["title"])
    ]
    for field in fields:
        stored = server_side(field)
        assert not LIVE_MENTION.search(OWN_URL.sub("]()", stored)), stored
        openers = live_syntax(OWN_LINK.sub("", stored))
        assert [opener for opener in openers if opener not in "*_"] == [], stored
        assert openers.count("*") % 2 == 0 and openers.count("_") % 2 == 0, stored
    for field in plain_fields(payload):
        assert not LIVE_MENTION.search(field), field
