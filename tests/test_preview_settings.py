"""The preview and the function read every setting alike (issue 17, item 13).

One row per setting the function reads (``handler/settings.py``'s ``setting_specs`` and the
pull-request settings), generated into two tests:

* a value the function rejects makes the preview exit 3 with the function's own message;
* a value the function accepts changes the preview exactly as it changes the function: the
  payloads the preview prints (``--json``) equal the ones the function posts for the same event
  and settings, and where the row says the setting shows, they differ from the defaults' payloads.

"The function" here is the deployed wiring, ``aws_runtime(Settings.from_environ(env), env)`` (which
loads the pull-request settings through ``PullRequestSettings.from_environ`` on first use), with
only its edges swapped for local ones: commits read with git from the same repository, pull
requests read by nothing (as an offline preview), state in memory, the webhook a loopback stand-in.
A test fails when a setting is added and left out of the table.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from handler.__main__ import EXIT_CONFIG, PULL_REQUEST_VARIABLES, main
from handler.app import process_event
from handler.deadline import Deadline
from handler.demo import ScriptedGitRepo, trigger_event
from handler.enrich.gitreader import LocalGitReader
from handler.enrich.pull_request_reader import OfflinePullRequestReader
from handler.errors import ConfigurationError
from handler.preview import one_line
from handler.runtime import aws_runtime
from handler.settings import Settings, setting_specs
from handler.state.memory import MemoryStore
from tests.standins.slack import SlackStandIn, running

EVENTBRIDGE = Path(__file__).parent / "fixtures" / "eventbridge"
PULL_REQUEST_OPENED = json.loads((EVENTBRIDGE / "awsdoc_pullRequestCreated.json").read_text())
APPROVED = json.loads((EVENTBRIDGE / "awsdoc_pullRequestApprovalStateChanged_1.json").read_text())
COMMENT = json.loads((EVENTBRIDGE / "awsdoc_commentOnPullRequestCreated.json").read_text())
REPOSITORY_ARN = "arn:aws:codecommit:eu-west-1:123456789012:billing-api"
PUSHER = "arn:aws:iam::123456789012:user/alice"
#: The author of the approved pull request (``detail.author``), by the full ARN USER_MAP matches
#: (IDENTITY_MATCH=arn, the default): the approval mentions the author when they are mapped.
AUTHOR = "arn:aws:iam::123456789012:user/Li_Juan"
MAPPED = json.dumps({AUTHOR: "U024BE7LH"})
PARAMETER = "/notifier/user-map"
#: What the stack always sets: a state table, so heads are tracked (the preview tracks them too).
DEPLOYED = {"AWS_DEFAULT_REGION": "eu-west-1", "STATE_TABLE_NAME": "notifier-state"}


@dataclass(frozen=True)
class Repo:
    """A repository with a branch ``feature/big`` three commits ahead of ``main``; its tip has a
    long body and 25 long-named files, so every limit has something to cut."""

    path: Path
    main: str
    tip: str

    def created(self) -> dict[str, Any]:
        reference = {"commit": self.tip, "ref": "refs/heads/feature/big", "created": True}
        return trigger_event([reference], pusher_arn=PUSHER, repository_arn=REPOSITORY_ARN)

    def first_sight(self) -> dict[str, Any]:
        reference = {"commit": self.tip, "ref": "refs/heads/feature/big"}
        return trigger_event([reference], pusher_arn=PUSHER, repository_arn=REPOSITORY_ARN)

    def two_refs(self) -> dict[str, Any]:
        references = [
            {"commit": self.tip, "ref": "refs/heads/feature/big", "created": True},
            {"commit": self.main, "ref": "refs/tags/v1.0", "created": True},
        ]
        return trigger_event(references, pusher_arn=PUSHER, repository_arn=REPOSITORY_ARN)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    path = tmp_path_factory.mktemp("settings") / "billing-api"
    path.mkdir()
    git = ScriptedGitRepo(path)
    git.git("init", "-q", "-b", "main")
    git.write("README.md", "billing\n")
    main_tip = git.commit("Start the billing service")
    git.git("checkout", "-q", "-b", "feature/big")
    git.write("a.txt", "a\n")
    git.commit("Add a")
    git.write("b.txt", "b\n")
    git.commit("Add b")
    for index in range(25):
        git.write(f"src/{'deeply/nested/' * 6}module_{index:02d}_with_a_long_descriptive_name.py", "x\n")
    tip = git.commit("Add twenty-five modules\n\n" + "A body line that goes on and on. " * 40)
    return Repo(path, main_tip, tip)


@dataclass(frozen=True)
class Row:
    """One setting: a value the function rejects (None: none at start-up, with ``why``), a value it
    accepts, the event that shows it, and whether the accepted value changes that event's message."""

    variable: str
    rejected: str | None
    accepted: str
    event: Callable[[Repo], dict[str, Any]]
    shows: bool
    why: str = ""


