"""Fitting: a message over its limit loses detail in a stated order and never cuts a name.

The order (``handler.render.push.Detail``): file lists, then commit bodies, then commit lines past
the newest, then whole references into a closing "… and N more". Generated over many references
with long names, long commits and small ``MAX_MESSAGE_CHARS``, in both dialects.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
from handler.render.markup import MATTERMOST, SLACK, Markup
from handler.render.push import payload_length, render
from handler.settings import RenderSettings

REPO = Repository("payments-service", "eu-west-1", "123456789012")
PERSON = Person("Ana Núñez", "ana@example.com", datetime(2026, 1, 2, tzinfo=UTC))
#: Characters a branch name may hold that every dialect must escape or keep whole.
NAME_CHARS = st.sampled_from(list("abcxyz-_/.0189*[]()&<>!#~@|`$ü界🙂"))
MORE = re.compile(r"^… and ([\d,]+) more$", re.MULTILINE)


def names_shown(payload: dict[str, Any]) -> str:
    return "\n".join([payload["text"], *(a.get("text", "") for a in payload["attachments"])])


def counted_in_more(payload: dict[str, Any]) -> int:
    """How many references the closing "… and N more" lines count (commit and file counts aside)."""
    return sum(
        int(n.replace(",", "")) for a in payload["attachments"] for n in MORE.findall(a.get("text", ""))
    )


def ten_long_branches(files: int = 30, commits: int = 5) -> Notification:
    """The newcomer's case: ten long-named branches, each with a whole push of long commits."""
    names = [f"feature/{'very-long-branch-name-' * 6}{index}" for index in range(10)]
    changes = tuple(
        RefChange(f"refs/heads/{n}", RefKind.BRANCH, n, RefAction.CREATED, "a" * 40) for n in names
    )
    listed = tuple(
        Commit(f"{n:040x}", "Subject " * 20 + "\n\n" + "body " * 400, PERSON, PERSON, (f"{n + 1:040x}",))
        for n in range(commits)
    )
    changed = tuple(FileChange(ChangeType.ADDED, f"src/module_{i}.py") for i in range(files))
    history = BranchHistory(
        HistoryRelation.BRANCHED, listed, commits, base_id="f" * 40, base_ref="main", combined_changes=changed
    )
    reports = tuple(RefReport(c, listed[0], None, (ParentDiff("f" * 40, changed),), history) for c in changes)
    push = Push(REPO, parse_pusher("arn:aws:iam::1:user/ana"), changes, None, "id", "trigger")
    return Notification(push, reports)


def test_ten_long_branch_names_to_mattermost_each_keep_their_name() -> None:
    notification = ten_long_branches()
    payload = render(notification, RenderSettings(), MATTERMOST)
    for report, attachment in zip(notification.reports, payload["attachments"], strict=True):
        lead = attachment["text"].split("\n", 1)[0]
        assert f"`{report.ref_change.short_name}`" in lead, lead


def test_detail_goes_in_the_stated_order() -> None:
    """File lists first, then commit lines past the newest, then references (a whole push shows
    no bodies; see the next test for a tip's body)."""
    notification = ten_long_branches(files=5, commits=3)
    seen = []
    for limit in range(40_000, 1_999, -250):
        payload = render(notification, RenderSettings(message_limit=limit))
        text = names_shown(payload)
        seen.append(
            (
                "• `src/module_" in text,  # a file list
                not re.search(r"more commits?$", text, re.MULTILINE),  # every commit line
                counted_in_more(payload) == 0,  # every reference in full
            )
        )
    # each fact, once gone as the limit falls, stays gone; and they go in this order
    for column in range(3):
        flags = [row[column] for row in seen]
        assert flags == sorted(flags, reverse=True), column
    first_gone = [next((i for i, row in enumerate(seen) if not row[c]), len(seen)) for c in range(3)]
    assert first_gone == sorted(first_gone) and first_gone[-1] < len(seen), first_gone


def test_a_tip_loses_its_files_before_its_body() -> None:
    notification = ten_long_branches(files=40)
    tips = tuple(dataclasses.replace(report, history=None) for report in notification.reports)
    notification = dataclasses.replace(notification, reports=tips)
    seen = []
    for limit in range(40_000, 1_999, -250):
        text = names_shown(render(notification, RenderSettings(message_limit=limit)))
        seen.append(("• `src/module_" in text, "body body" in text))
    first_gone = [next((i for i, row in enumerate(seen) if not row[c]), len(seen)) for c in range(2)]
    assert first_gone[0] < first_gone[1] < len(seen), first_gone


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.lists(st.text(NAME_CHARS, min_size=1, max_size=240), min_size=1, max_size=16),
    subject=st.text(NAME_CHARS, max_size=400),
    body=st.text(NAME_CHARS, max_size=3_000),
    commits=st.integers(1, 12),
    files=st.integers(0, 80),
    limit=st.integers(2_000, 9_000),
    flavour=st.sampled_from([SLACK, MATTERMOST]),
)
def test_every_reference_is_named_whole_or_counted(
    names: list[str], subject: str, body: str, commits: int, files: int, limit: int, flavour: Markup
) -> None:
    names = [f"{index}-{name}" for index, name in enumerate(names)]  # distinct, none inside another
    listed = tuple(
        Commit(f"{n:040x}", f"{subject}\n\n{body}", PERSON, PERSON, (f"{n + 1:040x}",))
        for n in range(commits)
    )
    changed = tuple(FileChange(ChangeType.MODIFIED, f"src/{'deep/' * 10}{i}.py") for i in range(files))
    history = BranchHistory(
        HistoryRelation.FAST_FORWARD, listed, commits, previous_id="e" * 40, base_id="e" * 40
    )
    changes = tuple(
        RefChange(f"refs/heads/{n}", RefKind.BRANCH, n, RefAction.UPDATED, "0" * 40) for n in names
    )
    reports = tuple(RefReport(c, listed[0], None, (ParentDiff("1" * 40, changed),), history) for c in changes)
    render_settings = RenderSettings(message_limit=limit)
    push = Push(REPO, parse_pusher("arn:aws:iam::1:user/ana.long-name"), changes, None, "id", "trigger")
    notification = Notification(
        push, reports[: render_settings.max_refs], changes[render_settings.max_refs :]
    )
    payload = render(notification, render_settings, flavour)
    assert payload_length(payload) <= flavour.message_limit(limit)
    assert all(len(a.get("text", "")) <= render_settings.section_limit for a in payload["attachments"])
    shown = names_shown(payload)
    missing = [name for name in names if flavour.code(name, 2_000) not in shown]
    assert len(missing) == counted_in_more(payload), missing
    assert "ana.long-name" in payload["text"] and "payments-service" in payload["text"]
