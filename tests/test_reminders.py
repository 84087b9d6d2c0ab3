"""Review reminders end to end (handler/pipelines/reminders.py): the schedule's event, the review queue
read from the CodeCommit stand-in through a real botocore client, the digest posted to the Slack
stand-in, and the once-a-day marks in a state store, with the clock passed in. Then the digest
renderer on hostile text in both dialects, and the settings."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from handler.app import process_event
from handler.aws.clients import AwsClients
from handler.deadline import Deadline
from handler.deliver.destinations import Flavor
from handler.deliver.webhook_url import DestinationSecrets
from handler.enrich.pull_request_reader import OfflinePullRequestReader
from handler.enrich.reader import botocore_config
from handler.errors import ConfigurationError, DeliveryError
from handler.model import Repository
from handler.pipelines.reminders import process_reminder_event, reminder_day
from handler.pull_requests.people import ChatUser, Person, UserMap
from handler.pull_requests.queue import QueueEntry
from handler.pull_requests.settings import PullRequestSettings
from handler.render.markdown import MATTERMOST_POST_LIMIT
from handler.render.markup import MATTERMOST, SLACK
from handler.render.push import payload_length
from handler.render.reminders import age_text, digest_text, queue_text, render_digest
from handler.runtime import PullRequestRuntime, Runtime
from handler.settings import ReviewReminders, Settings, review_reminders
from handler.sources import REMINDER_SOURCE, is_reminder_event
from handler.state import StateStore
from handler.state.memory import MemoryStore
from handler.state.sqlite import SQLiteStore
from tests.conftest import codecommit_client
from tests.standins import codecommit, slack
from tests.standins.pull_requests import StoredPullRequest, rule_content
from tests.test_fuzz import HOSTILE_TEXT, MENTION, check_payload
from tests.test_mattermost_markdown import (
    LIVE_MENTION,
    OWN_LINK,
    OWN_URL,
    live_syntax,
    markdown_fields,
    plain_fields,
    server_side,
)
from tests.test_review_queue import ALICE, BOB, CAROL, NOW, build_book

USER_MAP = UserMap.parse(json.dumps({BOB: "U0BOB0001", CAROL: "U0CAROL01"}))  # by ARN: IDENTITY_MATCH=arn
EVENT = {
    "source": REMINDER_SOURCE,
    "version": 1,
    "account": "123456789012",
    "region": "us-east-2",
    "partition": "aws",
    "scheduled_time": "2026-12-07T09:00:00Z",
    "execution_id": "e1",
}
REMINDERS = ReviewReminders(schedule="cron(0 9 ? * MON-FRI *)", timezone="Europe/Berlin", min_age_hours=24)


@pytest.fixture
def standin() -> Iterator[codecommit.CodeCommitStandIn]:
    with codecommit.running({}) as stand_in:
        build_book(stand_in)
        yield stand_in


class Clock:
    def __init__(self, at: datetime) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta).total_seconds()


def make_runtime(
    url: str,
    clock: Clock,
    *,
    reminders: ReviewReminders | None = REMINDERS,
    repositories: tuple[str, ...] = ("payments", "ledger"),
    flavor: Flavor | None = None,
    state: StateStore | None = None,
) -> Runtime:
    def no_secrets(region: str | None) -> Any:
        raise AssertionError("no secret here")

    return Runtime(
        settings=Settings(
            watched_repositories=repositories, review_reminders=reminders, delivery_max_attempts=1
        ),
        reader_for=lambda repository: pytest.fail("the reminders never read commits"),
        secrets=DestinationSecrets(url=url, secret_arn=None, secrets_client=no_secrets, flavor=flavor),
        state=state if state is not None else MemoryStore(clock=clock),
        pull_requests=PullRequestRuntime(
            load_settings=lambda: PullRequestSettings(user_map=USER_MAP),
            reader_for=lambda repository: OfflinePullRequestReader(),
        ),
    )


def run(runtime: Runtime, stand_in: codecommit.CodeCommitStandIn, clock: Clock) -> dict[str, int]:
    return process_reminder_event(
        EVENT,
        runtime,
        Deadline(None),
        clock=clock,
        codecommit=lambda region: codecommit_client(stand_in.url, max_attempts=1),
    )


def numbers(payload: dict[str, Any]) -> list[str]:
    return re.findall(r"\|#(\d+) ", payload["attachments"][0]["text"])


def test_the_schedules_event_is_recognised() -> None:
    assert is_reminder_event(EVENT)
    assert not is_reminder_event({"source": "aws.codecommit", "detail-type": "x"})
    assert not is_reminder_event({"Records": []}) and not is_reminder_event("x")


def test_the_notifier_sends_the_schedules_event_down_the_reminders_path(
    standin: codecommit.CodeCommitStandIn, slack_standin: slack.SlackStandIn
) -> None:
    """Through the entry's dispatch table, with the CodeCommit client from the runtime's session."""
    runtime = make_runtime(slack_standin.url, Clock(NOW))
    asked: list[tuple[str, str | None]] = []

    class Clients(AwsClients):
        def get(self, service: str, region: str | None) -> Any:
            asked.append((service, region))
            return codecommit_client(standin.url, max_attempts=1)

    runtime.aws = Clients(botocore_config(max_attempts=1), botocore_config(max_attempts=1))
    outcome = process_event(EVENT, runtime, Deadline(None))
    assert outcome["digests"] == 1 and asked == [("codecommit", "us-east-2")]
    assert numbers(slack_standin.delivered[0])[:2] == ["5", "1"]


def test_one_digest_oldest_first_with_the_reviewers_mentioned(
    standin: codecommit.CodeCommitStandIn, slack_standin: slack.SlackStandIn
) -> None:
    clock = Clock(NOW)
    outcome = run(make_runtime(slack_standin.url, clock), standin, clock)
    assert outcome == {"reminded": 3, "digests": 1}
    (payload,) = slack_standin.delivered
    assert numbers(payload) == ["5", "1", "8"]  # no draft (2, 9), approved (3), young (4), rule-less (6)
    assert payload["text"] == "<@U0BOB0001> <@U0CAROL01> 3 pull requests wait for review"
    text = payload["attachments"][0]["text"]
    first = text.split("\n")[0]
    assert first.startswith(
        "• <https://us-east-2.console.aws.amazon.com/codesuite/codecommit/repositories/payments/"
        "pull-requests/5/details?region=us-east-2|#5 Old one> · payments · `feature/login` → `main`"
    )
    assert "opened 6 days ago by alice · 0 of 2 approvals · waiting for <@U0BOB0001>, <@U0CAROL01>" in text
    assert "1 of 2 approvals · waiting for <@U0CAROL01>" in text
    assert "waiting for alice" in text  # #8 waits for alice, who is not mapped: named, never pinged
    assert payload["unfurl_links"] is False


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_at_most_once_a_day_per_pull_request(
    standin: codecommit.CodeCommitStandIn, slack_standin: slack.SlackStandIn, backend: str, tmp_path: Path
) -> None:
    clock = Clock(NOW)
    store = (
        MemoryStore(clock=clock) if backend == "memory" else SQLiteStore(tmp_path / "s.sqlite3", clock=clock)
    )
    runtime = make_runtime(slack_standin.url, clock, state=store)
    run(runtime, standin, clock)
    clock.advance(hours=6)  # 15:00 in Berlin, the same day
    assert run(runtime, standin, clock) == {"reminded": 0, "digests": 0}
    assert len(slack_standin.delivered) == 1  # quiet: nothing new
    standin.pull_requests.add_pull_request(
        StoredPullRequest(
            "20", "ledger", "New today", ALICE, rules=[("r", rule_content(1, [BOB]))], created=0.0
        )
    )
    assert run(runtime, standin, clock) == {"reminded": 1, "digests": 1}
    assert numbers(slack_standin.delivered[-1]) == ["20"]  # only what was not reminded today
    clock.advance(days=1)  # the next day: everything that still waits, again (and #4, now a day old)
    assert run(runtime, standin, clock) == {"reminded": 5, "digests": 1}
    assert numbers(slack_standin.delivered[-1]) == ["20", "5", "1", "8", "4"]


def test_quiet_when_nothing_waits(
    standin: codecommit.CodeCommitStandIn, slack_standin: slack.SlackStandIn
) -> None:
    clock = Clock(NOW)
    standin.pull_requests.approve("8", ALICE)
    standin.pull_requests.approve("8", CAROL)
    outcome = run(make_runtime(slack_standin.url, clock, repositories=("ledger",)), standin, clock)
    assert outcome == {"reminded": 0, "digests": 0}
    assert slack_standin.requests == 0


def test_off_without_settings_reads_and_posts_nothing(
    standin: codecommit.CodeCommitStandIn, slack_standin: slack.SlackStandIn
) -> None:
    clock = Clock(NOW)
    before = sum(standin.calls.values())
    assert run(make_runtime(slack_standin.url, clock, reminders=None), standin, clock) == {"reminded": 0}
    assert sum(standin.calls.values()) == before and slack_standin.requests == 0


def test_an_event_of_another_version_is_dropped(slack_standin: slack.SlackStandIn) -> None:
    clock = Clock(NOW)
    outcome = process_reminder_event(
        {**EVENT, "version": 2}, make_runtime(slack_standin.url, clock), Deadline(None)
    )
    assert outcome == {"dropped": 1}
    assert process_reminder_event(
        {**EVENT, "account": "<!channel>"}, make_runtime(slack_standin.url, clock), Deadline(None)
    ) == {"dropped": 1}


def test_a_failed_post_releases_its_marks_so_the_retry_posts(standin: codecommit.CodeCommitStandIn) -> None:
    clock = Clock(NOW)
    with slack.running([slack.Reply(500, "server_error")]) as failing:
        runtime = make_runtime(failing.url, clock)
        with pytest.raises(DeliveryError):
            run(runtime, standin, clock)
        assert failing.delivered == []
        assert run(runtime, standin, clock) == {"reminded": 3, "digests": 1}  # Lambda's retry
        assert numbers(failing.delivered[0]) == ["5", "1", "8"]


def test_the_mattermost_digest_is_in_its_own_dialect(
    standin: codecommit.CodeCommitStandIn, slack_standin: slack.SlackStandIn
) -> None:
    clock = Clock(NOW)
    run(make_runtime(slack_standin.url, clock, flavor=Flavor.MATTERMOST), standin, clock)
    (payload,) = slack_standin.delivered
    assert set(payload) == {"text", "attachments"}
    assert payload["text"] == "3 pull requests wait for review"  # Slack ids only: named, not pinged
    assert payload["attachments"][0]["pretext"] == ":hourglass_flowing_sand: **Waiting for review**"
    assert "[\\#5 Old one](https://us-east-2.console.aws.amazon.com/" in payload["attachments"][0]["text"]


def test_the_day_is_counted_in_the_configured_time_zone() -> None:
    late = datetime(2026, 12, 7, 23, 30, tzinfo=UTC).timestamp()
    assert reminder_day(late, "UTC") == "2026-12-07"
    assert reminder_day(late, "Europe/Berlin") == "2026-12-08"
    assert reminder_day(late, "America/Los_Angeles") == "2026-12-07"


@pytest.mark.parametrize(
    ("minutes", "text"),
    [
        (0, "0 minutes"),
        (1, "1 minute"),
        (119, "119 minutes"),
        (120, "2 hours"),
        (47 * 60, "47 hours"),
        (49 * 60, "2 days"),
    ],
)
def test_age_text(minutes: int, text: str) -> None:
    assert age_text(timedelta(minutes=minutes)) == text


# --- hostile text, both dialects ----------------------------------------------------------------

MAPPED = Person("bob", "arn:aws:iam::123456789012:user/bob", ChatUser("U0BOB0001", "bob.kim"))
OWN_MENTIONS = {SLACK: "<@U0BOB0001>", MATTERMOST: "@bob.kim"}
GENERATED = {"cases": 0}


def hostile_entry(title: str, branch: str, repository: str, name: str, number: int) -> QueueEntry:
    return QueueEntry(
        repository=Repository(repository or "r", "eu-west-1", "123456789012"),
        pull_request_id=str(number),
        title=title,
        author=Person(name),
        created=NOW - timedelta(days=number % 9),
        source_reference=f"refs/heads/{branch}",
        destination_reference=branch,
        approvals=number % 3,
        approvals_needed=2,
        waiting_for=(Person(name), MAPPED, Person(title[:40])),
    )


def blank_code_spans(text: str) -> str:
    """``text`` with each code span's content replaced (code spans bind tighter than links, so a
    ``[`` inside one opens nothing), by the same scan as ``live_syntax``: escapes first."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if (
            char == "\\"
            and index + 1 < len(text)
            and text[index + 1].isascii()
            and not text[index + 1].isalnum()
        ):
            out.append(text[index : index + 2])
            index += 2
            continue
        if char == "`":
            run = len(text[index:]) - len(text[index:].lstrip("`"))
            closing = text.find("`" * run, index + run)
            if closing != -1:
                out.append("`x`")
                index = closing + run
                continue
        out.append(char)
        index += 1
    return "".join(out)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(
    entries=st.lists(
        st.builds(
            hostile_entry, HOSTILE_TEXT, HOSTILE_TEXT, HOSTILE_TEXT, HOSTILE_TEXT, st.integers(1, 10_000)
        ),
        min_size=1,
        max_size=40,
    )
)
@example(
    entries=[
        hostile_entry(
            "<!channel> @here [pay](https://evil.example) *now* <https://evil.example|x>",
            "feature/@alice",
            "repo_<!here>",
            "@all",
            7,
        )
    ]
)
@example(entries=[hostile_entry("", "", "", "<", 1), hostile_entry("|" * 500, "", "", ">", 1)])
@example(
    entries=[
        hostile_entry("", "[", "", "", 1),
        hostile_entry("", "", "", "`", 1),
        hostile_entry("", "~", "", "", 2),
    ]
)
def test_hostile_titles_branches_and_names_are_inert_in_both_dialects(entries: list[QueueEntry]) -> None:
    GENERATED["cases"] += 1
    slack_payload = render_digest(entries, NOW, Settings().render, SLACK)
    without_own = json.loads(json.dumps(slack_payload).replace(OWN_MENTIONS[SLACK], ""))
    check_payload(without_own)  # Slack's limits; no <!…> or <@…> but the mapped reviewer's
    assert slack_payload["text"].startswith(OWN_MENTIONS[SLACK])

    payload = render_digest(entries, NOW, Settings().render, MATTERMOST)
    assert payload_length(payload) <= MATTERMOST_POST_LIMIT
    for field in markdown_fields(payload):
        assert "|" not in field  # so the server's <url|label> translation never applies
        stored = server_side(field.replace(OWN_MENTIONS[MATTERMOST], ""))
        assert not LIVE_MENTION.search(OWN_URL.sub("]()", stored)), stored
        openers = live_syntax(OWN_LINK.sub("", blank_code_spans(stored)))
        assert [opener for opener in openers if opener not in "*_"] == [], stored
        assert openers.count("*") % 2 == 0 and openers.count("_") % 2 == 0, stored
    for field in plain_fields(payload):
        assert not LIVE_MENTION.search(field), field


