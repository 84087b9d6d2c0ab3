"""Every C0 and C1 control, and U+2028/U+2029, in every text field, in both dialects (issue 17, item 9).

A newline in a ref name or a pull-request title used to break the headline in two (``release\\n@here
fix``). Every one-line field (headline, names, ref names, paths, titles, subjects, fallback,
footer, author) now shows each of these characters as U+FFFD; only the multi-line bodies (a commit
message's body, a pull request's description, a comment) keep their newlines and tabs.

Each field carries a marker around the control (``refA<c>refZ``): in the payload, the marker must
appear with U+FFFD between its halves (one-line fields), or with the control itself only when the
control is a newline or tab in a body. Hypothesis varies the text around the markers; every control
is tried (a table), in both dialects.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handler.demos.pull_requests import (
    ANA,
    BOB,
    DESTINATION,
    REVISION,
    SOURCE_1,
    ScriptedPullRequestReader,
    state_event,
)
from handler.demos.pull_requests import _comment as comment_event
from handler.model import (
    BranchHistory,
    ChangeType,
    Commit,
    FileChange,
    HistoryRelation,
    Notification,
    ParentDiff,
    Person,
    Push,
    RefAction,
    RefChange,
    RefKind,
    RefReport,
    Repository,
    parse_pusher,
)
from handler.pipelines.pull_request import plan
from handler.pull_requests.model import ApprovalRule, CommentDetails, PullRequestDetails, PullRequestSnapshot
from handler.pull_requests.settings import PullRequestSettings
from handler.render.markup import MATTERMOST, SLACK, Markup
from handler.render.pull_request import is_draft_title
from handler.render.push import render
from handler.runtime import PullRequestRuntime
from handler.settings import RenderSettings
from handler.sources.eventbridge import parse_activities
from handler.state.memory import MemoryStore

#: Every C0 control, DEL, every C1 control, and the line and paragraph separators.
CONTROLS = [chr(code) for code in range(0x20)] + ["\x7f"] + [chr(code) for code in range(0x80, 0xA0)]
CONTROLS += ["\u2028", "\u2029"]
#: What a body may keep: it is meant to have several lines.
BODY_KEEPS = frozenset("\n\t")
#: Payload keys Slack and Mattermost show on one line.
ONE_LINE_KEYS = frozenset({"fallback", "footer", "author_name", "title", "pretext"})
FLAVOURS = {"slack": SLACK, "mattermost": MATTERMOST}
#: Text around the markers, varied by hypothesis: letters, digits, punctuation and spaces (no ``/``,
#: which would cut the pusher's session name out of its ARN).
AROUND = st.text(
    alphabet=st.characters(codec="ascii", min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="/"),
    max_size=12,
).filter(lambda text: not is_draft_title(text))  # a "Draft:" title is quiet by design: nothing to check
WHEN = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def marked(name: str, control: str, around: str = "") -> str:
    return f"{around}{name}A{control}{name}Z{around}"


def strings(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """Every (key, string) of a payload, nested ones included."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for inner_key, inner in value.items():
            yield from strings(inner, inner_key)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item, key)


def check(payload: dict[str, Any], control: str, one_line: list[str], bodies: list[str]) -> None:
    found = list(strings(payload))
    texts = [text for _, text in found]
    for key, text in found:
        assert not (set(text) & set(CONTROLS)) - {"\n"} - (BODY_KEEPS if key == "text" else set()), (
            key,
            text,
        )
        if key in ONE_LINE_KEYS:
            assert "\n" not in text and "\t" not in text, (key, text)
    assert "\n" not in payload["text"] and "\t" not in payload["text"], payload["text"]  # the headline
    for name in one_line:
        assert not any(f"{name}A{control}{name}Z" in text for text in texts), name
        if any(f"{name}A" in text for text in texts):  # shown (a committer only when it matters)
            assert any(f"{name}A\ufffd{name}Z" in text for text in texts), name
    for name in bodies:
        if control in BODY_KEEPS:  # kept; a quoted body (description, comment) quotes each line
            kept = {f"{name}A{control}{name}Z", f"{name}A{control}>{name}Z"}
        else:
            kept = {f"{name}A\ufffd{name}Z"}
        assert any(form in text for text in texts for form in kept), name


# -- pushes -----------------------------------------------------------------------------------------


