"""``python -m handler`` run as a user would: a subprocess, real git repositories, loopback Slack.

Every error a person can act on must end in one ``error: ...`` line on stderr and a documented
exit status, never a traceback; ``--json`` must leave nothing but JSON on stdout.
"""

from __future__ import annotations

import io
import json
import logging
import os
import pty
import subprocess
import sys
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handler.__main__ import EXIT_CONFIG, EXIT_DELIVERY, EXIT_DROPPED, EXIT_OK, EXIT_READ, EXIT_USAGE, main
from handler.deliver.destinations import Flavor
from handler.deliver.senders import Senders
from handler.deliver.webhook_url import DestinationSecrets
from handler.demo import ScriptedGitRepo, trigger_event
from handler.preview import PipelineLog, describe
from handler.settings import Settings
from tests.scenarios import ScenarioRepo, scenario_events
from tests.standins import codecommit
from tests.standins.codecommit import CodeCommitStandIn, Fault
from tests.standins.pull_requests import StoredPullRequest
from tests.standins.slack import Reply, SlackStandIn, running

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "events"
BASE_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp"}


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would, from ``cwd`` (a fresh directory unless given: a ``--ref``
    preview remembers heads in a file in its working directory)."""
    with tempfile.TemporaryDirectory(prefix="cli-cwd-") as fresh:
        return subprocess.run(
            [sys.executable, "-m", "handler", *args],
            cwd=cwd or fresh,
            capture_output=True,
            check=False,
            text=True,
            timeout=120,
            env={**BASE_ENV, "PYTHONPATH": str(ROOT), **(env or {})},
        )


def assert_one_line_error(result: subprocess.CompletedProcess[str], status: int, *fragments: str) -> str:
    """The command failed with ``status`` and said why on exactly one line of stderr."""
    assert result.returncode == status, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def small_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository in a directory called ``billing-api``, with one branch ``main``."""
    path = tmp_path_factory.mktemp("repos") / "billing-api"
    path.mkdir()
    repo = ScriptedGitRepo(path)
    repo.git("init", "-q", "-b", "main")
    repo.write("app.py", "print('hi')\n")
    repo.commit("Add the app & its <entry> point")
    return path


def payloads(stdout: str) -> list[dict[str, Any]]:
    """Every stdout line, parsed: fails if any line is not JSON."""
    return [json.loads(line) for line in stdout.splitlines()]


# -- what it previews --------------------------------------------------------------------------


def test_demo_shows_every_push_through_the_pipeline() -> None:
    result = run("--demo", "--json")
    assert result.returncode == EXIT_OK, result.stderr
    lines = payloads(result.stdout)
    everything = [line for line in lines if "destination" not in line]
    routed = [line for line in lines if "destination" in line]
    pull_requests = [p for p in everything if "/pull-requests/" in p["text"]]
    pushes = [payload for payload in everything if payload not in pull_requests]
    assert len(pull_requests) == 5  # after the pushes, a pull request's life (ready for review: one message)
    texts = [payload["text"] for payload in pushes]
    assert len(texts) == 8  # nine pushes; the redelivered message posts nothing
    assert "bob" in texts[0] and "main" in texts[0]
    assert "feature/login-v2" in texts[-1] and "delet" in texts[-1]
    assert "force" in json.dumps(pushes[6]).lower()
    assert "delivered before" in result.stderr
    assert "<!channel>" not in result.stdout and "&lt;!channel&gt;" in result.stdout
    assert "Demo repository at" in result.stderr
    assert texts[1].endswith("|1 commit> not on `main`")  # measured against the main of its day
    # then the same pipeline routed to three destinations
    mattermost = [line["payload"] for line in routed if line["destination"].startswith("team-mm")]
    assert mattermost and all("mrkdwn_in" not in json.dumps(payload) for payload in mattermost)
    assert any("**" in json.dumps(payload) for payload in mattermost)
    calls = [(line["method"], line["arguments"]) for line in routed if "method" in line]
    posts = [arguments for method, arguments in calls if method == "chat.postMessage"]
    parent = next(arguments for arguments in posts if not arguments.get("thread_ts"))
    assert any(arguments.get("thread_ts") for arguments in posts)  # replies in the thread
    assert [method for method, _ in calls].count("chat.update") >= 2  # the parent kept current
    assert "conversations.open" in [method for method, _ in calls]  # a direct message
    assert parent["channel"] == "C0DEMOREVIEWS"


