"""USER_MAP (three sources, validation, lookups, wildcard pools), review commands, PULL_REQUEST_EVENTS,
and the deployed entry point reading the map from SSM and pull requests from CodeCommit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

import handler.app
from handler.app import lambda_handler
from handler.errors import ConfigurationError
from handler.model import IdentityMatch
from handler.pull_requests.commands import parse_review_commands, split_command
from handler.pull_requests.model import ActivityKind, Identity, ReviewCommand
from handler.pull_requests.people import ChatUser, Person, UserMap, pool_people, reviewers
from handler.pull_requests.settings import DEFAULT_KINDS, PullRequestSettings, parse_event_kinds
from handler.render.pull_request import is_draft_title
from tests.pull_request_scenarios import ALICE, BOB, CAROL, REVIEW_ROLE, build_scenarios
from tests.standins import codecommit
from tests.standins.slack import SlackStandIn


@pytest.mark.parametrize(
    "value",
    [
        "<!channel>",
        "channel",
        "@here",
        "all",
        "U12 <!here>",
        "<@U024BE7LH>",
        "Alice Kim",
        "",
        42,
        None,
        "B0BOT",
    ],
)
def test_map_values_that_could_inject_or_are_not_ids_are_refused(value: object) -> None:
    with pytest.raises(ConfigurationError, match=r"USER_MAP\['alice'\] must be a Slack member id"):
        UserMap.parse(json.dumps({"alice": value}))


def test_slack_ids_and_mattermost_names_render_as_mentions() -> None:
    assert ChatUser("U024BE7LH").mention == "<@U024BE7LH>"
    assert ChatUser("W0ENTERPRISE").mention == "<@W0ENTERPRISE>"
    assert ChatUser("alice.kim").mention == "@alice.kim"


def test_lookup_by_arn_then_email_then_name_ignoring_case() -> None:
    """With IDENTITY_MATCH=name (tests/test_identity.py covers the default, arn)."""
    user_map = UserMap.parse(
        json.dumps({ALICE: "U0ALICE01", "Bob@Example.com": "U0BOB0001", "carol": "U0CAROL01"})
    ).matching(IdentityMatch.NAME)
    assert user_map.lookup(Identity(ALICE, "alice")) == ChatUser("U0ALICE01")
    assert user_map.lookup(
        Identity("arn:aws:sts::1:assumed-role/Dev/x", "x", email="bob@example.com")
    ) == ChatUser("U0BOB0001")
    assert user_map.lookup(Identity("arn:aws:sts::1:assumed-role/Dev/Carol", "Carol")) == ChatUser(
        "U0CAROL01"
    )
    assert user_map.lookup(Identity("arn:aws:iam::1:user/dave", "dave")) is None


def test_wildcard_pool_expands_to_matching_arn_keys_and_keeps_its_phrase() -> None:
    user_map = UserMap.parse(json.dumps({CAROL: "U0CAROL01", BOB: "U0BOB0001"}))
    people = pool_people(REVIEW_ROLE, user_map)
    assert [someone.label for someone in people] == [
        "anyone in role CodeCommitReview",
        "carol@example.com (role CodeCommitReview)",
    ]
    assert people[1].chat == ChatUser("U0CAROL01")


def test_reviewers_exclude_the_author_even_through_a_wildcard() -> None:
    author_session = "arn:aws:sts::123456789012:assumed-role/CodeCommitReview/alice"
    user_map = UserMap.parse(
        json.dumps({author_session: "U0ALICE01", "alice": "U0ALICE01", BOB: "U0BOB0001"})
    )
    author = Person("alice", ALICE, ChatUser("U0ALICE01"))
    found = reviewers((ALICE, REVIEW_ROLE, BOB, BOB), author, user_map)
    assert [someone.label for someone in found] == ["anyone in role CodeCommitReview", "bob"]


@pytest.mark.parametrize(
    ("title", "draft"),
    [
        ("Draft: x", True),
        ("draft:x", True),
        ("  [DRAFT] x", True),
        ("WIP: x", True),
        ("wip: x", True),
        ("[WIP] x", False),
        ("Drafting the plan", False),
        ("Fix draft: handling", False),
    ],
)
def test_draft_markers(title: str, draft: bool) -> None:
    assert is_draft_title(title) is draft


def test_review_commands_defaults_aliases_and_renames() -> None:
    commands = parse_review_commands("")
    assert split_command("/review-done  looks good\nthanks", commands) == (
        ReviewCommand.REVIEW_DONE,
        "looks good\nthanks",
    )
    assert split_command("/리뷰다시", commands) == (ReviewCommand.RE_REVIEW, "")
    assert split_command("/Ping-Reviewers?", commands) == (None, "/Ping-Reviewers?")
    assert split_command("/PING-REVIEWERS q", commands) == (ReviewCommand.PING_REVIEWERS, "q")
    assert split_command("please /review-done", commands) == (None, "please /review-done")
    renamed = parse_review_commands('{"/lgtm": "review-done", "/리뷰완료": null}')
    assert renamed["/lgtm"] is ReviewCommand.REVIEW_DONE and "/리뷰완료" not in renamed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1]", "must be a JSON object"),
        ('{"lgtm": "review-done"}', "must be one word starting with /"),
        ('{"/lgtm": "approve"}', "must be one of review-done, re-review, ping-reviewers or null"),
        ("{", "not valid JSON"),
    ],
)
def test_bad_review_commands_say_what_to_fix(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_review_commands(text)


def test_event_kinds() -> None:
    assert parse_event_kinds("") == (DEFAULT_KINDS, True)
    assert ActivityKind.COMMENT_EDITED not in DEFAULT_KINDS and ActivityKind.RULE_CHANGED not in DEFAULT_KINDS
    kinds, commands = parse_event_kinds("default, -comment, -updated")
    assert ActivityKind.COMMENT not in kinds and ActivityKind.SOURCE_UPDATED not in kinds and commands
    assert parse_event_kinds("opened,merged") == (
        frozenset({ActivityKind.OPENED, ActivityKind.MERGED}),
        False,
    )
    assert parse_event_kinds("all,-review-command") == (frozenset(ActivityKind), False)
    with pytest.raises(ConfigurationError, match="PULL_REQUEST_EVENTS: 'approvals' is not one of"):
        parse_event_kinds("approvals")


def test_user_map_sources_merge_file_then_parameter_then_environment(tmp_path: Path) -> None:
    (tmp_path / "people.json").write_text(json.dumps({"alice": "U0FILE001", "bob": "U0FILE002"}))
    environ = {
        "LAMBDA_TASK_ROOT": str(tmp_path),
        "USER_MAP_FILE": "people.json",
        "USER_MAP_PARAMETER": "/notifier/users",
        "USER_MAP": json.dumps({"carol": "U0ENV0003"}),
        "IDENTITY_MATCH": "name",
    }
    settings = PullRequestSettings.from_environ(
        environ,
        read_parameter=lambda name: json.dumps({"bob": "U0PARAM02"}) if name == "/notifier/users" else "",
    )
    lookup = settings.user_map.lookup
    assert lookup(Identity("", "alice")) == ChatUser("U0FILE001")
    assert lookup(Identity("", "bob")) == ChatUser("U0PARAM02")
    assert lookup(Identity("", "carol")) == ChatUser("U0ENV0003")


def test_missing_user_map_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"USER_MAP_FILE .nope\.json. cannot be read"):
        PullRequestSettings.from_environ({"USER_MAP_FILE": "nope.json", "LAMBDA_TASK_ROOT": str(tmp_path)})


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch, slack_standin: SlackStandIn) -> Iterator[Any]:
    """A fresh container whose USER_MAP is an SSM SecureString (moto) and CodeCommit the stand-in."""
    with codecommit.running({}) as stand_in, mock_aws():
        scenarios = build_scenarios(stand_in.pull_requests)
        boto3.client("ssm", region_name="us-east-2").put_parameter(
            Name="/notifier/users",
            Type="SecureString",
            Value=json.dumps({ALICE: "U0ALICE01", BOB: "U0BOB0001"}),
        )
        monkeypatch.setattr(handler.app, "_lambda_runtime", None)
        monkeypatch.setenv("AWS_ENDPOINT_URL_CODECOMMIT", stand_in.url)
        monkeypatch.setenv("SLACK_WEBHOOK_URL", slack_standin.url)
        monkeypatch.setenv("USER_MAP_PARAMETER", "/notifier/users")
        yield scenarios


def test_lambda_handler_posts_a_pull_request_event_direct_and_in_sns(
    deployed: Any, slack_standin: SlackStandIn
) -> None:
    approved = deployed["approved"].events[0]
    assert lambda_handler(approved, Context()) == {"delivered": 1}
    assert lambda_handler(build_scenarios_sns({**approved, "id": "another"}), Context()) == {"delivered": 1}
    first, second = slack_standin.delivered
    assert first == second
    assert first["text"] == (
        "bob approved <https://eu-west-1.console.aws.amazon.com/codesuite/codecommit/repositories/"
        "payments-service/pull-requests/16/details?region=eu-west-1|#16 Rate limits> by <@U0ALICE01>:"
        " 1 of 2 approvals"
    )
    assert lambda_handler(build_scenarios_sns(approved), Context()) == {"delivered": 0, "duplicate": 1}


def build_scenarios_sns(event: dict[str, Any]) -> dict[str, Any]:
    from tests.pull_request_scenarios import in_sns

    return in_sns(event)


def test_a_bad_user_map_fails_pull_request_events_but_not_pushes(
    deployed: Any, monkeypatch: pytest.MonkeyPatch, slack_standin: SlackStandIn
) -> None:
    monkeypatch.setenv("USER_MAP", '{"alice": "<!channel>"}')
    with pytest.raises(ConfigurationError, match="USER_MAP"):
        lambda_handler(deployed["opened"].events[0], Context())
    assert slack_standin.delivered == []
    assert lambda_handler({"Records": []}, Context()) == {"delivered": 0}


def test_push_events_do_not_load_the_pull_request_pipeline() -> None:
    """Cold start: importing the entry point leaves the pull-request modules unloaded."""
    import subprocess
    import sys

    code = (
        "import sys, handler.app; "
        "prefixes = ('handler.pull_requests.', 'handler.sources.eventbridge'); "
        "loaded = [m for m in sys.modules if m.startswith(prefixes)]; "
        "print(loaded)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