def push_notification(control: str, around: str) -> Notification:
    def mark(name: str) -> str:
        return marked(name, control, around)

    person = Person(mark("author"), "a@example.com", WHEN)
    committer = Person(mark("committer"), "c@example.com", WHEN)
    repository = Repository(mark("repo"), "eu-west-1", "123456789012")
    branch = RefChange(f"refs/heads/{mark('ref')}", RefKind.BRANCH, mark("ref"), RefAction.UPDATED, "a" * 40)
    created = RefChange(f"refs/tags/{mark('tag')}", RefKind.TAG, mark("tag"), RefAction.CREATED, "a" * 40)
    message = f"{mark('subj')}\n\n{mark('body')}"
    commit = Commit("a" * 40, message, person, committer, ("b" * 40,))
    diff = ParentDiff("b" * 40, (FileChange(ChangeType.MODIFIED, mark("path")),))
    history = BranchHistory(HistoryRelation.FAST_FORWARD, (commit,), 1, previous_id="b" * 40)
    push = Push(
        repository,
        parse_pusher(f"arn:aws:sts::123456789012:assumed-role/Dev/{mark('pusher')}"),
        (branch, created),
        WHEN,
        "id",
        "trigger",
    )
    return Notification(
        push,
        (RefReport(branch, commit, None, (diff,), history=history), RefReport(created, commit, None)),
    )


@pytest.mark.parametrize("flavour", sorted(FLAVOURS))
@pytest.mark.parametrize("control", CONTROLS, ids=[f"U+{ord(c):04X}" for c in CONTROLS])
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(around=AROUND)
def test_a_control_in_any_push_field_is_marked_and_never_breaks_a_line(
    control: str, flavour: str, around: str
) -> None:
    markup: Markup = FLAVOURS[flavour]
    notification = push_notification(control, around)
    payload = render(notification, RenderSettings(), markup)
    one_line = ["author", "committer", "repo", "ref", "tag", "path", "pusher"]
    if control != "\n":  # a newline ends the subject line by definition: the rest is the body
        one_line.append("subj")
    check(payload, control, one_line, [])
    shown = [name for name in one_line if any(f"{name}A" in text for _, text in strings(payload))]
    assert {"author", "repo", "ref", "tag", "path", "pusher"} <= set(shown), shown
    # one reference seen the first time: its tip commit in full, the body included
    one_ref = replace(notification.push, ref_changes=notification.push.ref_changes[:1])
    tip = replace(notification.reports[0], history=None)
    single = render(replace(notification, push=one_ref, reports=(tip,)), RenderSettings(), markup)
    check(single, control, one_line, ["body"])
    assert any("bodyA" in text for _, text in strings(single))


# -- pull requests, comments, approvals --------------------------------------------------------------


def pull_request_payloads(control: str, around: str, markup: Markup) -> Iterator[dict[str, Any]]:
    def mark(name: str) -> str:
        return marked(name, control, around)

    snapshot = PullRequestSnapshot(
        pull_request_id="42",
        title=mark("title"),
        description=mark("desc"),
        author_arn=ANA,
        source_reference=f"refs/heads/{mark('source')}",
        destination_reference=f"refs/heads/{mark('destination')}",
        source_commit=SOURCE_1,
        destination_commit=DESTINATION,
        revision_id=REVISION,
    )
    rules = (ApprovalRule(mark("rule"), 2, (BOB,)),)
    reader = ScriptedPullRequestReader(
        details={"42": PullRequestDetails(snapshot, rules)},
        comments={
            "c-1": CommentDetails("c-1", mark("comment"), BOB, file_path=mark("file"), file_position=3),
        },
    )
    runtime = PullRequestRuntime(
        load_settings=PullRequestSettings, reader_for=lambda repository: reader, state=MemoryStore()
    )
    events = [
        state_event(snapshot, "pullRequestCreated", ANA),
        state_event(snapshot, "pullRequestApprovalStateChanged", BOB, approvalStatus="APPROVE"),
        comment_event("c-1", BOB),
    ]
    for event in events:
        for activity in parse_activities(event):
            for outgoing in plan(activity, runtime, RenderSettings()):
                yield outgoing.render(markup)


@pytest.mark.parametrize("flavour", sorted(FLAVOURS))
@pytest.mark.parametrize("control", CONTROLS, ids=[f"U+{ord(c):04X}" for c in CONTROLS])
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(around=AROUND)
def test_a_control_in_any_pull_request_field_is_marked_and_never_breaks_a_line(
    control: str, flavour: str, around: str
) -> None:
    opened, approved, commented = pull_request_payloads(control, around, FLAVOURS[flavour])
    check(opened, control, ["title", "source", "destination"], ["desc"])
    check(approved, control, ["title"], [])
    check(commented, control, ["title", "file"], ["comment"])