def test_preview_a_ref_in_a_local_repository(scenario_repo: ScenarioRepo) -> None:
    result = run("--repo", str(scenario_repo.path), "--ref", "feature/payments", "--action", "created")
    assert result.returncode == EXIT_OK, result.stderr
    assert "created branch `feature/payments`" in result.stdout
    assert "Open in Block Kit Builder: https://app.slack.com/block-kit-builder#" in result.stdout
    assert "`src/payments.py`" in result.stdout and "not on `main`" in result.stdout


def test_a_repo_preview_is_named_after_its_directory_in_a_neutral_region(small_repo: Path) -> None:
    result = run("--repo", str(small_repo), "--ref", "main", "--json")
    assert result.returncode == EXIT_OK, result.stderr
    [payload] = payloads(result.stdout)
    text = json.dumps(payload)
    assert str(payload["text"]).endswith("|billing-api>")
    assert "payments-service" not in text and "eu-west-1" not in text
    assert "us-east-1" in text


def test_repository_arn_names_the_repository_when_given(small_repo: Path) -> None:
    arn = "arn:aws:codecommit:ap-south-1:111122223333:ledger"
    result = run("--repo", str(small_repo), "--ref", "main", "--repository-arn", arn, "--json")
    assert result.returncode == EXIT_OK, result.stderr
    [payload] = payloads(result.stdout)
    assert str(payload["text"]).endswith("|ledger>")
    assert "ap-south-1" in json.dumps(payload)


def test_the_functions_settings_come_from_the_environment(small_repo: Path) -> None:
    default = payloads(run("--repo", str(small_repo), "--ref", "main", "--json").stdout)
    from_env = run(
        "--repo", str(small_repo), "--ref", "main", "--json", env={"BRANCH_COLORS": '{"*": "#00FF00"}'}
    )
    assert from_env.returncode == EXIT_OK, from_env.stderr
    [attachment] = payloads(from_env.stdout)[0]["attachments"]
    assert attachment["color"] == "#00FF00"
    assert default[0]["attachments"][0]["color"] != "#00FF00"


def test_set_overrides_the_environment(small_repo: Path) -> None:
    result = run(
        "--repo",
        str(small_repo),
        "--ref",
        "main",
        "--json",
        "--set",
        'BRANCH_COLORS={"main": "#123456"}',
        env={"BRANCH_COLORS": '{"*": "#00FF00"}'},
    )
    assert result.returncode == EXIT_OK, result.stderr
    assert payloads(result.stdout)[0]["attachments"][0]["color"] == "#123456"


def test_an_invalid_setting_fails_as_the_function_would(small_repo: Path) -> None:
    result = run("--repo", str(small_repo), "--ref", "main", env={"MAX_FILES_PER_DIFF": "0"})
    assert_one_line_error(result, EXIT_CONFIG, "MAX_FILES_PER_DIFF must be between 1 and 500, got 0")
    result = run("--demo", "--json", env={"BRANCH_COLORS": "not json"})
    assert_one_line_error(result, EXIT_CONFIG, "BRANCH_COLORS is not valid JSON")
    assert result.stdout == ""


def test_preview_an_event_file_offline_and_post_it(slack_standin: SlackStandIn) -> None:
    result = run(str(FIXTURES / "dronescm_branch_delete.sns_envelope.json"), "--webhook", slack_standin.url)
    assert result.returncode == EXIT_OK, result.stderr
    assert "deleted branch" in result.stdout
    assert "offline preview" in result.stdout
    [posted] = slack_standin.delivered
    assert posted["text"].startswith(
        "shubham.agrawal@harness.io (role Okta_AWSPlay_Admin) deleted branch `test` in <https://"
    )
    assert posted["attachments"][0]["fallback"] == (
        "shubham.agrawal@harness.io (role Okta_AWSPlay_Admin) deleted branch test in test"
    )


