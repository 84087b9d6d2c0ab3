"""Golden payloads for pull-request, comment and approval events, end to end.

Each scenario in tests/pull_request_scenarios.py is played through ``handler.app.process_event``
(the Lambda's pipeline: dispatch, parse, enrich through a real boto3 client against the
CodeCommit stand-in, drafts in a state store, render, deliver to the Slack stand-in). Every
payload it posts must equal tests/golden/pull_requests/<scenario>.json; played to the Mattermost
stand-in instead (a ``/hooks/`` URL: the default destination speaks Mattermost), every payload must
equal tests/golden/pull_requests/mattermost/<scenario>.json. After an intended
change, rewrite them with ``make golden`` (UPDATE_GOLDEN=1) and review the diff like code.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from handler.__main__ import OfflineReader
from handler.app import process_event
from handler.deadline import Deadline
from handler.enrich.pull_request_reader import CodeCommitPullRequestReader
from handler.pull_requests.settings import PullRequestSettings
from handler.render.push import payload_length
from handler.runtime import PullRequestRuntime
from handler.settings import SLACK_MESSAGE_LIMIT, SLACK_SECTION_LIMIT
from handler.state.memory import MemoryStore
from tests.conftest import codecommit_client, local_runtime
from tests.pull_request_scenarios import USER_MAP, Scenario, build_scenarios
from tests.standins import codecommit
from tests.standins.pull_requests import PullRequestBook
from tests.standins.slack import SlackStandIn
from tests.test_golden import FLAVORS, check_mattermost_payload, golden_path, mattermost_standin, write_golden

GOLDEN = Path(__file__).parent / "golden" / "pull_requests"
SCENARIO_NAMES = sorted(build_scenarios(PullRequestBook()))
MENTION = re.compile(r"<[!@][^>]*>")
ALLOWED_MENTIONS = {f"<@{handle}>" for handle in USER_MAP.values()}
NOW = 1_800_000_000
__all__ = ["mattermost_standin"]  # the fixture, imported so the Mattermost flavour can use it


@pytest.fixture
def pull_request_standin() -> Iterator[tuple[codecommit.CodeCommitStandIn, dict[str, Scenario]]]:
    """A fresh stand-in per test: scenarios change their pull requests as they play (``changes``),
    so one played for Slack would leave them changed for the Mattermost run."""
    with codecommit.running({}) as stand_in:
        yield stand_in, build_scenarios(stand_in.pull_requests)


def play(scenario: Scenario, endpoint: str, slack: SlackStandIn) -> list[dict[str, Any]]:
    """Play a scenario's events in order with one state store; return what was posted."""
    runtime = local_runtime(OfflineReader(), slack.url)
    settings = PullRequestSettings.from_environ(scenario.environ)
    client = codecommit_client(endpoint)
    runtime.pull_requests = PullRequestRuntime(
        load_settings=lambda: settings,
        reader_for=lambda repository: CodeCommitPullRequestReader(client),
        state=MemoryStore(clock=lambda: NOW),
        clock=lambda: NOW,
    )
    before = len(slack.delivered)
    for index, event in enumerate(scenario.events):
        if index in scenario.changes:
            scenario.changes[index]()
        process_event(event, runtime, Deadline(None))
    return slack.delivered[before:]


def check_limits_and_mentions(payload: dict[str, Any]) -> None:
    assert payload_length(payload) <= SLACK_MESSAGE_LIMIT
    assert all(len(attachment["text"]) <= SLACK_SECTION_LIMIT for attachment in payload["attachments"])
    text = json.dumps(payload, ensure_ascii=False)
    assert set(MENTION.findall(text)) <= ALLOWED_MENTIONS, MENTION.findall(text)


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_pull_request_golden(
    name: str,
    flavor: str,
    pull_request_standin: tuple[codecommit.CodeCommitStandIn, dict[str, Scenario]],
    request: pytest.FixtureRequest,
) -> None:
    stand_in, scenarios = pull_request_standin
    chat: SlackStandIn = request.getfixturevalue(f"{flavor}_standin")
    payloads = play(scenarios[name], stand_in.url, chat)
    golden = golden_path(GOLDEN, flavor, name)
    if os.environ.get("UPDATE_GOLDEN"):
        write_golden(golden, payloads)
    assert golden.exists(), f"no golden file for {name} ({flavor}): run `make golden` and review it"
    assert payloads == json.loads(golden.read_text(encoding="utf-8"))
    for payload in payloads:
        if flavor == "slack":
            check_limits_and_mentions(payload)
        else:
            check_mattermost_payload(payload)


def test_demo_plays_a_pull_requests_life_through_the_pipeline() -> None:
    import io

    from handler.demos.pull_requests import run_pull_request_demo

    out = io.StringIO()
    # the draft's "opened" posts nothing; the push that makes it ready posts "ready for review" alone
    assert run_pull_request_demo(out, json_only=True) == 5
    payloads = [json.loads(line) for line in out.getvalue().splitlines()]
    texts = [payload["text"] for payload in payloads]
    assert "|#42 Passkey login for the payments console> in payments-service is ready for review" in texts[0]
    assert texts[0].endswith(
        "review requested from anyone in role CodeCommitReview, <@U0CHEN001>, <@U0BOB0001>, dana"
    )
    assert not any(text.startswith("New commits") or "new commits" in text for text in texts)
    assert "bob finished reviewing <" in texts[2] and "over to <@U0ANA0001>" in texts[2]
    assert texts[3].endswith("by <@U0ANA0001>: 1 of 2 approvals")
    assert texts[4].startswith("bob merged <") and "by <@U0ANA0001> into `main`" in texts[4]


#: Facts a pull-request message must say once: the acting person's name, the title, the approval
#: count and each mention (per payload, over every string the reader sees, fallback aside).
FACTS = (
    re.compile(r"#\d+ [^<>\]|)(]{3,}?(?=[>\]|(]|$| in | by | into |:|;)"),
    re.compile(r"\d+ of \d+ approvals?"),
    re.compile(r"<@U\w+>|@\w+(?=[ ,:;]|$)"),
)


def seen_strings(payload: dict[str, Any]) -> list[str]:
    """What a reader sees: the text, and each attachment's fields except the notification fallback."""
    keys = ("pretext", "author_name", "title", "text")
    return [payload["text"]] + [str(a[key]) for a in payload["attachments"] for key in keys if key in a]


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_each_fact_is_said_once(
    name: str,
    pull_request_standin: tuple[codecommit.CodeCommitStandIn, dict[str, Scenario]],
    slack_standin: SlackStandIn,
) -> None:
    """Item 4 of issue 18: the actor, the title, "1 of 2" and the author's mention, once each;
    and "review requested" never ends with nobody."""
    stand_in, scenarios = pull_request_standin
    for payload in play(scenarios[name], stand_in.url, slack_standin):
        seen = "\n".join(seen_strings(payload))
        for fact in FACTS:
            for found in set(fact.findall(seen)):
                assert seen.count(found) == 1, (found, seen)
        assert not re.search(r"review requested(:| from)?\s*($|\n|\.)", seen), seen
        if "review requested" in payload["text"]:  # says who should review
            assert re.search(r"review requested from [^\s;]", payload["text"]), payload["text"]
