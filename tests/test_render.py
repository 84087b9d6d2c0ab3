"""Render: anatomy, whole pushes, wording, colours, limits and escaping, on Notifications built directly.

Rendering is pure, so each test hands in the Notification enrich would build (including the
``BranchHistory`` of a whole push) and reads the payload.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from handler.errors import ConfigurationError
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
    TagAnnotation,
    parse_pusher,
)
from handler.render.links import commit_url, compare_url, repository_url
from handler.render.push import payload_length, render
from handler.settings import RenderSettings, Settings, parse_colors

REPO = Repository("repo", "eu-central-1", "123456789012")
PERSON = Person("Ana", "ana@example.com", datetime(2026, 1, 2, 3, 4, tzinfo=UTC))


def branch(name: str, action: RefAction = RefAction.UPDATED, kind: RefKind = RefKind.BRANCH) -> RefChange:
    prefix = {RefKind.BRANCH: "refs/heads/", RefKind.TAG: "refs/tags/", RefKind.OTHER: ""}[kind]
    return RefChange(prefix + name, kind, name, action, "a" * 40)


def push_of(*changes: RefChange, is_test: bool = False) -> Push:
    return Push(
        REPO,
        parse_pusher("arn:aws:iam::1:user/ana"),
        changes,
        datetime(2026, 11, 20, tzinfo=UTC),
        "id",
        "trigger",
        is_test=is_test,
    )


def commit(message: str = "Subject\n\nBody", parents: tuple[str, ...] = ("b" * 40,)) -> Commit:
    return Commit("a" * 40, message, PERSON, PERSON, parents)


def report(change: RefChange, files: int = 0, message: str = "Subject\n\nBody") -> RefReport:
    diff = ParentDiff("b" * 40, tuple(FileChange(ChangeType.ADDED, f"f{i:04}.txt") for i in range(files)))
    return RefReport(change, commit(message), None, (diff,))


def render_one(change: RefChange, **kwargs: object) -> dict[str, Any]:
    return render(Notification(push_of(change), (report(change, **kwargs),)), RenderSettings())  # type: ignore[arg-type]


def one(change: RefChange, **kwargs: object) -> dict[str, Any]:
    return render_one(change, **kwargs)["attachments"][0]  # type: ignore[no-any-return]


def numbered(count: int, author: str = "Ana") -> tuple[Commit, ...]:
    """``count`` commits, newest first: ``c{count-1}`` … ``c0``, ids ``{n:040x}``."""
    person = Person(author, "a@example.com", None)
    return tuple(
        Commit(f"{n:040x}", f"c{n} subject\n\nbody {n}", person, person, (f"{n - 1:040x}",))
        for n in reversed(range(1, count + 1))
    )


def pushed(history: BranchHistory, action: RefAction = RefAction.UPDATED, **kwargs: Any) -> dict[str, Any]:
    """Render a push of ``main`` whose tip is the history's newest commit."""
    change = RefChange("refs/heads/main", RefKind.BRANCH, "main", action, history.commits[0].commit_id)
    diff = ParentDiff(history.commits[0].parent_ids[0], (FileChange(ChangeType.MODIFIED, "tip.py"),))
    notification = Notification(
        push_of(change), (RefReport(change, history.commits[0], None, (diff,), history),)
    )
    return render(notification, RenderSettings(**kwargs))


def everything(payload: dict[str, Any]) -> str:
    return str(payload["text"]) + "\n" + "\n".join(a.get("text", "") for a in payload["attachments"])


@pytest.mark.parametrize(
    ("name", "color"),
    [
        ("develop", "#FFE400"),
        ("main", "#FF0000"),
        ("master", "#FF0000"),
        ("feature/x", "#5F00FF"),
        ("developer", "#5F00FF"),
    ],
)
def test_default_colours(name: str, color: str) -> None:
    assert one(branch(name))["color"] == color


def test_configured_colours_match_exact_names_then_globs_then_full_refs() -> None:
    settings = RenderSettings(
        colors=parse_colors(
            '{"release/*": "#00AA00", "release/hot": "#111111", "refs/tags/*": "#222222", "*": "#333333"}'
        )
    )
    assert settings.color_for("refs/heads/release/hot", "release/hot") == "#111111"
    assert settings.color_for("refs/heads/release/1.0", "release/1.0") == "#00AA00"
    assert settings.color_for("refs/tags/v1", "v1") == "#222222"
    assert settings.color_for("refs/heads/other", "other") == "#333333"