def test_a_dropped_event_exits_1_with_the_reason_on_stderr_and_nothing_on_stdout(tmp_path: Path) -> None:
    event = tmp_path / "empty-push.json"
    event.write_text(json.dumps(trigger_event([], pusher_arn="arn:aws:iam::123456789012:user/bob")))
    result = run(str(event), "--json")
    assert result.returncode == EXIT_DROPPED, result.stderr
    assert result.stdout == ""
    assert "no usable references for payments-service" in result.stderr
    assert "Traceback" not in result.stderr


# -- errors a person can act on ----------------------------------------------------------------


def test_unusable_input_says_why_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    assert_one_line_error(run(str(bad)), EXIT_USAGE, "not an SNS event, SNS message or trigger record")
    bad.write_text("{not json")
    assert_one_line_error(run(str(bad)), EXIT_USAGE, "is not JSON")
    assert_one_line_error(run(str(tmp_path / "missing.json")), EXIT_USAGE, "cannot read the event file")
    assert run().returncode == EXIT_USAGE
    assert_one_line_error(run(str(bad), "--ref", "main"), EXIT_USAGE, "not both")


def test_a_ref_that_is_not_in_the_repository(small_repo: Path) -> None:
    result = run("--repo", str(small_repo), "--ref", "feature/nope")
    assert_one_line_error(result, EXIT_USAGE, "--ref 'feature/nope' is not a branch, tag or commit in")
    assert "CalledProcessError" not in result.stderr


def test_a_repo_path_that_does_not_exist(tmp_path: Path) -> None:
    result = run("--repo", str(tmp_path / "nowhere"), "--ref", "main")
    assert_one_line_error(result, EXIT_USAGE, "no such directory")


def test_a_repo_path_that_is_not_a_git_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    result = run("--repo", str(plain), "--ref", "main", env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})
    assert_one_line_error(result, EXIT_USAGE, "not a git repository")


def test_a_repository_arn_that_is_not_one(small_repo: Path) -> None:
    result = run("--repo", str(small_repo), "--ref", "main", "--repository-arn", "nonsense")
    assert_one_line_error(
        result, EXIT_USAGE, "--repository-arn 'nonsense' is not a CodeCommit repository ARN"
    )


def test_codecommit_without_credentials(tmp_path: Path) -> None:
    no_credentials = {
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    result = run(
        str(FIXTURES / "dronescm_branch_delete.sns_envelope.json"), "--codecommit", env=no_credentials
    )
    assert_one_line_error(result, EXIT_CONFIG, "--codecommit needs AWS credentials", "--repo PATH")


def test_codecommit_reads_through_boto3_and_a_refusal_says_what_failed(
    tmp_path: Path, scenario_repo: ScenarioRepo, codecommit_standin: CodeCommitStandIn
) -> None:
    event = tmp_path / "merge.json"
    event.write_text(json.dumps(scenario_events(scenario_repo.commits)["merge_commit"]))
    aws = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL_CODECOMMIT": codecommit_standin.url,
    }
    result = run(str(event), "--codecommit", "--json", env=aws)
    assert result.returncode == EXIT_OK, result.stderr
    assert "Merge branch" in json.dumps(payloads(result.stdout))
    codecommit_standin.inject(Fault(code="AccessDeniedException", message="no", count=1))
    result = run(str(event), "--codecommit", "--json", env=aws)
    line = assert_one_line_error(result, EXIT_READ, "reading the repository failed", "AccessDeniedException")
    assert "the AWS identity you are using needs CodeCommit read access" in line
    assert "grant the function" not in line
    assert result.stdout == ""


def test_a_404_from_the_webhook_gives_advice_for_a_terminal_not_for_a_dead_letter_queue(
    small_repo: Path,
) -> None:
    with running(default=Reply(404, "no_service")) as slack:
        result = run("--repo", str(small_repo), "--ref", "main", "--json", "--webhook", slack.url)
    line = assert_one_line_error(result, EXIT_DELIVERY, "HTTP 404", "--webhook")
    assert "dead-letter" not in line and "redrive" not in line
    assert "SECRETPATH" not in result.stderr  # the webhook's secret path is never printed
    assert slack.requests == 1 and not slack.delivered
    payloads(result.stdout)  # the preview itself was still printed, as JSON only