# --- settings -----------------------------------------------------------------------------------


def test_review_reminders_are_read_with_their_defaults() -> None:
    assert review_reminders('{"schedule": "cron(0  9 ? * MON-FRI *)"}') == ReviewReminders(
        schedule="cron(0 9 ? * MON-FRI *)", timezone="UTC", min_age_hours=24, to=("default",)
    )
    assert Settings.from_environ(
        {
            "REVIEW_REMINDERS": json.dumps(
                {"schedule": "cron(30 8 ? * * *)", "to": "default", "min_age_hours": 0}
            )
        }
    ).review_reminders == ReviewReminders("cron(30 8 ? * * *)", "UTC", 0, ("default",))


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("not json", "is not valid JSON"),
        ('{"timezone": "UTC"}', "at least a schedule"),
        ('{"schedule": "rate(1 day)"}', "EventBridge Scheduler cron expression"),
        ('{"schedule": "cron(0 9 * * *)"}', "has 5 fields"),
        ('{"schedule": "cron(0 9 * * MON *)"}', "exactly one of day-of-month and day-of-week"),
        ('{"schedule": "cron(0 9 ? * MON *)", "timezone": "Mars/Olympus"}', "not an IANA time zone"),
        ('{"schedule": "cron(0 9 ? * MON *)", "min_age_hours": -1}', "min_age_hours"),
        ('{"schedule": "cron(0 9 ? * MON *)", "min_age_hours": true}', "min_age_hours"),
        ('{"schedule": "cron(0 9 ? * MON *)", "to": []}', "to must be a list"),
        ('{"schedule": "cron(0 9 ? * MON *)", "sometime": 1}', "unknown keys 'sometime'"),
        ('{"schedule": "cron(0 9 ? * MON *)", "to": ["reviews"]}', "to names 'reviews'"),
    ],
)
def test_bad_review_reminders_say_what_to_write(value: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(problem)) as raised:
        Settings.from_environ({"REVIEW_REMINDERS": value})
    assert "REVIEW_REMINDERS" in str(raised.value)