@pytest.mark.parametrize("text", ['{"main": "red"}', "[1]", "not json", "{}"])
def test_bad_colour_settings_say_what_to_fix(text: str) -> None:
    with pytest.raises(ConfigurationError, match="BRANCH_COLORS"):
        parse_colors(text)


def test_links_use_region_and_keep_slashes() -> None:
    payload = render_one(branch("feature/login-v2"))
    assert (
        "<https://eu-central-1.console.aws.amazon.com/codesuite/codecommit/repositories/repo/"
        "browse/refs/heads/feature/login-v2?region=eu-central-1|`feature/login-v2`>"
    ) in payload["text"]


def test_china_partition_uses_its_console() -> None:
    change = branch("main")
    push = Push(Repository("r", "cn-north-1", "1", "aws-cn"), parse_pusher(""), (change,), None, "", "")
    payload = render(Notification(push, (report(change),)), RenderSettings())
    assert "<https://cn-north-1.console.amazonaws.cn/" in payload["text"]
    assert "ts" not in payload["attachments"][0]


def test_file_list_stops_at_the_limit_and_counts_the_rest() -> None:
    text = str(one(branch("main"), files=45)["text"])
    assert "*45 files added*" in text
    assert text.count("• `f") == 20
    assert "… and 25 more files" in text


def test_overflow_references_are_named_not_dropped() -> None:
    changes = tuple(branch(f"b{i}", RefAction.CREATED) for i in range(25))
    settings = RenderSettings(max_refs=10)
    notification = Notification(push_of(*changes), tuple(report(c) for c in changes[:10]), changes[10:])
    payload = render(notification, settings)
    assert len(payload["attachments"]) == 11
    overflow = payload["attachments"][-1]["text"]
    assert overflow.startswith("*15 more references*, listed but not read")
    assert all(f"`b{i}`" in overflow for i in range(10, 25))
    assert "the first" not in overflow and "… and" not in overflow


def test_overflow_lists_whole_names_and_says_how_many_it_shows() -> None:
    changes = tuple(branch(f"v1.{i}.0-" + "x" * 30, RefAction.CREATED, RefKind.TAG) for i in range(4_000))
    notification = Notification(push_of(*changes), tuple(report(c) for c in changes[:10]), changes[10:])
    overflow = render(notification, RenderSettings())["attachments"][-1]["text"]
    heading, *lines, last = overflow.split("\n")
    shown = int(re.search(r"the first (\d+):", heading).group(1))  # type: ignore[union-attr]
    assert heading.startswith("*3,990 more references*")
    assert len(lines) == shown and last == f"… and {3_990 - shown:,} more"
    assert all(re.fullmatch(r"• created tag `v1\.\d+\.0-x{30}` at `a{7}`", line) for line in lines)


def test_huge_message_and_many_files_stay_within_limits() -> None:
    message = "Subject " + "x" * 70_000 + "\n\n" + ("body & <!here> 🙂 " * 5_000)
    changes = tuple(branch(f"feature/{i}") for i in range(10))
    reports = tuple(report(c, files=2_000, message=message) for c in changes)
    for limit in (40_000, 7_900, 2_000):
        payload = render(Notification(push_of(*changes), reports), RenderSettings(message_limit=limit))
        assert payload_length(payload) <= limit
        assert all(len(a["text"]) <= 3_000 for a in payload["attachments"])
        assert "<!here>" not in json.dumps(payload)


def test_settings_from_environment_validate_each_value() -> None:
    settings = Settings.from_environ({"MAX_FILES_PER_DIFF": "5", "SLACK_WEBHOOK_URL": "https://x.example/a"})
    assert settings.render.max_files == 5
    with pytest.raises(ConfigurationError, match="MAX_MESSAGE_CHARS must be between 2000 and 40000"):
        Settings.from_environ({"MAX_MESSAGE_CHARS": "50000"})
    with pytest.raises(ConfigurationError, match="MAX_REFS_PER_MESSAGE must be a whole number"):
        Settings.from_environ({"MAX_REFS_PER_MESSAGE": "ten"})


# --- Anatomy: who, what and where once ----------------------------------------------------------