def test_a_malformed_webhook_url_is_a_usage_error(small_repo: Path) -> None:
    result = run("--repo", str(small_repo), "--ref", "main", "--webhook", "http://example.com/x")
    assert_one_line_error(result, EXIT_USAGE, "--webhook", "https")


# -- colour ------------------------------------------------------------------------------------


def run_in_terminal(*args: str, env: dict[str, str] | None = None) -> str:
    """Run with stdout on a pseudo-terminal, as in an interactive shell; return what it printed."""
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "handler", *args],
            cwd=ROOT,
            stdout=terminal,
            stderr=subprocess.DEVNULL,
            env={**BASE_ENV, "TERM": "xterm-256color", **(env or {})},
        )
        os.close(terminal)
        chunks = []
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(timeout=120) == EXIT_OK
    finally:
        os.close(controller)
    return b"".join(chunks).decode()


def test_a_terminal_gets_colour_in_the_attachments_colour(small_repo: Path) -> None:
    output = run_in_terminal("--repo", str(small_repo), "--ref", "main", env={"COLORTERM": "truecolor"})
    assert "\x1b[38;2;255;0;0m┃" in output  # main's default colour, #FF0000, as a 24-bit bar


def test_no_color_turns_colour_off_and_color_always_turns_it_back_on(small_repo: Path) -> None:
    args = ("--repo", str(small_repo), "--ref", "main")
    assert "\x1b[" not in run_in_terminal(*args, env={"NO_COLOR": "1"})
    assert "\x1b[" in run_in_terminal(*args, "--color", "always", env={"NO_COLOR": "1"})
    assert "\x1b[" not in run_in_terminal(*args, "--color", "never")
    assert "\x1b[" not in run(*args, "--color", "auto").stdout  # not a terminal


def test_help_documents_the_exit_statuses() -> None:
    result = run("--help")
    assert result.returncode == EXIT_OK
    for status in ("0  previewed", "1  an event was dropped", "2  bad arguments", "3  invalid setting"):
        assert status in result.stdout
    assert "NO_COLOR" in result.stdout and "us-east-1" in result.stdout


# -- the terminal view -------------------------------------------------------------------------


def test_describe_shows_text_as_slack_shows_it() -> None:
    payload = {
        "text": "Ana Núñez &lt;ana@example.com&gt; pushed <https://example.com/c|3 commits> to *main*",
        "attachments": [{"color": "#FFE400", "text": "_fix_ `a &amp; b` &amp;lt;", "fields": []}],
    }
    plain = describe(payload)
    assert "Ana Núñez <ana@example.com> pushed 3 commits (https://example.com/c) to *main*" in plain
    assert "┃ _fix_ `a & b` &lt;" in plain
    colored = describe(payload, color=True)
    assert "\x1b[1mmain\x1b[0m" in colored and "\x1b[3mfix\x1b[0m" in colored
    assert "\x1b[4m3 commits\x1b[0m" in colored and "*main*" not in colored
    assert "\x1b[38;2;255;228;0m┃" in colored
    assert "\x1b[38;5;" in describe(payload, color=True, truecolor=False)


def test_describe_shows_block_kit_text_too() -> None:
    payload = {
        "text": "fallback",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Push to main"}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "<https://x.example|abc1234> fix &amp; ship"},
            },
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "by *ana*"}]},
            {"type": "divider"},
        ],
    }
    shown = describe(payload)
    assert "Push to main" in shown
    assert "abc1234 (https://x.example) fix & ship" in shown
    assert "by *ana*" in shown