def _opened(repo: Repo) -> dict[str, Any]:
    return dict(PULL_REQUEST_OPENED)


def _approved(repo: Repo) -> dict[str, Any]:
    return dict(APPROVED)


def _comment(repo: Repo) -> dict[str, Any]:
    return dict(COMMENT)


def _created(repo: Repo) -> dict[str, Any]:
    return repo.created()


def _first_sight(repo: Repo) -> dict[str, Any]:
    return repo.first_sight()


def _two_refs(repo: Repo) -> dict[str, Any]:
    return repo.two_refs()


ROWS = [
    Row("BRANCH_COLORS", "not json", '{"*": "#00FF00"}', _created, True),
    Row("MAX_FILES_PER_DIFF", "0", "1", _created, True),
    Row("MAX_BODY_CHARS", "3001", "0", _first_sight, True),
    Row("MAX_REFS_PER_MESSAGE", "21", "1", _two_refs, True),
    Row("MAX_COMMITS_LISTED", "0", "1", _created, True),
    Row("MAX_MESSAGE_CHARS", "1999", "2000", _created, True),
    Row("MAX_SECTION_CHARS", "499", "500", _created, True),
    # The function posts to it, and detects the dialect from it: a /hooks/ URL is Mattermost's.
    Row("SLACK_WEBHOOK_URL", "hooks.slack.com/services/T/B/X", "{standin}/hooks/preview", _created, True),
    Row(
        "SLACK_WEBHOOK_SECRET_ARN",
        None,
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhook",
        _created,
        False,
        why="read from Secrets Manager when the function posts; the preview posts to a capture or --webhook",
    ),
    Row("DELIVERY_MAX_ATTEMPTS", "0", "1", _created, False, why="how often a post is tried"),
    Row("SLACK_TIMEOUT_SECONDS", "61", "3", _created, False, why="how long a post may take"),
    Row("CODECOMMIT_MAX_ATTEMPTS", "21", "2", _created, False, why="--codecommit reads only"),
    Row("CODECOMMIT_TIMEOUT_SECONDS", "0", "2", _created, False, why="--codecommit reads only"),
    Row("LOG_LEVEL", "LOUD", "ERROR", _created, False, why="the log, not the message"),
    Row(
        "METRICS_NAMESPACE",
        "AWS/Lambda",
        "Team/Notifier",
        _created,
        False,
        why="the metrics, not the message",
    ),
    Row("METRICS_BY_REPOSITORY", "maybe", "true", _created, False, why="the metrics, not the message"),
    Row("MAX_COMMITS_READ", "501", "1", _created, True),
    Row(
        "STATE_TABLE_NAME",
        None,
        "another-table",
        _created,
        False,
        why="any name (read when the table is); the stack always sets one; the preview keeps heads locally",
    ),
    Row("DESTINATION_FLAVOR", "teams", "mattermost", _created, True),
    Row(
        "DESTINATIONS",
        '{"Bad Name": {"type": "slack-webhook"}}',
        '{"team-mm": {"type": "mattermost-webhook"}}',
        _created,
        False,
        why="declared only; ROUTES sends to it",
    ),
    Row(
        "ROUTES",
        '{"routes": [{"to": ["nowhere"]}]}',
        '{"filters": [{"refs": ["feature/*"]}]}',
        _created,
        True,
    ),
    Row(
        "IDENTITY_MATCH",
        "names",
        "name",
        _approved,
        False,
        why="what USER_MAP keys and ROUTES actor globs match; the row sets neither (tests/test_identity.py)",
    ),
    Row("USER_MAP", '{"a": "<!channel>"}', MAPPED, _approved, True),
    Row("USER_MAP_FILE", "/nonexistent/user-map.json", "{user_map_file}", _approved, True),
    Row("USER_MAP_PARAMETER", "/notifier/missing", PARAMETER, _approved, True),
    Row(
        "REVIEW_COMMANDS",
        '{"/done": "no-such-command"}',
        '{"/lgtm": "review-done"}',
        _comment,
        False,
        why="offline, a comment's text is not read, so no command is recognised",
    ),
    Row("PULL_REQUEST_EVENTS", "opened,bogus", "merged", _opened, True),
    # The two-way settings: read by the chat front door, the pipeline path and the reminders;
    # validated here as there, and they change no push message.
    Row("PIPELINES", '["bad name!"]', '["web-deploy"]', _created, False, why="pipeline events only"),
    Row("PIPELINE_EVENTS", "sometimes", "failed,fixed", _created, False, why="pipeline events only"),
    Row(
        "DEPLOY_TARGETS",
        '{"site": {"type": "ftp"}}',
        '{"site": {"type": "github-dispatch", "repository": "acme/site"}}',
        _created,
        False,
        why="the chat's deploy command only",
    ),
    Row("GITHUB_API_URL", None, "https://github.example.com/api/v3", _created, False, why="deploys only"),
    Row("CHAT_PERMISSIONS", '{"fly": ["*"]}', '{"merge": ["alice"]}', _created, False, why="chat only"),
    Row(
        "CHAT_ACTOR_ROLE_ARN",
        "not-an-arn",
        "arn:aws:iam::123456789012:role/Actor",
        _created,
        False,
        why="chat only",
    ),
    Row("SLACK_TEAM_ID", "workspace", "T0123ABCD", _created, False, why="chat only"),
    Row(
        "SLACK_API_URL",
        "http://slack.example.com/api/",
        "https://slack.com/api/",
        _created,
        False,
        why="app posts",
    ),
    Row(
        "WATCHED_REPOSITORIES", "bad name!", "payments,ledger", _created, False, why="reminders and prs only"
    ),
    Row(
        "REVIEW_REMINDERS",
        '{"schedule": "daily"}',
        '{"schedule": "cron(0 9 ? * MON-FRI *)", "timezone": "Europe/Berlin"}',
        _created,
        False,
        why="the reminder schedule's events only",
    ),
]