def test_a_new_branch_says_who_what_and_where_once_in_the_first_line() -> None:
    change = branch("feature/x", RefAction.CREATED)
    payload = render_one(change)
    assert payload["text"] == (
        f"ana created branch <{ref_url_of('feature/x')}|`feature/x`> in <{repository_url(REPO)}|repo>"
    )
    [attachment] = payload["attachments"]
    assert not {"pretext", "author_name", "title", "fields"} & attachment.keys()
    shown = everything(payload)
    assert shown.count("ana") == 1 and shown.count("feature/x`") == 1 and shown.count("|repo>") == 1


def ref_url_of(name: str) -> str:
    return (
        "https://eu-central-1.console.aws.amazon.com/codesuite/codecommit/repositories/repo/"
        f"browse/refs/heads/{name}?region=eu-central-1"
    )


def test_footer_is_plain_and_only_on_the_last_attachment() -> None:
    changes = (branch("a"), branch("b"))
    payload = render(Notification(push_of(*changes), tuple(report(c) for c in changes)), RenderSettings())
    first, last = payload["attachments"]
    assert "footer" not in first and "ts" not in first
    assert last["footer"] == "AWS CodeCommit · eu-central-1"
    assert last["ts"] == int(datetime(2026, 11, 20, tzinfo=UTC).timestamp())


def test_several_references_are_counted_truthfully_and_each_says_what_it_is() -> None:
    created = tuple(branch(f"b{i}", RefAction.CREATED) for i in range(3))
    payload = render(Notification(push_of(*created), tuple(report(c) for c in created)), RenderSettings())
    assert payload["text"].startswith("ana created 3 branches in <")
    assert payload["attachments"][0]["text"].startswith(f"*Created branch* <{ref_url_of('b0')}|`b0`>")
    mixed = (branch("main"), branch("v1", RefAction.CREATED, RefKind.TAG), branch("old", RefAction.DELETED))
    payload = render(Notification(push_of(*mixed), tuple(report(c) for c in mixed)), RenderSettings())
    assert payload["text"].startswith("ana created 1 tag, pushed to 1 branch and deleted 1 branch in <")
    assert payload["attachments"][2]["text"].startswith("*Deleted branch* `old`")


def test_test_trigger_says_nothing_was_pushed() -> None:
    change = branch("main")
    payload = render(Notification(push_of(change, is_test=True), (report(change),)), RenderSettings())
    assert payload["text"].startswith(":test_tube: ana sent a test notification for <")
    assert payload["text"].endswith("; nothing was pushed.")
    assert "pushed to" not in json.dumps(payload)
    assert payload["attachments"][0]["text"].startswith("*Example* from branch `main`:\n<")


# --- Whole pushes --------------------------------------------------------------------------------


def test_fast_forward_links_the_count_to_the_comparison_and_lists_commits_newest_first() -> None:
    commits = numbered(3)
    history = BranchHistory(HistoryRelation.FAST_FORWARD, commits, 3, previous_id="0" * 39 + "f")
    payload = pushed(history)
    compare = compare_url(REPO, "0" * 39 + "f", commits[0].commit_id)
    assert payload["text"] == (
        f"ana pushed <{compare}|3 new commits> to <{ref_url_of('main')}|`main`> "
        f"in <{repository_url(REPO)}|repo>"
    )
    lines = payload["attachments"][0]["text"].split("\n")
    assert lines[:3] == [
        f"<{commit_url(REPO, commit.commit_id)}|`{commit.commit_id[:7]}`> c{n} subject — Ana"
        for n, commit in zip((3, 2, 1), commits, strict=True)
    ]
    assert "body" not in payload["attachments"][0]["text"]
    assert f"*1 file modified* by `{commits[0].commit_id[:7]}`" in lines


def test_commit_list_stops_at_max_commits_and_counts_the_rest() -> None:
    history = BranchHistory(HistoryRelation.FAST_FORWARD, numbered(12), 25, previous_id="f" * 40)
    text = pushed(history, max_commits=10)["attachments"][0]["text"]
    assert text.count(" subject — Ana") == 10
    assert "\n… and 15 more commits\n" in text
    bounded = BranchHistory(HistoryRelation.FAST_FORWARD, numbered(12), 1_000, False, previous_id="f" * 40)
    payload = pushed(bounded, max_commits=10)
    assert "|at least 1,000 new commits>" in payload["text"]
    assert "… and at least 990 more commits" in payload["attachments"][0]["text"]