def test_a_ref_preview_lists_the_commits_since_the_last_preview_of_that_ref(tmp_path: Path) -> None:
    repo = ScriptedGitRepo(tmp_path / "billing-api")
    repo.path.mkdir()
    repo.git("init", "-q", "-b", "main")
    repo.write("a.txt", "a\n")
    repo.commit("First commit")
    workdir = tmp_path / "work"
    workdir.mkdir()
    first = run("--repo", str(repo.path), "--ref", "main", "--json", cwd=workdir)
    assert first.returncode == EXIT_OK, first.stderr
    assert "First commit" in first.stdout
    again = run("--repo", str(repo.path), "--ref", "main", "--json", cwd=workdir)
    assert again.returncode == EXIT_OK, again.stderr
    assert "no new commits since the last preview" in again.stderr and "First commit" in again.stdout
    for subject in ("Second commit", "Third commit"):
        repo.write("a.txt", subject + "\n")
        repo.commit(subject)
    later = run("--repo", str(repo.path), "--ref", "main", "--json", cwd=workdir)
    assert later.returncode == EXIT_OK, later.stderr
    assert "Second commit" in later.stdout and "Third commit" in later.stdout
    assert "First commit" not in later.stdout


def test_preview_an_eventbridge_pull_request_event_offline() -> None:
    event = FIXTURES.parent / "eventbridge" / "awsdoc_pullRequestMergeStatusUpdated.json"
    result = run(str(event), "--json")
    assert result.returncode == EXIT_OK, result.stderr
    [payload] = payloads(result.stdout)
    assert payload["text"] == (
        "Mary_Major (role Admin) merged <https://us-east-2.console.aws.amazon.com/codesuite/codecommit/"
        "repositories/MyDemoRepo/pull-requests/1/details?region=us-east-2"
        "|#1 My Example Pull Request> into `main`"
    )
    assert "could not be read (offline preview" in payload["attachments"][0]["text"]


def test_an_unknown_setting_given_with_set_is_refused_with_a_suggestion() -> None:
    result = run("--demo", "--json", "--set", "MAX_FILE_PER_DIFF=1")
    assert_one_line_error(result, EXIT_USAGE, "no such setting", "did you mean MAX_FILES_PER_DIFF?")
    assert result.stdout == ""


# -- every reason an event posts nothing, and one error line (issue 17, item 15) ----------------

EVENTBRIDGE = FIXTURES.parent / "eventbridge"
PR_OPENED = json.loads((EVENTBRIDGE / "awsdoc_pullRequestCreated.json").read_text())


def _sns(message: str) -> dict[str, Any]:
    return {"Type": "Notification", "Message": message}


def _opened_titled(title: str) -> dict[str, Any]:
    return {**PR_OPENED, "detail": {**PR_OPENED["detail"], "title": title}}


#: (what, the event, extra arguments, what the one line on stderr says)
DROPS: list[tuple[str, Any, tuple[str, ...], str]] = [
    (
        "not JSON",
        _sns("not json"),
        (),
        "dropped, nothing would be posted: Records[0].Sns: 'Message' is not JSON",
    ),
    (
        "foreign source",
        _sns(json.dumps({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}]})),
        (),
        "dropped, nothing would be posted: Records[0].Sns.Message.Records[0]: eventSource is 'aws:s3'",
    ),
    (
        "test trigger without refs",
        json.loads((FIXTURES / "awslambdago_TriggerEventTest_record.json").read_text()),
        (),
        "dropped, nothing would be posted: Records[0].Sns.Message.Records[0]: a console Test trigger with "
        "no usable references for my-repo",
    ),
    (
        "pull-request event of a kind not reported",
        {**PR_OPENED, "detail": {**PR_OPENED["detail"], "event": "pullRequestTeleported"}},
        (),
        "dropped, nothing would be posted: event: pull-request event 'pullRequestTeleported' is not one",
    ),
    (
        "push filtered by ROUTES",
        json.loads((FIXTURES / "dronescm_push.sns_envelope.json").read_text()),
        ("--set", 'ROUTES={"filters": [{"refs": ["*"]}]}'),
        "filtered, nothing would be posted: master: filtered by filters[0] (refs *)",
    ),
    (
        "pull request filtered by ROUTES",
        PR_OPENED,
        ("--set", 'ROUTES={"filters": [{"events": ["pull_request"]}]}'),
        "filtered, nothing would be posted: opened of pull request 1: filtered by filters[0]",
    ),
    (
        "pull request filtered by PULL_REQUEST_EVENTS",
        PR_OPENED,
        ("--set", "PULL_REQUEST_EVENTS=merged"),
        "filtered, nothing would be posted: opened: PULL_REQUEST_EVENTS leaves it out",
    ),
    (
        "draft pull request",
        _opened_titled("Draft: passkeys"),
        (),
        "a draft, nothing would be posted: pull request 1 is a draft: opened not announced",
    ),
]