def test_the_table_names_every_setting_the_function_reads() -> None:
    read = {spec.variable for spec in setting_specs()} | PULL_REQUEST_VARIABLES
    assert {row.variable for row in ROWS} == read
    assert all(row.why for row in ROWS if row.rejected is None or not row.shows)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Fake credentials, moto's SSM holding the user map, and the map as a file: what the rows fill in."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }.items():
        monkeypatch.setenv(name, value)
    user_map_file = tmp_path / "user-map.json"
    user_map_file.write_text(MAPPED)
    with mock_aws():
        boto3.client("ssm").put_parameter(Name=PARAMETER, Value=MAPPED, Type="SecureString")
        yield {"user_map_file": str(user_map_file)}


def _lines(payloads: list[Any]) -> list[str]:
    """Payloads as lines of indented JSON, so a difference shows as the lines that differ."""
    return json.dumps(payloads, indent=1, sort_keys=True, ensure_ascii=False).splitlines()


def _fill(value: str, places: dict[str, str]) -> str:
    """``{name}`` placeholders filled in; JSON values are left alone."""
    return re.sub(r"\{([a-z_]+)\}", lambda match: places[match[1]], value)


def function_posts(
    event: dict[str, Any], environ: dict[str, str], repo: Repo, standin: SlackStandIn
) -> list[Any]:
    """What the deployed function posts for ``event`` with ``environ``; raises what it raises."""
    environ = {**DEPLOYED, "SLACK_WEBHOOK_URL": standin.url, **environ}
    runtime = aws_runtime(Settings.from_environ(environ), environ)
    assert callable(runtime.pull_requests)
    pull_requests = runtime.pull_requests()  # the function's own: PullRequestSettings.from_environ
    local = LocalGitReader(repo.path)
    runtime = dataclasses.replace(runtime, reader_for=lambda repository: local, state=MemoryStore())
    runtime.pull_requests = dataclasses.replace(
        pull_requests, reader_for=lambda repository: OfflinePullRequestReader()
    )
    process_event(event, runtime, Deadline(None))
    posted = list(standin.delivered)
    standin.delivered.clear()
    return posted