def test_one_new_commit_is_singular() -> None:
    history = BranchHistory(HistoryRelation.FAST_FORWARD, numbered(1), 1, previous_id="f" * 40)
    payload = pushed(history)
    assert "|1 new commit> to" in payload["text"]
    assert "files changed* by" not in payload["attachments"][0]["text"]


@pytest.mark.parametrize(
    ("dropped", "exact", "said"),
    [
        (2, True, "2 commits dropped"),
        (None, True, "commits were dropped"),
        (50, False, "at least 50 commits"),
    ],
)
def test_force_push_is_flagged_first(dropped: int | None, exact: bool, said: str) -> None:
    history = BranchHistory(
        HistoryRelation.FORCED, numbered(3), 3, previous_id="f" * 40, dropped=dropped, dropped_exact=exact
    )
    payload = pushed(history)
    assert payload["text"].startswith(":warning: ana *force-pushed* <")
    assert f": {said}" in payload["text"] and "|3 new commits>" in payload["text"]
    assert payload["attachments"][0]["color"] == "#FF0000"


def test_force_push_among_several_references_is_flagged_in_the_first_line_too() -> None:
    history = BranchHistory(HistoryRelation.FORCED, numbered(1), 1, previous_id="f" * 40, dropped=4)
    main = RefChange(
        "refs/heads/main", RefKind.BRANCH, "main", RefAction.UPDATED, history.commits[0].commit_id
    )
    tag = branch("v1", RefAction.CREATED, RefKind.TAG)
    notification = Notification(
        push_of(main, tag), (RefReport(main, history.commits[0], None, (), history), report(tag))
    )
    payload = render(notification, RenderSettings())
    assert payload["text"].startswith(":warning: ana created 1 tag and pushed to 1 branch in <")
    assert payload["text"].endswith(", with a *force push*")
    assert payload["attachments"][0]["text"].startswith(":warning: *Force-pushed* <")


def test_new_branch_lists_its_commits_and_what_it_brings_against_the_default_branch() -> None:
    combined = (FileChange(ChangeType.ADDED, "new.py"), FileChange(ChangeType.DELETED, "old.py"))
    history = BranchHistory(
        HistoryRelation.BRANCHED, numbered(2), 2, base_id="e" * 40, base_ref="main", combined_changes=combined
    )
    payload = pushed(history, RefAction.CREATED)
    compare = compare_url(REPO, "e" * 40, history.commits[0].commit_id)
    assert payload["text"].endswith(f"|repo>: <{compare}|2 commits> not on `main`")
    text = payload["attachments"][0]["text"]
    assert "*2 files changed* on this branch, against `main`: 1 added, 1 deleted" in text
    assert "`new.py`" in text and "`old.py`" in text
    assert "tip.py" not in text, "the tip commit's own files are not what the branch brings"
    failed = BranchHistory(
        HistoryRelation.BRANCHED, numbered(1), 1, base_ref="main", combined_error="timeout"
    )
    text = pushed(failed, RefAction.CREATED)["attachments"][0]["text"]
    assert "*Files changed* on this branch, against `main` could not be read: _timeout_" in text


def test_default_branch_and_unrelated_history_are_said_plainly() -> None:
    default = BranchHistory(HistoryRelation.DEFAULT_BRANCH, numbered(3), 3)
    assert pushed(default, RefAction.CREATED)["text"].endswith("|repo>: the default branch, with 3 commits")
    unrelated = BranchHistory(HistoryRelation.UNRELATED, numbered(2), 2, base_ref="main")
    assert pushed(unrelated, RefAction.CREATED)["text"].endswith(
        "|repo>: 2 commits, sharing no history with the default branch `main`"
    )


def test_first_sight_of_a_branch_shows_its_tip_commit() -> None:
    text = one(branch("main"))["text"]
    assert text.startswith(f"<{commit_url(REPO, 'a' * 40)}|`aaaaaaa`> *Subject* — Ana\nBody")


# --- Tags, deletes, merges, unreadable commits ---------------------------------------------------


def test_annotated_tag_shows_its_peeled_commit_like_a_lightweight_tag() -> None:
    change = RefChange("refs/tags/v1", RefKind.TAG, "v1", RefAction.CREATED, "7" * 40)
    annotated = RefReport(change, commit("Release"), None, tag_object_id="7" * 40)
    payload = render(Notification(push_of(change), (annotated,)), RenderSettings())
    assert payload["attachments"][0]["text"] == f"<{commit_url(REPO, 'a' * 40)}|`aaaaaaa`> *Release* — Ana"
    assert "777" not in json.dumps(payload)