@pytest.mark.parametrize(("what", "event", "arguments", "said"), DROPS, ids=[row[0] for row in DROPS])
def test_every_drop_prints_its_reason_on_one_line(
    what: str, event: Any, arguments: tuple[str, ...], said: str, tmp_path: Path
) -> None:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    result = run(str(path), "--json", *arguments)
    assert result.returncode == EXIT_DROPPED, result.stderr
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()  # the reason, once, and nothing else
    assert line.startswith(f"── event file {path}: "), line
    assert said in line, line
    assert "see the warning above" not in line


def test_a_delivery_that_fails_is_one_error_line(small_repo: Path) -> None:
    with running(default=Reply(500, "boom")) as slack:
        result = run(
            "--repo",
            str(small_repo),
            "--ref",
            "main",
            "--json",
            "--webhook",
            slack.url,
            "--set",
            "DELIVERY_MAX_ATTEMPTS=2",
        )
    assert result.returncode == EXIT_DELIVERY, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.lower().startswith("error")]
    assert errors == [
        "error: Slack did not take the message after 2 attempt(s) (last: HTTP 500); nothing was posted, "
        "try again later"
    ]


def test_an_error_the_pipeline_logs_and_raises_is_reported_once() -> None:
    stream = io.StringIO()
    pipeline_log = PipelineLog(stream)
    logger = logging.getLogger("handler.deliver.senders")
    record = logger.makeRecord(
        logger.name, logging.ERROR, __file__, 0, "delivery to %s failed", ("mm",), None
    )
    pipeline_log.handle(record)
    assert pipeline_log.finish(raised=True) == []
    assert stream.getvalue() == ""  # the command's own error: line says it
    pipeline_log.handle(record)
    pipeline_log.finish(raised=False)
    assert stream.getvalue() == "error: delivery to mm failed\n"  # logged, not raised: still said


def _record(name: str, level: int, message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.getLogger(name).makeRecord(name, level, __file__, 0, message, args, None)
    record.__dict__.update(extra)
    return record


def test_a_reason_said_twice_is_printed_once() -> None:
    pipeline_log = PipelineLog(io.StringIO())
    # the trigger parser's line and the outcome line for the same dropped record
    pipeline_log.handle(
        _record("handler.sources.trigger", logging.WARNING, "dropped %s: %s", "Records[0]", "bad")
    )
    pipeline_log.handle(
        _record("handler.outcome", logging.WARNING, "dropped", outcome="dropped", reason="Records[0]: bad")
    )
    # the pull-request pipeline's "not posting" and the outcome line that says it in general words
    pipeline_log.handle(
        _record(
            "handler.pipelines.pull_request",
            logging.INFO,
            "not posting %s: %s",
            "opened",
            "PULL_REQUEST_EVENTS",
        )
    )
    pipeline_log.handle(
        _record(
            "handler.outcome",
            logging.INFO,
            "filtered",
            outcome="filtered",
            reason="nothing to post: a quiet draft, or left out by the settings",
        )
    )
    assert [(reason.what, reason.why) for reason in pipeline_log.finish(raised=False)] == [
        ("dropped", "Records[0]: bad"),
        ("filtered", "opened: PULL_REQUEST_EVENTS"),  # the line that names the setting
    ]
    pipeline_log.handle(
        _record(
            "handler.pipelines.pull_request",
            logging.INFO,
            "not posting %s: %s",
            "opened",
            "PULL_REQUEST_EVENTS",
        )
    )
    assert [reason.why for reason in pipeline_log.finish(raised=False)] == ["opened: PULL_REQUEST_EVENTS"]


def test_a_route_to_a_named_destination_previews_what_it_gets(small_repo: Path) -> None:
    destinations = {
        "team-mm": {"type": "mattermost-webhook"},
        "reviews": {"type": "slack-app", "channel": "C0123456789"},
    }
    routes = {"routes": [{"events": ["branch_created", "push"], "to": ["team-mm", "reviews"]}]}
    result = run(
        "--repo",
        str(small_repo),
        "--ref",
        "main",
        "--json",
        "--set",
        f"DESTINATIONS={json.dumps(destinations)}",
        "--set",
        f"ROUTES={json.dumps(routes)}",
    )
    assert result.returncode == EXIT_OK, result.stderr
    mattermost, app = payloads(result.stdout)
    assert mattermost["destination"] == "team-mm" and "mrkdwn_in" not in json.dumps(mattermost["payload"])
    assert "[`main`](" in mattermost["payload"]["text"]
    assert app["destination"] == "reviews" and app["method"] == "chat.postMessage"
    assert app["arguments"]["channel"] == "C0123456789" and "<https://" in app["arguments"]["text"]


# -- the flavour, decided as the function decides it (issue 17, item 14) ------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    host=st.sampled_from(
        ["hooks.slack.com", "HOOKS.SLACK.COM", "hooks.slack-gov.com", "chat.example.com", "mm.example.org."]
    ),
    path=st.sampled_from(["/hooks/abc123", "/services/T0/B0/x", "/chat/hooks/abc123", "/hooksx/a", "/x/y"]),
)
def test_the_preview_writes_in_the_dialect_the_function_detects_from_the_url(host: str, path: str) -> None:
    url = f"https://{host}{path}"
    function = Senders(
        Settings.from_environ({"SLACK_WEBHOOK_URL": url}),
        DestinationSecrets(url=url, secret_arn=None, secrets_client=lambda region: None),
    ).get("default")
    event = str(FIXTURES / "dronescm_branch_delete.sns_envelope.json")
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        assert main([event, "--json", "--set", f"SLACK_WEBHOOK_URL={url}"]) == EXIT_OK
    [payload] = payloads(out.getvalue())
    slack = all("mrkdwn_in" in attachment for attachment in payload["attachments"])
    assert (Flavor.SLACK if slack else Flavor.MATTERMOST) is function.flavor


