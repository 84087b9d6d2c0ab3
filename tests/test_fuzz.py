"""Hostile input, generated: SNS and trigger payloads and commit contents an attacker could shape.

Hypothesis builds events with missing keys, wrong types, huge strings, odd Unicode, control
characters and ref names from every character git allows, and commits whose messages, names and
paths are just as hostile. Each case runs the whole pipeline (parse → enrich → render → deliver to
a Slack stand-in on 127.0.0.1) and must:

* raise nothing but the documented errors (:class:`handler.errors.NotifierError`);
* post only payloads within Slack's limits (40,000 characters a message, 3,000 a section);
* never post an unescaped ``<!…>`` or ``<@…>``.

The number of generated cases is printed at the end of the test run.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handler.app import process_event
from handler.deadline import Deadline
from handler.enrich.reader import CommitOnlyReader
from handler.errors import CommitUnavailable, NotifierError
from handler.model import ChangeType, Commit, EntryKind, FileChange, Person
from handler.render.push import payload_length
from handler.settings import SLACK_MESSAGE_LIMIT, SLACK_SECTION_LIMIT
from handler.sources.trigger import parse_event
from tests.conftest import local_runtime
from tests.standins import slack

GENERATED = {"cases": 0, "posted": 0}
MENTION = re.compile(r"<[!@]")

# git check-ref-format: no control characters, space, ~ ^ : ? * [ \ ; no "..", "@{", "//";
# no component starting with "." or ending in ".lock"; not ending in ".".
GIT_REF_CHAR = st.characters(
    codec="utf-8", exclude_categories=("Cc", "Cs"), exclude_characters=" ~^:?*[\\\x7f"
)
COMPONENT = st.text(GIT_REF_CHAR, min_size=1, max_size=16).filter(
    lambda part: (
        not part.startswith(".") and not part.endswith(".lock") and ".." not in part and "@{" not in part
    )
)
REF_NAME = (
    st.lists(COMPONENT, min_size=1, max_size=4).map("/".join).filter(lambda name: not name.endswith("."))
)
FULL_REF = st.sampled_from(["refs/heads/", "refs/tags/", "refs/notes/"]).flatmap(
    lambda prefix: REF_NAME.map(lambda name: prefix + name)
)
HUGE = st.builds(
    lambda chunk, times: chunk * times, st.text(min_size=1, max_size=3), st.integers(500, 25_000)
)
HOSTILE_TEXT = st.one_of(
    st.text(max_size=120),
    st.text(alphabet="<>&!@#|*_~`^\n\r\t\x00\x1b\u200d\u202e\ufeff👩‍👩‍👧🇺🇦 heran", max_size=80),
    st.sampled_from(
        [
            "<!channel>",
            "<!here|here>",
            "<@U024BE7LH>",
            "<!subteam^S1>",
            "@everyone",
            "&lt;!channel&gt;",
            "<https://evil.example|click>",
            "\ud800",
            "*bold* _it_ ~s~ `c`",
        ]
    ),
    HUGE,
)
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | HOSTILE_TEXT,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)
HEX_ID = st.text("0123456789abcdef", min_size=40, max_size=40)
REPO_ARN = st.from_regex(r"\A[\w.-]{1,100}\Z", fullmatch=True).map(
    lambda name: f"arn:aws:codecommit:us-east-1:123456789012:{name}"
)
IDENTITY = st.one_of(
    st.builds("arn:aws:iam::123456789012:user/{}".format, HOSTILE_TEXT),
    st.builds("arn:aws:sts::123456789012:assumed-role/{}/{}".format, HOSTILE_TEXT, HOSTILE_TEXT),
    HOSTILE_TEXT,
)


@st.composite
def mostly_valid(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    """An object whose every field is valid 17 times in 20, hostile (any JSON) twice, missing once.

    Mostly-valid objects reach rendering and delivery with hostile content inside them; wholly
    random ones would nearly all be dropped at the first check, leaving the renderer unfuzzed.
    """
    document: dict[str, Any] = {}
    for name, valid in fields.items():
        roll = draw(st.integers(0, 19))
        if roll < 17:
            document[name] = draw(valid)
        elif roll < 19:
            document[name] = draw(ANY_JSON)
    return document


REFERENCE = mostly_valid(
    {
        "commit": st.one_of(HEX_ID, HEX_ID, HEX_ID, st.just("0" * 40), HOSTILE_TEXT),
        "ref": FULL_REF,
        "created": st.booleans(),
        "deleted": st.booleans(),
    }
)
RECORD = mostly_valid(
    {
        "eventSource": st.just("aws:codecommit"),
        "eventSourceARN": REPO_ARN,
        "codecommit": st.lists(REFERENCE, min_size=1, max_size=25).map(lambda refs: {"references": refs}),
        "userIdentityARN": IDENTITY,
        "eventName": st.sampled_from(["ReferenceChanges", "ReferenceChanges", "TriggerEventTest"]),
        "eventTime": st.just("2021-02-08T08:53:15.172+0000"),
        "eventTriggerName": HOSTILE_TEXT,
        "customData": st.one_of(st.none(), HOSTILE_TEXT),
        "eventId": HOSTILE_TEXT,
    }
)
TRIGGER_MESSAGE = st.fixed_dictionaries({"Records": st.lists(RECORD, min_size=1, max_size=3)})
SNS_EVENT = TRIGGER_MESSAGE.map(
    lambda message: {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(message)}}]}
)
EVENT = st.one_of(
    SNS_EVENT,
    SNS_EVENT,
    SNS_EVENT,
    SNS_EVENT,
    SNS_EVENT,
    TRIGGER_MESSAGE,
    ANY_JSON.map(
        lambda junk: {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(junk)}}]}
    ),
    HOSTILE_TEXT.map(lambda text: {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": text}}]}),
    ANY_JSON,
)
PERSON = st.builds(
    Person, HOSTILE_TEXT, HOSTILE_TEXT, st.one_of(st.none(), st.just(datetime(2026, 1, 1, tzinfo=UTC)))
)
CHANGE = st.builds(
    FileChange,
    st.sampled_from(list(ChangeType)),
    HOSTILE_TEXT,
    st.sampled_from(list(EntryKind)),
    st.one_of(st.none(), st.sampled_from(list(EntryKind))),
)


class HostileReader(CommitOnlyReader):
    """Answers every commit id with the same generated (hostile) commit, or as unavailable."""

    def __init__(self, message: str | None, author: Person, parents: int, changes: list[FileChange]) -> None:
        self.message, self.author, self.parents, self.changes = message, author, parents, tuple(changes)

    def get_commit(self, commit_id: str) -> Commit:
        if self.message is None:
            raise CommitUnavailable(commit_id, "generated as unreadable")
        return Commit(
            commit_id,
            self.message,
            self.author,
            self.author,
            tuple(f"{index:040x}" for index in range(1, self.parents + 1)),
        )

    def get_differences(self, commit_id: str, parent_id: str | None) -> tuple[FileChange, ...]:
        return self.changes


@pytest.fixture(scope="module")
def fuzz_slack() -> Iterator[slack.SlackStandIn]:
    with slack.running() as stand_in:
        yield stand_in


def check_payload(payload: dict[str, Any]) -> None:
    assert payload_length(payload) <= SLACK_MESSAGE_LIMIT
    for attachment in payload["attachments"]:
        assert len(attachment.get("text", "")) <= SLACK_SECTION_LIMIT
    text = json.dumps(payload, ensure_ascii=False)
    text.encode("utf-8")  # no lone surrogates: Slack would refuse the payload
    assert not MENTION.search(text), MENTION.search(text)


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(
    event=EVENT,
    message=st.one_of(st.none(), HOSTILE_TEXT),
    author=PERSON,
    parents=st.integers(0, 8),
    changes=st.lists(CHANGE, max_size=60),
)
def test_hostile_input_through_the_whole_pipeline(
    fuzz_slack: slack.SlackStandIn,
    event: Any,
    message: str | None,
    author: Person,
    parents: int,
    changes: list[FileChange],
) -> None:
    GENERATED["cases"] += 1
    runtime = local_runtime(HostileReader(message, author, parents, changes), fuzz_slack.url)
    before = len(fuzz_slack.delivered)
    with contextlib.suppress(NotifierError):  # documented: raised so that the event is kept
        process_event(event, runtime, Deadline(None))
    for payload in fuzz_slack.delivered[before:]:
        GENERATED["posted"] += 1
        check_payload(payload)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=EVENT)
def test_parsing_never_raises(event: Any) -> None:
    """Parsing judges; it never crashes: every bad part is dropped with a logged reason."""
    GENERATED["cases"] += 1
    for push in parse_event(event):
        assert push.ref_changes


def test_no_generated_test_can_fail_on_timing() -> None:
    """Every hypothesis test in the suite runs without a per-example deadline or a too-slow check.

    Hypothesis's default 200 ms deadline, and its health check for slow data generation, fail
    tests on a busy machine without any bug; this keeps new property tests from bringing them back.
    """
    offenders = []
    for path in sorted(Path(__file__).parent.glob("test_*.py")):
        module = importlib.import_module(f"tests.{path.stem}")
        for name, function in vars(module).items():
            if not getattr(function, "is_hypothesis_test", False):
                continue
            chosen = function._hypothesis_internal_use_settings
            if chosen.deadline is not None or HealthCheck.too_slow not in chosen.suppress_health_check:
                offenders.append(f"{path.name}::{name}")
    assert offenders == []