NOT_A_COMMIT = (
    "no commit has this id (it may be an annotated tag's object id, or a commit removed with its branch)"
)


@pytest.mark.parametrize(
    ("kind", "action", "said"),
    [
        (RefKind.TAG, RefAction.CREATED, "It points at `bbbbbbb`, which could not be read as a commit."),
        (RefKind.TAG, RefAction.DELETED, "It pointed at `bbbbbbb`."),
        (RefKind.BRANCH, RefAction.DELETED, "It pointed at `bbbbbbb`."),
        (RefKind.BRANCH, RefAction.UPDATED, "_Commit `bbbbbbb` could not be read: no commit has this id._"),
    ],
)
def test_an_unreadable_commit_is_worded_for_its_kind(kind: RefKind, action: RefAction, said: str) -> None:
    change = RefChange("refs/x/y", kind, "y", action, "b" * 40)
    payload = render(
        Notification(push_of(change), (RefReport(change, None, NOT_A_COMMIT),)), RenderSettings()
    )
    assert payload["attachments"][0]["text"] == said


def test_a_delete_names_its_commit_once_and_never_says_unknown() -> None:
    change = branch("old", RefAction.DELETED)
    payload = render(Notification(push_of(change), (RefReport(change, commit(), None),)), RenderSettings())
    assert everything(payload).count("`aaaaaaa`") == 1
    assert payload["attachments"][0]["text"].startswith("Its last commit: <")
    gone = RefChange("refs/heads/old", RefKind.BRANCH, "old", RefAction.DELETED, None)
    payload = render(
        Notification(push_of(gone), (RefReport(gone, None, "the trigger gave no commit id"),)),
        RenderSettings(),
    )
    assert "unknown" not in json.dumps(payload) and payload["attachments"] == []
    assert payload["text"].startswith("ana deleted branch `old` in <")


def test_a_merge_shows_what_it_brought_in_against_its_first_parent_only() -> None:
    change = branch("main")
    merge = commit("Merge", parents=("1" * 40, "2" * 40))
    first = ParentDiff("1" * 40, (FileChange(ChangeType.ADDED, "a.py"),))
    meanwhile = ParentDiff("2" * 40, (FileChange(ChangeType.MODIFIED, "gained-meanwhile.py"),))
    both = RefReport(change, merge, None, (first, meanwhile))
    text = render(Notification(push_of(change), (both,)), RenderSettings())["attachments"][0]["text"]
    assert "*1 file added* by this merge, against its first parent `1111111`" in text
    assert "2222222" not in text and "gained-meanwhile" not in text


def test_a_whole_push_shows_the_files_it_changed_as_a_whole() -> None:
    listed = numbered(5)
    changed = (FileChange(ChangeType.ADDED, "new.py"), FileChange(ChangeType.MODIFIED, "old.py"))
    history = BranchHistory(
        HistoryRelation.FAST_FORWARD,
        listed,
        5,
        previous_id="0" * 40,
        base_id="0" * 40,
        combined_changes=changed,
    )
    text = pushed(history)["attachments"][0]["text"]
    assert "*2 files changed* by this push: 1 added, 1 modified" in text
    assert "tip.py" not in text and " by `" not in text


def test_a_force_push_lists_the_commits_it_dropped() -> None:
    dropped = tuple(
        Commit(f"{n:040x}", f"gone {n}", PERSON, PERSON, (f"{n - 1:040x}",)) for n in range(90, 78, -1)
    )
    history = BranchHistory(
        HistoryRelation.FORCED,
        numbered(1),
        1,
        previous_id=dropped[0].commit_id,
        base_id="f" * 40,
        dropped=30,
        dropped_commits=dropped[:10],
    )
    text = pushed(history, max_commits=3)["attachments"][0]["text"]
    assert "*Dropped* (no longer on the branch):" in text
    assert [line.split("> ", 1)[1] for line in text.split("\n") if "gone" in line] == [
        "gone 90 — Ana",
        "gone 89 — Ana",
        "gone 88 — Ana",
    ]
    assert "\n… and 27 more dropped commits\n" in text


# --- Safety and limits with whole pushes ---------------------------------------------------------


