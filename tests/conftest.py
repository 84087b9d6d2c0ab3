"""Shared fixtures: the scenario repository, the stand-ins, and both commit readers."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import strategies as st

from handler.deliver.webhook_url import DestinationSecrets
from handler.enrich.gitreader import LocalGitReader
from handler.enrich.reader import CodeCommitReader, CommitReader, botocore_config
from handler.render.mrkdwn import HIDDEN_CHARS
from handler.runtime import Runtime
from handler.settings import Settings
from tests.scenarios import REPOSITORY, ScenarioRepo, build_scenario_repo
from tests.standins import codecommit, slack

FIXTURES = Path(__file__).parent / "fixtures"
#: Text a reader can see: no control characters, lone surrogates or invisible joiners (which the
#: escapers add or strip on purpose), for round-trip properties of escaping.
VISIBLE_TEXT = st.text(
    alphabet=st.characters(
        codec="utf-8", exclude_categories=("Cc", "Cs"), exclude_characters=HIDDEN_CHARS + "\u200c\u200d"
    ),
    max_size=300,
)


def load_event(name: str) -> Any:
    """A fixture event from tests/fixtures/events (verbatim public payloads; see SOURCES.md there)."""
    return json.loads((FIXTURES / "events" / name).read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials, so no test can ever reach a real AWS account."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-2")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture(scope="session")
def scenario_repo(tmp_path_factory: pytest.TempPathFactory) -> ScenarioRepo:
    return build_scenario_repo(tmp_path_factory.mktemp("git") / REPOSITORY)


@pytest.fixture(scope="session")
def codecommit_standin(scenario_repo: ScenarioRepo) -> Iterator[codecommit.CodeCommitStandIn]:
    with codecommit.running({REPOSITORY: scenario_repo.path}) as stand_in:
        yield stand_in


def codecommit_client(endpoint: str, *, max_attempts: int = 5) -> Any:
    return boto3.client(
        "codecommit",
        region_name="us-east-2",
        endpoint_url=endpoint,
        config=botocore_config(max_attempts=max_attempts),
    )


@pytest.fixture(params=["local-git", "codecommit"])
def reader(request: pytest.FixtureRequest, scenario_repo: ScenarioRepo) -> CommitReader:
    """Each test that takes ``reader`` runs twice: against git itself and against CodeCommit's API."""
    if request.param == "local-git":
        return LocalGitReader(scenario_repo.path)
    stand_in: codecommit.CodeCommitStandIn = request.getfixturevalue("codecommit_standin")
    return CodeCommitReader(codecommit_client(stand_in.url), REPOSITORY)


@pytest.fixture
def slack_standin() -> Iterator[slack.SlackStandIn]:
    with slack.running() as stand_in:
        yield stand_in


def local_runtime(reader: CommitReader, webhook_url: str, settings: Settings | None = None) -> Runtime:
    """The pipeline's runtime with a given reader and a plain webhook URL (no Secrets Manager)."""

    def no_secrets(region: str | None) -> Any:
        raise AssertionError("this runtime has no secret")

    return Runtime(
        settings=settings or Settings(),
        reader_for=lambda repository: reader,
        secrets=DestinationSecrets(url=webhook_url, secret_arn=None, secrets_client=no_secrets),
    )


RuntimeFactory = Callable[[CommitReader, str], Runtime]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say how many hostile inputs hypothesis generated (tests/test_fuzz.py)."""
    fuzz = sys.modules.get("tests.test_fuzz")
    if fuzz is not None and fuzz.GENERATED["cases"]:
        terminalreporter.write_line(
            f"hostile-input fuzz: {fuzz.GENERATED['cases']} generated cases, "
            f"{fuzz.GENERATED['posted']} of them posted through the whole pipeline"
        )
