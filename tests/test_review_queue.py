"""The review queue (handler/actions/review_queue.py): reads through a real botocore client against the
CodeCommit stand-in (so every request and answer is held to the service model), the pure decisions,
and the ``prs`` / ``remind`` slash sub-commands with a stand-in action context."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from handler.actions.context import Actor, Reply
from handler.actions.review_queue import (
    OpenPullRequest,
    QueueSettings,
    ReviewQueueReader,
    _environment_settings,
    oldest_first,
    prs,
    queue_entry,
    read_queue,
    remind,
    run_queue_command,
    waiting_on,
    worth_reading,
)
from handler.deadline import Deadline
from handler.errors import ConfigurationError, ReadDeadlineReached
from handler.model import Repository
from handler.pull_requests.model import ApprovalRule, ApprovalState, PullRequestDetails, PullRequestSnapshot
from handler.pull_requests.people import UserMap
from tests.conftest import codecommit_client
from tests.standins import codecommit
from tests.standins.pull_requests import StoredPullRequest, rule_content

ACCOUNT = "123456789012"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
CAROL = f"arn:aws:iam::{ACCOUNT}:user/carol"
#: By full ARN, as IDENTITY_MATCH=arn (the default) matches.
USER_MAP = UserMap.parse(json.dumps({BOB: "U0BOB0001", CAROL: "U0CAROL01", ALICE: "U0ALICE01"}))
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
DAY = 24 * 3600


def opened(days_ago: float) -> float:
    return (NOW - timedelta(days=days_ago)).timestamp()


def two_of(*members: str) -> list[tuple[str, str]]:
    return [("two-reviewers", rule_content(2, list(members)))]


def build_book(stand_in: codecommit.CodeCommitStandIn) -> None:
    """Nine pull requests in two repositories; four of them wait for review (see each line)."""
    book = stand_in.pull_requests
    add = book.add_pull_request
    # waits: needs 2 of bob and carol, bob approved -> waits for carol; 3 days old
    add(StoredPullRequest("1", "payments", "Add login", ALICE, rules=two_of(BOB, CAROL), created=opened(3)))
    book.approve("1", BOB)
    # a draft: left out
    add(
        StoredPullRequest(
            "2", "payments", "WIP: refactor", ALICE, rules=two_of(BOB, CAROL), created=opened(9)
        )
    )
    # approved enough: left out
    add(
        StoredPullRequest(
            "3", "payments", "Fix typo", ALICE, rules=[("one", rule_content(1, [BOB]))], created=opened(4)
        )
    )
    book.approve("3", BOB)
    # too young for min_age 24 h: left out of the digest, shown by prs
    add(StoredPullRequest("4", "payments", "Bump deps", BOB, rules=two_of(ALICE, CAROL), created=opened(0.1)))
    # the oldest waiting: waits for bob and carol (the author alice is not her own reviewer)
    add(
        StoredPullRequest(
            "5", "payments", "Old one", ALICE, rules=two_of(ALICE, BOB, CAROL), created=opened(6)
        )
    )
    # no approval rule: waits for nobody
    add(StoredPullRequest("6", "payments", "No rules", ALICE, created=opened(5)))
    # closed: not listed as open
    add(
        StoredPullRequest(
            "7", "payments", "Closed", ALICE, rules=two_of(BOB, CAROL), status="CLOSED", created=opened(8)
        )
    )
    # another repository: waits for alice
    add(StoredPullRequest("8", "ledger", "Ledger change", BOB, rules=two_of(ALICE, CAROL), created=opened(2)))
    # a [Draft] in the other repository
    add(StoredPullRequest("9", "ledger", "[Draft] later", BOB, rules=two_of(ALICE), created=opened(2)))
    stand_in.pull_requests.missing_repositories.add("gone")


@pytest.fixture(scope="module")
def standin() -> Iterator[codecommit.CodeCommitStandIn]:
    with codecommit.running({}) as stand_in:
        build_book(stand_in)
        yield stand_in


def settings_for(*repositories: str) -> QueueSettings:
    return QueueSettings(repositories=repositories, region="us-east-2", account=ACCOUNT, user_map=USER_MAP)


def reader(stand_in: codecommit.CodeCommitStandIn, deadline: Deadline | None = None) -> ReviewQueueReader:
    return ReviewQueueReader(codecommit_client(stand_in.url, max_attempts=1), deadline or Deadline(None))


def test_every_page_of_open_pull_requests_is_listed(standin: codecommit.CodeCommitStandIn) -> None:
    assert standin.pull_requests.page_size == 2  # five open ones in payments: three pages
    before = standin.calls["ListPullRequests"]
    ids = reader(standin).open_pull_request_ids("payments")
    assert sorted(ids, key=int) == ["1", "2", "3", "4", "5", "6"]
    assert standin.calls["ListPullRequests"] - before == 3


def test_the_digest_queue_is_oldest_first_without_drafts_approved_young_or_ruleless(
    standin: codecommit.CodeCommitStandIn,
) -> None:
    queue = read_queue(
        reader(standin), settings_for("payments", "ledger"), now=NOW, min_age=timedelta(hours=24)
    )
    assert [(e.repository.name, e.pull_request_id) for e in queue.entries] == [
        ("payments", "5"),
        ("payments", "1"),
        ("ledger", "8"),
    ]
    by_id = {e.pull_request_id: e for e in queue.entries}
    assert [r.label for r in by_id["1"].waiting_for] == ["carol"]
    assert (by_id["1"].approvals, by_id["1"].approvals_needed) == (1, 2)
    assert [r.label for r in by_id["5"].waiting_for] == ["bob", "carol"]
    assert by_id["5"].waiting_for[0].chat is not None and by_id["5"].waiting_for[0].chat.slack == "U0BOB0001"
    assert by_id["5"].created == datetime.fromtimestamp(opened(6), UTC)
    assert by_id["8"].repository == Repository("ledger", "us-east-2", ACCOUNT)


def test_approvals_are_not_read_for_pull_requests_already_left_out(
    standin: codecommit.CodeCommitStandIn,
) -> None:
    before = standin.calls["GetPullRequestApprovalStates"]
    read_queue(reader(standin), settings_for("payments"), now=NOW, min_age=timedelta(hours=24))
    # 1, 3, 5, 6 are open, not drafts and old enough; 2 (draft) and 4 (young) are not asked about
    assert standin.calls["GetPullRequestApprovalStates"] - before == 4


def test_a_repository_that_is_gone_is_left_out_and_said(standin: codecommit.CodeCommitStandIn) -> None:
    queue = read_queue(reader(standin), settings_for("gone", "ledger"), now=NOW, min_age=timedelta(0))
    assert [e.pull_request_id for e in queue.entries] == ["8"]
    assert queue.skipped == ("gone: the repository no longer exists",)


def test_no_call_starts_when_the_time_is_nearly_up(standin: codecommit.CodeCommitStandIn) -> None:
    before = sum(standin.calls.values())
    with pytest.raises(ReadDeadlineReached):
        read_queue(
            reader(standin, Deadline(lambda: 2_500.0, margin_seconds=0)),
            settings_for("payments"),
            now=NOW,
            min_age=timedelta(0),
        )
    assert sum(standin.calls.values()) == before


# --- the pure decisions -----------------------------------------------------------------------

REPOSITORY = Repository("payments", "us-east-2", ACCOUNT)


def details(
    title: str = "Add login", needed: int = 2, members: tuple[str, ...] = (BOB, CAROL)
) -> PullRequestDetails:
    snapshot = PullRequestSnapshot("12", title=title, author_arn=ALICE, status="OPEN", revision_id="r")
    rules = (ApprovalRule("rule", needed, members),) if needed else ()
    return PullRequestDetails(snapshot, rules)


@pytest.mark.parametrize(
    ("title", "age_hours", "expected"),
    [
        ("Add login", 30, True),
        ("Add login", 23, False),
        ("Draft: add login", 30, False),
        ("[draft] add login", 30, False),
        ("wip: add login", 30, False),
    ],
)
def test_worth_reading(title: str, age_hours: int, expected: bool) -> None:
    created = NOW - timedelta(hours=age_hours)
    assert worth_reading(details(title), created, NOW, timedelta(hours=24)) is expected


@pytest.mark.parametrize(
    ("approval", "waits_for"),
    [
        (ApprovalState((), approved=False), ["bob", "carol"]),
        (ApprovalState((BOB,), approved=False), ["carol"]),
        (ApprovalState((BOB, CAROL), approved=True), None),
        (ApprovalState((), approved=False, overridden=True), None),
        # the evaluation could not be read: counted against the strictest rule
        (ApprovalState((BOB,)), ["carol"]),
        (ApprovalState((BOB, CAROL)), None),
    ],
)
def test_queue_entry_is_for_pull_requests_short_of_approvals(
    approval: ApprovalState, waits_for: list[str] | None
) -> None:
    entry = queue_entry(OpenPullRequest(REPOSITORY, details(), NOW, approval), USER_MAP)
    assert (None if entry is None else [r.label for r in entry.waiting_for]) == waits_for


def test_a_pull_request_without_rules_waits_for_nobody() -> None:
    assert (
        queue_entry(OpenPullRequest(REPOSITORY, details(needed=0), NOW, ApprovalState(())), USER_MAP) is None
    )


def test_the_author_is_never_their_own_reviewer() -> None:
    entry = queue_entry(
        OpenPullRequest(REPOSITORY, details(members=(ALICE, BOB)), NOW, ApprovalState((), False)), USER_MAP
    )
    assert entry is not None and [r.label for r in entry.waiting_for] == ["bob"]


def test_same_age_is_ordered_by_repository_then_number() -> None:
    def entry(repository: str, number: str, days: int) -> Any:
        found = queue_entry(
            OpenPullRequest(
                Repository(repository, "us-east-2", ACCOUNT),
                PullRequestDetails(
                    PullRequestSnapshot(number, "t", author_arn=ALICE, status="OPEN"),
                    (ApprovalRule("r", 1, (BOB,)),),
                ),
                NOW - timedelta(days=days),
                ApprovalState((), False),
            ),
            USER_MAP,
        )
        assert found is not None
        return found

    ordered = oldest_first([entry("b", "10", 1), entry("b", "9", 1), entry("a", "11", 1), entry("z", "1", 2)])
    assert [(e.repository.name, e.pull_request_id) for e in ordered] == [
        ("z", "1"),
        ("a", "11"),
        ("b", "9"),
        ("b", "10"),
    ]


# --- the slash sub-commands -------------------------------------------------------------------


class StandInContext:
    """An action context whose clients reach the CodeCommit stand-in."""

    def __init__(self, stand_in: codecommit.CodeCommitStandIn, actor: Actor, settings: QueueSettings) -> None:
        self._stand_in = stand_in
        self._actor = actor
        self.review_queue = settings
        self.asked: list[tuple[str, str]] = []

    @property
    def actor(self) -> Actor:
        return self._actor

    def client(self, service: str, region: str) -> Any:
        self.asked.append((service, region))
        return codecommit_client(self._stand_in.url, max_attempts=1)


CAROL_ACTOR = Actor(person="carol", chat_user_id="U0CAROL01", session_name="carol")
ALICE_ACTOR = Actor(person="alice", chat_user_id="U0ALICE01", session_name="alice")


def test_prs_says_what_waits_on_you_and_on_others(standin: codecommit.CodeCommitStandIn) -> None:
    context = StandInContext(standin, ALICE_ACTOR, settings_for("payments", "ledger"))
    reply = run_queue_command(context, [], command="prs", now=NOW)
    mine, others = reply.text.split("*Waiting on others")
    assert reply.ok and not reply.public
    assert "*Waiting on you (2)*" in mine  # 4 (young, still shown by prs) and 8 wait for alice
    assert "#4 Bump deps" in mine and "#8 Ledger change" in mine and "#1 " not in mine
    assert mine.index("#8 ") < mine.index("#4 ")  # oldest first
    assert "#5 Old one" in others and "#1 Add login" in others
    assert "opened 6 days ago by alice" in others and "1 of 2 approvals" in others
    assert "<@" not in reply.text  # a private answer pings nobody
    assert context.asked == [("codecommit", "us-east-2")]  # read as the person


def test_prs_for_one_repository(standin: codecommit.CodeCommitStandIn) -> None:
    reply = run_queue_command(
        StandInContext(standin, CAROL_ACTOR, settings_for("payments", "ledger")),
        ["LEDGER"],
        command="prs",
        now=NOW,
    )
    assert "#8 Ledger change" in reply.text and "payments" not in reply.text


def test_an_unknown_repository_is_answered_in_words(standin: codecommit.CodeCommitStandIn) -> None:
    context = StandInContext(standin, CAROL_ACTOR, settings_for("payments", "ledger"))
    before = sum(standin.calls.values())
    reply = prs(context, ["<!channel>"])
    assert reply == Reply(
        "&lt;!channel&gt; is not a watched repository. Watched: payments, ledger.", ok=False
    )
    assert sum(standin.calls.values()) == before
    assert not remind(context, ["a", "b"]).ok


def test_remind_sends_the_digest_privately(standin: codecommit.CodeCommitStandIn) -> None:
    reply = run_queue_command(
        StandInContext(standin, CAROL_ACTOR, settings_for("payments", "ledger")),
        [],
        command="remind",
        now=NOW,
    )
    assert not reply.public and reply.ok
    assert reply.text.startswith("*3 pull requests wait for review*")
    assert reply.text.index("#5 ") < reply.text.index("#1 ") < reply.text.index("#8 ")
    assert "#4 " not in reply.text  # younger than min_age_hours


def test_a_failed_read_is_answered_in_words(standin: codecommit.CodeCommitStandIn) -> None:
    standin.inject(
        codecommit.Fault(operation="ListPullRequests", code="ThrottlingException", status=400, count=1)
    )
    reply = run_queue_command(
        StandInContext(standin, CAROL_ACTOR, settings_for("payments")), [], command="prs", now=NOW
    )
    assert not reply.ok and "try again" in reply.text


def test_waiting_on_splits_by_the_actors_chat_id(standin: codecommit.CodeCommitStandIn) -> None:
    queue = read_queue(reader(standin), settings_for("payments"), now=NOW, min_age=timedelta(0))
    mine, others = waiting_on(queue.entries, CAROL_ACTOR)
    assert [e.pull_request_id for e in mine] == ["5", "1", "4"]
    assert others == []


def test_settings_from_the_environment(tmp_path: Any) -> None:
    environ = {
        "WATCHED_REPOSITORIES": '["payments","ledger"]',
        "AWS_REGION": "cn-north-1",
        "USER_MAP": '{"carol": "U0CAROL01"}',
        "REVIEW_REMINDERS": '{"schedule": "cron(0 9 ? * * *)", "min_age_hours": 6}',
    }
    settings = QueueSettings.from_environ(environ)
    assert settings.repositories == ("payments", "ledger")
    assert (settings.region, settings.partition, settings.min_age_hours) == ("cn-north-1", "aws-cn", 6)
    assert len(settings.user_map) == 1
    with pytest.raises(ConfigurationError, match="AWS_REGION"):
        QueueSettings.from_environ({"WATCHED_REPOSITORIES": "payments"})


def test_a_context_without_settings_is_told_what_is_missing(
    standin: codecommit.CodeCommitStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Bare:
        actor = CAROL_ACTOR

        def client(self, service: str, region: str) -> Any:
            raise AssertionError("no read without settings")

    monkeypatch.setenv("USER_MAP", "not json")
    _environment_settings.cache_clear()
    try:
        reply = prs(Bare(), [])
    finally:
        _environment_settings.cache_clear()
    assert not reply.ok and reply.text.startswith(
        "The review queue is not set up: USER_MAP is not valid JSON"
    )


def test_every_repository_is_not_read_by_the_queue(standin: codecommit.CodeCommitStandIn) -> None:
    before = sum(standin.calls.values())
    queue = read_queue(reader(standin), settings_for("*"), now=NOW, min_age=timedelta(0))
    assert queue.entries == () and "every repository" in queue.skipped[0]
    assert sum(standin.calls.values()) == before
    reply = run_queue_command(
        StandInContext(standin, CAROL_ACTOR, settings_for("*")), [], command="prs", now=NOW
    )
    assert not reply.ok and "No repositories are watched by name" in reply.text
