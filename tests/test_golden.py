"""Golden payloads: each scenario goes through the whole pipeline and must post exactly this message.

The pipeline runs twice per scenario, reading commits from git and from the CodeCommit stand-in;
both must post the identical golden payload. After an intended rendering change, rewrite the
files with ``make golden`` and review the diff like code.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from handler.app import process_event
from handler.deadline import Deadline
from handler.render.push import payload_length
from handler.settings import SLACK_MESSAGE_LIMIT, SLACK_SECTION_LIMIT
from handler.sources.trigger import parse_event
from handler.state.heads import RefHeads
from handler.state.memory import MemoryStore
from tests.conftest import load_event, local_runtime
from tests.scenarios import PREVIOUS_HEADS, ScenarioRepo, scenario_events
from tests.standins.slack import SlackStandIn

GOLDEN = Path(__file__).parent / "golden"
SCENARIOS = sorted(scenario_events(defaultdict(lambda: "0" * 40)))


def post(
    event: Any, reader: Any, slack: SlackStandIn, previous_heads: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Run the pipeline as the deployed function does, with a state store holding ``previous_heads``
    (full ref → commit id) as if earlier pushes had recorded them."""
    before = len(slack.delivered)
    runtime = local_runtime(reader, slack.url)
    runtime.state = MemoryStore()
    heads = RefHeads(runtime.state)
    for push in parse_event(event):
        for full_ref, commit_id in (previous_heads or {}).items():
            seeded = heads.swap(
                push.repository, full_ref, current=None, commit_id=commit_id, previous_id=None, set_by="seed"
            )
            assert seeded is not None and heads.confirm(seeded)  # an earlier push, delivered
    process_event(event, runtime, Deadline(None))
    return slack.delivered[before:]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_golden_payload(
    scenario: str, scenario_repo: ScenarioRepo, reader: Any, slack_standin: SlackStandIn
) -> None:
    event = scenario_events(scenario_repo.commits)[scenario]
    seeds = {ref: scenario_repo.commits[key] for ref, key in PREVIOUS_HEADS.get(scenario, {}).items()}
    [payload] = post(event, reader, slack_standin, seeds)
    golden = GOLDEN / f"{scenario}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert golden.exists(), f"no golden file for {scenario}: run `make golden` and review it"
    assert payload == json.loads(golden.read_text(encoding="utf-8"))
    assert payload_length(payload) <= SLACK_MESSAGE_LIMIT
    assert all(len(a.get("text", "")) <= SLACK_SECTION_LIMIT for a in payload["attachments"])


@pytest.mark.parametrize(
    "event",
    [
        load_event("awslambdago_TriggerEventTest_record.json"),
        {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": "not json"}}]},
        {
            "Records": [
                {
                    "EventSource": "aws:sns",
                    "Sns": {"Message": json.dumps({"Records": [{"eventSource": "aws:s3"}]})},
                }
            ]
        },
        {"detail-type": "CodeCommit Repository State Change", "source": "aws.codecommit"},
    ],
    ids=["test-trigger-without-references", "malformed", "foreign", "eventbridge-shape"],
)
def test_events_without_a_push_post_nothing(
    event: Any, scenario_repo: ScenarioRepo, slack_standin: SlackStandIn
) -> None:
    from handler.enrich.gitreader import LocalGitReader

    assert post(event, LocalGitReader(scenario_repo.path), slack_standin) == []
    assert slack_standin.requests == 0
