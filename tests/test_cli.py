"""``python -m handler``: the demo, a local repository push and a saved event file, run as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.scenarios import ScenarioRepo
from tests.standins.slack import SlackStandIn

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "events"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "handler", *args],
        cwd=ROOT,
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"},
    )


def test_demo_shows_every_push_through_the_pipeline() -> None:
    result = run("--demo", "--json")
    assert result.returncode == 0, result.stderr
    payloads = [json.loads(line) for line in result.stdout.splitlines()]
    pull_requests = [p for p in payloads if "/pull-requests/" in p["attachments"][0]["title_link"]]
    payloads = [payload for payload in payloads if payload not in pull_requests]
    assert len(payloads) == 6 and len(pull_requests) == 6  # pushes, then a pull request's life
    texts = [payload["text"] for payload in payloads]
    assert texts[0] == "bob created branch main in payments-service"
    assert "deleted branch feature/login-v2" in texts[-1]
    assert "<!channel>" not in result.stdout and "&lt;!channel&gt;" in result.stdout


def test_preview_a_ref_in_a_local_repository(scenario_repo: ScenarioRepo) -> None:
    result = run("--repo", str(scenario_repo.path), "--ref", "feature/login-v2", "--action", "created")
    assert result.returncode == 0, result.stderr
    assert "created branch feature/login-v2" in result.stdout
    assert "Open in Block Kit Builder: https://app.slack.com/block-kit-builder#" in result.stdout
    assert "`tools/run.sh`" in result.stdout


def test_preview_an_event_file_offline_and_post_it(slack_standin: SlackStandIn) -> None:
    result = run(str(FIXTURES / "dronescm_branch_delete.sns_envelope.json"), "--webhook", slack_standin.url)
    assert result.returncode == 0, result.stderr
    assert "BRANCH DELETED" in result.stdout
    assert "offline preview" in result.stdout
    [posted] = slack_standin.delivered
    assert (
        posted["text"] == "shubham.agrawal@harness.io (role Okta_AWSPlay_Admin) deleted branch test in test"
    )


def test_unusable_input_says_why_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    result = run(str(bad))
    assert result.returncode == 2
    assert "not an SNS event, SNS message or trigger record" in result.stderr
    assert run().returncode == 2


def test_preview_an_eventbridge_pull_request_event_offline() -> None:
    event = Path(__file__).parent / "fixtures" / "eventbridge" / "awsdoc_pullRequestMergeStatusUpdated.json"
    result = run(str(event), "--json")
    assert result.returncode == 0, result.stderr
    [payload] = [json.loads(line) for line in result.stdout.splitlines()]
    assert payload["text"] == "Mary_Major (role Admin) merged #1 My Example Pull Request into main"
    assert "could not be read (offline preview" in payload["attachments"][0]["text"]