def preview(
    event: dict[str, Any],
    sets: dict[str, str],
    repo: Repo,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, list[Any], str]:
    """Run ``python -m handler EVENT --repo PATH --json --set ...`` in-process: status, payloads, stderr."""
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    arguments = [str(path), "--json"]
    if "source" not in event:
        arguments += ["--repo", str(repo.path)]
    for name, value in sets.items():
        arguments += ["--set", f"{name}={value}"]
    capsys.readouterr()
    status = main(arguments)
    out, err = capsys.readouterr()
    return status, [json.loads(line) for line in out.splitlines()], err


@pytest.mark.parametrize(
    "row", [row for row in ROWS if row.rejected is not None], ids=lambda row: row.variable
)
def test_a_value_the_function_rejects_fails_the_preview_with_its_message(
    row: Row, repo: Repo, aws: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert row.rejected is not None
    event = row.event(repo)
    with running() as standin, pytest.raises((ConfigurationError, ClientError)) as raised:
        function_posts(event, {row.variable: row.rejected}, repo, standin)
    status, posted, err = preview(event, {row.variable: row.rejected}, repo, tmp_path, capsys)
    assert status == EXIT_CONFIG, err
    assert posted == []
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert one_line(str(raised.value)) in lines[0]


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.variable)
def test_a_value_the_function_accepts_changes_the_preview_as_it_changes_the_function(
    row: Row, repo: Repo, aws: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    event = row.event(repo)
    with running() as standin:
        value = _fill(row.accepted, {**aws, "standin": standin.url.split("/services/")[0]})
        by_function = function_posts(event, {row.variable: value}, repo, standin)
        by_default = function_posts(event, {}, repo, standin)
    status, previewed, err = preview(event, {row.variable: value}, repo, tmp_path, capsys)
    _, previewed_default, _ = preview(event, {}, repo, tmp_path, capsys)
    assert "Traceback" not in err
    if _lines(previewed) != _lines(by_function):
        print("\n".join(difflib.unified_diff(_lines(by_function), _lines(previewed), lineterm="")))
    assert _lines(previewed) == _lines(by_function), err
    assert _lines(previewed_default) == _lines(by_default)
    assert (by_function != by_default) is row.shows, row.why
    assert status == (0 if by_function else 1), err


def test_a_route_to_a_named_destination_previews_what_the_function_posts_there(
    repo: Repo, aws: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    routing = {
        "DESTINATIONS": json.dumps({"team-mm": {"type": "mattermost-webhook"}}),
        "ROUTES": json.dumps({"routes": [{"events": ["branch_created"], "to": ["default", "team-mm"]}]}),
    }
    event = repo.created()
    with running() as default, running() as team_mm:
        secret = json.dumps({"default": default.url, "team-mm": team_mm.url})
        arn = boto3.client("secretsmanager").create_secret(Name="webhook", SecretString=secret)["ARN"]
        to_default = function_posts(event, {**routing, "SLACK_WEBHOOK_SECRET_ARN": arn}, repo, default)
        to_team_mm = list(team_mm.delivered)
    status, lines, err = preview(event, routing, repo, tmp_path, capsys)
    assert status == 0, err
    assert to_default and to_team_mm
    assert _lines([line for line in lines if "destination" not in line]) == _lines(to_default)
    assert _lines([line["payload"] for line in lines if line.get("destination") == "team-mm"]) == _lines(
        to_team_mm
    )