def test_hostile_text_in_a_whole_push_is_escaped() -> None:
    person = Person("<!channel> Mal", "m@<!here>", None)
    hostile = tuple(
        Commit(f"{n:040x}", f"<!here> & <@U1> <https://evil|x> {n}", person, person, ("f" * 40,))
        for n in range(3)
    )
    history = BranchHistory(
        HistoryRelation.BRANCHED,
        hostile,
        3,
        base_id="f" * 40,
        base_ref="<!everyone>",
        combined_changes=(FileChange(ChangeType.ADDED, "<!channel>.py"),),
    )
    payload = pushed(history, RefAction.CREATED)
    dumped = json.dumps(payload)
    assert not re.search(r"<[!@]", dumped)
    assert "&lt;!here&gt; &amp; &lt;@U1&gt;" in payload["attachments"][0]["text"]


def test_ten_whole_pushes_stay_within_the_limits() -> None:
    person = Person("N" * 500, "", None)
    long = tuple(
        Commit(f"{n:040x}", "S" * 5_000 + " <!here> 🙂" * 100, person, person, ("f" * 40,)) for n in range(10)
    )
    many = tuple(FileChange(ChangeType.ADDED, f"dir/{'p' * 200}{i}") for i in range(500))
    history = BranchHistory(
        HistoryRelation.BRANCHED,
        long,
        10_000,
        False,
        base_id="f" * 40,
        base_ref="main",
        combined_changes=many,
    )
    changes = tuple(
        RefChange(f"refs/heads/b{i}", RefKind.BRANCH, f"b{i}", RefAction.CREATED, long[0].commit_id)
        for i in range(10)
    )
    reports = tuple(RefReport(change, long[0], None, (), history) for change in changes)
    for limit in (40_000, 7_900, 2_000):
        payload = render(Notification(push_of(*changes), reports), RenderSettings(message_limit=limit))
        assert payload_length(payload) <= limit
        assert all(len(a.get("text", "")) <= 3_000 for a in payload["attachments"])
        assert "<!here>" not in json.dumps(payload)


def test_a_push_that_adds_nothing_says_where_the_branch_points_and_lists_nothing() -> None:
    tip = numbered(1)
    link = f"<{commit_url(REPO, tip[0].commit_id)}|`{tip[0].commit_id[:7]}`>"
    branched = BranchHistory(HistoryRelation.BRANCHED, (), 0, base_id=tip[0].commit_id, base_ref="main")
    change = RefChange("refs/heads/r", RefKind.BRANCH, "r", RefAction.CREATED, tip[0].commit_id)
    notification = Notification(push_of(change), (RefReport(change, tip[0], None, (), branched),))
    payload = render(notification, RenderSettings())
    assert payload["text"].endswith(f"|repo>: at {link}, a commit already on `main`")
    assert payload["attachments"] == []  # an attachment with nothing to say would be only a footer
    rewound = BranchHistory(HistoryRelation.FORCED, (), 0, previous_id="f" * 40, dropped=3)
    main = RefChange("refs/heads/main", RefKind.BRANCH, "main", RefAction.UPDATED, tip[0].commit_id)
    payload = render(
        Notification(push_of(main), (RefReport(main, tip[0], None, (), rewound),)), RenderSettings()
    )
    assert payload["text"].endswith(f": 3 commits dropped, no new commits, now at {link}")


def test_two_tags_on_one_commit_show_the_commit_once() -> None:
    tags = (branch("v1", RefAction.CREATED, RefKind.TAG), branch("v1-light", RefAction.CREATED, RefKind.TAG))
    payload = render(Notification(push_of(*tags), tuple(report(tag) for tag in tags)), RenderSettings())
    first, second = (attachment["text"] for attachment in payload["attachments"])
    assert "*Subject*" in first and "Body" in first
    assert "Subject" not in second and second.endswith("`aaaaaaa`>, shown above.")


def test_an_annotated_tag_shows_its_message_and_tagger_above_its_commit() -> None:
    tag = branch("v2", RefAction.CREATED, RefKind.TAG)
    annotation = TagAnnotation(Person("Zoë <!here>", "z@example.com", None), "Release 2 *now*\n\nNotes")
    notification = Notification(push_of(tag), (dataclasses.replace(report(tag), tag=annotation),))
    text = render(notification, RenderSettings())["attachments"][0]["text"]
    assert text.startswith(":label: *Release 2 *now** — tagged by Zoë &lt;!here&gt;\n<")
    assert "Notes" not in text