def test_watched_repositories_are_names() -> None:
    assert Settings.from_environ({"WATCHED_REPOSITORIES": '["a", "b.c", "a"]'}).watched_repositories == (
        "a",
        "b.c",
    )
    assert Settings.from_environ({"WATCHED_REPOSITORIES": "a, b.c"}).watched_repositories == ("a", "b.c")
    assert Settings.from_environ({"WATCHED_REPOSITORIES": "*"}).watched_repositories == ("*",)
    with pytest.raises(ConfigurationError, match="WATCHED_REPOSITORIES"):
        Settings.from_environ({"WATCHED_REPOSITORIES": '["a b"]'})


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    entries=st.lists(
        st.builds(
            hostile_entry, HOSTILE_TEXT, HOSTILE_TEXT, HOSTILE_TEXT, HOSTILE_TEXT, st.integers(1, 10_000)
        ),
        max_size=30,
    )
)
def test_the_private_answers_ping_nobody(entries: list[QueueEntry]) -> None:
    for text in (queue_text(entries[:3], entries[3:], NOW, SLACK), digest_text(entries, NOW, SLACK)):
        text.encode("utf-8")
        assert not MENTION.search(text), text
        assert len(text) <= 4_000  # Slack's limit for a command's ephemeral answer


def test_each_digest_is_an_outcome_line(
    standin: codecommit.CodeCommitStandIn, slack_standin: slack.SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(NOW)
    runtime = make_runtime(slack_standin.url, clock)
    with caplog.at_level("INFO", logger="handler.outcome"):
        run(runtime, standin, clock)
        run(runtime, standin, clock)
    lines = [r for r in caplog.records if r.name == "handler.outcome"]
    assert [(r.outcome, r.source, r.kind, r.destinations, r.event_id) for r in lines] == [  # type: ignore[attr-defined]
        ("delivered", "schedule", "review_reminder", ["default"], "e1"),
        ("duplicate", "schedule", "review_reminder", ["default"], "e1"),
    ]
    assert lines[0].reason == "3 waiting: payments#5, payments#1, ledger#8"  # type: ignore[attr-defined]
