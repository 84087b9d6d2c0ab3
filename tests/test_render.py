"""Render: colours, banners, limits and escaping, on Notifications built directly (rendering is pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from handler.errors import ConfigurationError
from handler.events import parse_pusher
from handler.model import (
    ChangeType,
    Commit,
    FileChange,
    Notification,
    ParentDiff,
    Person,
    Push,
    RefAction,
    RefChange,
    RefKind,
    RefReport,
    Repository,
)
from handler.render import payload_length, render
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


def one(change: RefChange, **kwargs: object) -> dict[str, object]:
    payload = render(Notification(push_of(change), (report(change, **kwargs),)), RenderSettings())  # type: ignore[arg-type]
    return payload["attachments"][0]  # type: ignore[no-any-return]


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


def test_deleted_branch_is_flagged_and_new_ones_announced() -> None:
    assert "BRANCH DELETED" in str(one(branch("feature/x", RefAction.DELETED))["pretext"])
    assert "New branch" in str(one(branch("feature/x", RefAction.CREATED))["pretext"])
    assert "New tag" in str(one(branch("v1", RefAction.CREATED, RefKind.TAG))["pretext"])
    assert "pretext" not in one(branch("feature/x"))


def test_test_trigger_is_marked() -> None:
    change = branch("main")
    payload = render(Notification(push_of(change, is_test=True), (report(change),)), RenderSettings())
    assert payload["text"].startswith("[Test trigger]")
    assert "Test trigger" in payload["attachments"][0]["pretext"]


def test_links_use_region_and_keep_slashes() -> None:
    attachment = one(branch("feature/login-v2"))
    assert attachment["title_link"] == (
        "https://eu-central-1.console.aws.amazon.com/codesuite/codecommit/repositories/repo/"
        "browse/refs/heads/feature/login-v2?region=eu-central-1"
    )


def test_china_partition_uses_its_console() -> None:
    change = branch("main")
    push = Push(Repository("r", "cn-north-1", "1", "aws-cn"), parse_pusher(""), (change,), None, "", "")
    payload = render(Notification(push, (report(change),)), RenderSettings())
    assert payload["attachments"][0]["title_link"].startswith("https://cn-north-1.console.amazonaws.cn/")
    assert "ts" not in payload["attachments"][0]


def test_file_list_stops_at_the_limit_and_counts_the_rest() -> None:
    text = str(one(branch("main"), files=45)["text"])
    assert "45 files: 45 added" in text
    assert text.count("• `f") == 20
    assert "… and 25 more files" in text


def test_overflow_references_are_named_not_dropped() -> None:
    changes = tuple(branch(f"b{i}", RefAction.CREATED) for i in range(25))
    settings = RenderSettings(max_refs=10)
    notification = Notification(push_of(*changes), tuple(report(c) for c in changes[:10]), changes[10:])
    payload = render(notification, settings)
    assert len(payload["attachments"]) == 11
    overflow = payload["attachments"][-1]["text"]
    assert "… and 15 more references" in overflow
    assert all(f"`b{i}`" in overflow for i in range(10, 25))


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
