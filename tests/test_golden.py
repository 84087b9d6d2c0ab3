"""Golden payloads: each scenario goes through the whole pipeline and must post exactly this message.

The pipeline runs twice per scenario, reading commits from git and from the CodeCommit stand-in;
both must post the identical golden payload. Each scenario is played for both flavours: to the
Slack stand-in (tests/golden/<scenario>.json) and, through a ``/hooks/`` URL that makes the
default destination Mattermost, to the Mattermost stand-in (tests/golden/mattermost/<scenario>.json).
After an intended rendering change, rewrite the files with ``make golden`` and review the diff
like code.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from handler.app import process_event
from handler.deadline import Deadline
from handler.render.markdown import MATTERMOST_POST_LIMIT
from handler.render.push import payload_length
from handler.settings import SLACK_MESSAGE_LIMIT, SLACK_SECTION_LIMIT
from handler.sources.trigger import parse_event
from handler.state.heads import RefHeads
from handler.state.memory import MemoryStore
from tests.conftest import load_event, local_runtime
from tests.scenarios import PREVIOUS_HEADS, ScenarioRepo, scenario_events
from tests.standins import mattermost
from tests.standins.mattermost import MattermostStandIn
from tests.standins.slack import SlackStandIn

GOLDEN = Path(__file__).parent / "golden"
SCENARIOS = sorted(scenario_events(defaultdict(lambda: "0" * 40)))
FLAVORS = ("slack", "mattermost")
#: Scenarios whose message depends on the reader: git reads an annotated tag's message and tagger,
#: CodeCommit has no API for tag objects (<name>.json is CodeCommit's, <name>.local-git.json git's).
READER_SPECIFIC = frozenset({"new_tag_annotated", "two_tags_one_commit"})
#: Slack markup that must never reach Mattermost: ``<url|label>`` links, ``<!here>``, ``<@U…>``.
#: (A backslash-escaped ``\\<`` is literal text in Markdown, so it does not count.)
#: (A URL alone in angle brackets, ``<https://…>``, is a CommonMark autolink: the Markdown escaping
#: writes each URL in git text so, and the server leaves it alone.)
SLACK_MARKUP = re.compile(r"(?<!\\)<(?:(?:https?:|mailto:)[^>|]*\||[!@#])[^>]*>")
#: A mention or channel link Mattermost would act on: ``@`` or ``~`` right before a word character
#: (the renderer puts a word joiner between them). Link targets are left out before looking.
LIVE_MENTION = re.compile(r"[@~]\w")
LINK_TARGET = re.compile(r"\]\([^)\s]*\)")


@pytest.fixture
def mattermost_standin() -> Iterator[MattermostStandIn]:
    with mattermost.running() as stand_in:
        yield stand_in


def check_mattermost_payload(payload: dict[str, Any]) -> None:
    """A payload for Mattermost: Markdown only, no Slack-only fields, nobody notified by accident."""
    assert "blocks" not in payload and "unfurl_links" not in payload
    for attachment in payload.get("attachments", []):
        assert "mrkdwn_in" not in attachment and "ts" not in attachment
    attachments = payload.get("attachments", [])
    # A title is Markdown only without a link: Mattermost shows a linked title as plain text.
    def title_is_markdown(attachment: dict[str, Any]) -> bool:
        return "title_link" not in attachment

    markdown = [payload.get("text", "")] + [
        str(attachment.get(key, ""))
        for attachment in attachments
        for key in ("pretext", "text", "title")
        if key != "title" or title_is_markdown(attachment)
    ]
    # fallback (notifications), footer and a linked title are plain text: Slack markup there is
    # inert literal text (the server translates Slack links only in text, pretext and fields)
    plain = [
        str(attachment.get(key, ""))
        for attachment in attachments
        for key in ("fallback", "footer", "author_name", "title")
        if key != "title" or not title_is_markdown(attachment)
    ]
    for text in markdown:
        assert not SLACK_MARKUP.search(text), text
    for text in markdown + plain:
        assert not LIVE_MENTION.search(LINK_TARGET.sub("]()", text)), text


def write_golden(path: Path, posted: object) -> None:
    """Rewrite ``path`` with ``posted`` when they differ (UPDATE_GOLDEN): an unchanged file keeps
    its bytes, so the diff shows only real changes, not key order."""
    if path.exists() and json.loads(path.read_text(encoding="utf-8")) == posted:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(posted, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def golden_path(directory: Path, flavor: str, name: str) -> Path:
    """``<directory>/<name>.json`` for Slack, ``<directory>/mattermost/<name>.json`` for Mattermost."""
    return directory / f"{name}.json" if flavor == "slack" else directory / flavor / f"{name}.json"


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


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_golden_payload(
    scenario: str, flavor: str, scenario_repo: ScenarioRepo, reader: Any, request: pytest.FixtureRequest
) -> None:
    stand_in: SlackStandIn = request.getfixturevalue(f"{flavor}_standin")
    event = scenario_events(scenario_repo.commits)[scenario]
    seeds = {ref: scenario_repo.commits[key] for ref, key in PREVIOUS_HEADS.get(scenario, {}).items()}
    [payload] = post(event, reader, stand_in, seeds)
    golden = golden_path(GOLDEN, flavor, scenario)
    if scenario in READER_SPECIFIC and request.node.callspec.params["reader"] == "local-git":
        golden = golden_path(GOLDEN, flavor, f"{scenario}.local-git")
    if os.environ.get("UPDATE_GOLDEN"):
        write_golden(golden, payload)
    assert golden.exists(), f"no golden file for {scenario} ({flavor}): run `make golden` and review it"
    assert payload == json.loads(golden.read_text(encoding="utf-8"))
    assert payload_length(payload) <= SLACK_MESSAGE_LIMIT
    assert all(len(a.get("text", "")) <= SLACK_SECTION_LIMIT for a in payload["attachments"])
    if flavor == "mattermost":
        check_mattermost_payload(payload)
        assert len(payload.get("text", "")) <= MATTERMOST_POST_LIMIT


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