def test_a_webhook_under_hooks_gets_mattermost_markdown_without_flavor(small_repo: Path) -> None:
    with running() as standin:
        url = standin.url.split("/services/")[0] + "/hooks/preview"
        result = run("--repo", str(small_repo), "--ref", "main", "--json", "--webhook", url)
    assert result.returncode == EXIT_OK, result.stderr
    [posted] = standin.delivered
    assert "mrkdwn_in" not in json.dumps(posted)  # Mattermost's Markdown, as the function would send
    assert "[`main`](" in posted["text"]


# -- the time (issue 18, item 10) --------------------------------------------------------------


def test_the_preview_shows_the_time_the_message_carries(small_repo: Path) -> None:
    shown = describe(
        {"text": "x", "attachments": [{"footer": "AWS CodeCommit · eu-west-1", "ts": 1795167000}]}
    )
    assert shown.splitlines()[-1] == "┃ AWS CodeCommit · eu-west-1 | Nov 20, 2026 09:30 UTC"
    assert describe({"text": "x", "attachments": [{"ts": 1549696516}]}).splitlines()[-1] == (
        "┃ Feb 9, 2019 07:15 UTC"
    )
    result = run("--repo", str(small_repo), "--ref", "main", "--color", "never")
    assert "┃ AWS CodeCommit · us-east-1 | Nov 20, 2026 09:30 UTC\n" in result.stdout


def test_codecommit_reads_pull_requests_too(tmp_path: Path) -> None:
    with codecommit.running({}) as standin:
        standin.pull_requests.add_pull_request(
            StoredPullRequest(
                "1", "MyDemoRepo", "Read from CodeCommit", "arn:aws:iam::123456789012:user/Li_Juan"
            )
        )
        aws = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_ENDPOINT_URL_CODECOMMIT": standin.url,
        }
        result = run(str(EVENTBRIDGE / "awsdoc_pullRequestCreated.json"), "--codecommit", "--json", env=aws)
    assert result.returncode == EXIT_OK, result.stderr
    [payload] = payloads(result.stdout)
    assert "|#1 Read from CodeCommit>" in payload["text"]  # the title, linked, in the headline
    assert "could not be read" not in json.dumps(payload)
