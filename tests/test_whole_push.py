"""Whole pushes end to end: ``lambda_handler`` with the state table in moto, CodeCommit at the
stand-in (serving a real git repository that the test keeps pushing to), Slack at a loopback
stand-in. Each scenario is a sequence of pushes, each delivered as CodeCommit's SNS event.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

import handler.app
from handler.app import lambda_handler, process_event
from handler.deadline import Deadline
from handler.deliver.webhook_url import DestinationSecrets
from handler.demo import ScriptedGitRepo, trigger_event
from handler.enrich.gitreader import LocalGitReader
from handler.errors import DeliveryExhausted
from handler.runtime import Runtime
from handler.settings import Settings
from handler.sources.trigger import parse_repository_arn
from handler.state import StateError
from handler.state.heads import RefHeads
from handler.state.ledger import DeliveryInProgress, DeliveryLedger
from handler.state.sqlite import SQLiteStore
from tests.standins import codecommit
from tests.standins.slack import Reply, SlackStandIn, running

REPOSITORY = "whole-push-repo"
ARN = f"arn:aws:codecommit:us-east-2:111122223333:{REPOSITORY}"
PUSHER = "arn:aws:iam::111122223333:user/alice"
TABLE = "notifier-state"
_message_ids = itertools.count(1)


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class Pusher:
    """A git repository behind the CodeCommit stand-in, and a way to turn its pushes into events."""

    repo: ScriptedGitRepo

    def commit(self, message: str) -> str:
        self.repo.write("file.txt", message + "\n")
        return self.repo.commit(message)

    def commits(self, count: int, prefix: str) -> str:
        head = ""
        for index in range(count):
            head = self.commit(f"{prefix} {index + 1}")
        return head

    def head(self, branch: str = "main") -> str:
        return self.repo.git("rev-parse", f"refs/heads/{branch}")

    @staticmethod
    def event(*references: dict[str, Any], message_id: str | None = None) -> dict[str, Any]:
        """A push of its own: its own SNS message and its own time (a copy of one push keeps both)."""
        number = next(_message_ids)
        event_time = (
            f"2026-11-20T{number // 3600 % 24:02d}:{number // 60 % 60:02d}:{number % 60:02d}.000+0000"
        )
        event = trigger_event(list(references), pusher_arn=PUSHER, repository_arn=ARN, event_time=event_time)
        event["Records"][0]["Sns"]["MessageId"] = message_id or f"message-{number}"
        return event


def ref(commit: str, branch: str = "main", **flags: bool) -> dict[str, Any]:
    return {"commit": commit, "ref": f"refs/heads/{branch}", **flags}


@pytest.fixture
def pusher(tmp_path: Path) -> Pusher:
    path = tmp_path / REPOSITORY
    path.mkdir()
    repo = ScriptedGitRepo(path)
    repo.git("init", "-q", "-b", "main")
    pusher = Pusher(repo)
    pusher.commit("initial commit")
    return pusher


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, pusher: Pusher) -> Iterator[SimpleNamespace]:
    """A fresh container with the state table, as the stack deploys it, in moto."""
    monkeypatch.setattr(handler.app, "_lambda_runtime", None)
    with codecommit.running({REPOSITORY: pusher.repo.path}) as stand_in, running() as slack, mock_aws():
        monkeypatch.setenv("AWS_ENDPOINT_URL_CODECOMMIT", stand_in.url)
        monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.url)
        monkeypatch.setenv("STATE_TABLE_NAME", TABLE)
        monkeypatch.setenv("AWS_REGION", "us-east-2")
        boto3.client("dynamodb", region_name="us-east-2").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield SimpleNamespace(codecommit=stand_in, slack=slack, monkeypatch=monkeypatch)


def deliver(env: SimpleNamespace, event: dict[str, Any]) -> dict[str, int]:
    return lambda_handler(event, Context())


def last_text(slack: SlackStandIn) -> str:
    payload = slack.delivered[-1]
    return "\n".join(
        [payload["text"]]
        + [
            str(attachment.get(key, ""))
            for attachment in payload["attachments"]
            for key in ("pretext", "text")
        ]
    )


def test_a_branch_seen_first_shows_its_tip_then_the_next_push_lists_every_commit(
    env: SimpleNamespace, pusher: Pusher
) -> None:
    first = pusher.head()
    assert deliver(env, pusher.event(ref(first))) == {"delivered": 1}
    assert "initial commit" in last_text(env.slack)
    new_head = pusher.commits(3, "linear")
    assert deliver(env, pusher.event(ref(new_head))) == {"delivered": 1}
    text = last_text(env.slack)
    for index in (1, 2, 3):
        assert f"linear {index}" in text
    assert text.index("linear 3") < text.index("linear 1")  # newest first
    assert "initial commit" not in text
    assert f"compare/{first}/.../{new_head}" in str(env.slack.delivered[-1])


def test_a_push_of_sixty_commits_is_bounded_in_message_and_calls(
    env: SimpleNamespace, pusher: Pusher
) -> None:
    deliver(env, pusher.event(ref(pusher.head())))
    env.monkeypatch.setattr(handler.app, "_lambda_runtime", None)
    env.monkeypatch.setenv("MAX_COMMITS_READ", "40")
    new_head = pusher.commits(60, "bulk")
    env.codecommit.calls.clear()
    deliver(env, pusher.event(ref(new_head)))
    text = last_text(env.slack)
    assert "bulk 60" in text and "bulk 51" in text and "bulk 50" not in text  # 10 listed
    assert "more commits" in text
    calls = dict(env.codecommit.calls)
    assert calls["GetCommit"] <= 40 and calls["GetMergeOptions"] == 1


def test_a_force_push_is_flagged_with_what_it_dropped(env: SimpleNamespace, pusher: Pusher) -> None:
    base = pusher.head()
    old_head = pusher.commits(2, "doomed")
    deliver(env, pusher.event(ref(old_head)))
    pusher.repo.git("reset", "-q", "--hard", base)
    new_head = pusher.commit("rewritten")
    deliver(env, pusher.event(ref(new_head)))
    text = last_text(env.slack).lower()
    assert "force" in text and "rewritten" in text and "2 commits dropped" in text
    new, dropped = text.split("*dropped* (no longer on the branch):")
    assert "doomed" not in new and "rewritten" not in dropped
    assert dropped.index("doomed 2") < dropped.index("doomed 1")  # listed, newest first


def test_two_pushes_arriving_in_reverse_order_post_no_bogus_flag_and_no_duplicate(
    env: SimpleNamespace, pusher: Pusher
) -> None:
    deliver(env, pusher.event(ref(pusher.head())))
    first_push = pusher.commits(2, "first")
    second_push = pusher.commits(2, "second")
    assert deliver(env, pusher.event(ref(second_push))) == {"delivered": 1}
    text = last_text(env.slack)
    assert all(f"{name} {index}" in text for name in ("first", "second") for index in (1, 2))
    assert "force" not in text.lower()
    posts = len(env.slack.delivered)
    assert deliver(env, pusher.event(ref(first_push))) == {"delivered": 0, "late": 1}
    assert len(env.slack.delivered) == posts


def test_a_redelivered_message_posts_nothing(env: SimpleNamespace, pusher: Pusher) -> None:
    event = pusher.event(ref(pusher.head()), message_id="same-message")
    assert deliver(env, event) == {"delivered": 1}
    assert deliver(env, event) == {"delivered": 0, "duplicate": 1}
    assert len(env.slack.delivered) == 1


def test_a_failed_invocation_marks_nothing_and_the_retry_delivers_once(
    env: SimpleNamespace, pusher: Pusher
) -> None:
    deliver(env, pusher.event(ref(pusher.head())))
    new_head = pusher.commits(2, "retried")
    event = pusher.event(ref(new_head))
    env.monkeypatch.setenv("DELIVERY_MAX_ATTEMPTS", "1")
    env.monkeypatch.setattr(handler.app, "_lambda_runtime", None)
    env.slack.script = [Reply(500, "oops")]
    with pytest.raises(DeliveryExhausted):
        deliver(env, event)
    assert deliver(env, event) == {"delivered": 1}
    text = last_text(env.slack)
    assert "retried 1" in text and "retried 2" in text  # counted from the head before the failure
    assert deliver(env, event) == {"delivered": 0, "duplicate": 1}
    assert len(env.slack.delivered) == 2


def test_one_failing_record_does_not_repost_its_delivered_neighbour(
    env: SimpleNamespace, pusher: Pusher
) -> None:
    event = pusher.event(ref(pusher.head()))
    record = event["Records"][0]["Sns"]["Message"]
    import json

    message = json.loads(record)
    second = json.loads(record)["Records"][0]
    second["codecommit"]["references"] = [
        {"commit": pusher.head(), "ref": "refs/heads/other", "created": True}
    ]
    message["Records"].append(second)
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    env.monkeypatch.setenv("DELIVERY_MAX_ATTEMPTS", "1")
    env.slack.script = [Reply(200, "ok"), Reply(500, "oops")]
    with pytest.raises(DeliveryExhausted):
        deliver(env, event)
    assert len(env.slack.delivered) == 1
    assert deliver(env, event) == {"delivered": 1, "duplicate": 1}
    assert len(env.slack.delivered) == 2
    assert "other" in env.slack.delivered[1]["text"]


def test_tags_and_deletions_update_and_clear_the_record(env: SimpleNamespace, pusher: Pusher) -> None:
    head = pusher.head()
    deliver(env, pusher.event(ref(head)))
    runtime = handler.app._lambda_runtime
    assert runtime is not None and runtime.state is not None
    heads = RefHeads(runtime.state)
    repository = parse_repository_arn(ARN)
    assert (record := heads.read(repository, "refs/heads/main")) is not None and record.commit_id == head
    deliver(env, pusher.event({"commit": head, "ref": "refs/tags/v1", "created": True}))
    assert (tag := heads.read(repository, "refs/tags/v1")) is not None and tag.commit_id == head
    deliver(env, pusher.event(ref(head, deleted=True)))
    assert heads.read(repository, "refs/heads/main") is None
    # a branch re-created after its deletion is new again: no commit list from the old head
    deliver(env, pusher.event(ref(head, created=True)))
    assert heads.read(repository, "refs/heads/main") is not None


def _local_runtime(store: SQLiteStore, repo_path: Path, slack: SlackStandIn) -> Runtime:
    return Runtime(
        settings=Settings(),
        reader_for=lambda repository: LocalGitReader(repo_path),
        secrets=DestinationSecrets(url=slack.url, secret_arn=None, secrets_client=lambda region: None),
        state=store,
    )


def test_concurrent_invocations_of_one_message_post_once(pusher: Pusher, tmp_path: Path) -> None:
    event = pusher.event(ref(pusher.head()), message_id="raced")
    with running(default=Reply(200, "ok", delay=0.2)) as slack:
        runtime = _local_runtime(SQLiteStore(tmp_path / "state.sqlite3"), pusher.repo.path, slack)
        barrier = threading.Barrier(4)
        outcomes: list[str] = []

        def invoke() -> None:
            barrier.wait()
            try:
                result = process_event(event, runtime, Deadline(None))
                outcomes.append("duplicate" if result.get("duplicate") else "delivered")
            except DeliveryInProgress:
                outcomes.append("in progress")

        threads = [threading.Thread(target=invoke) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # whoever lost the race either saw the claim (and will be retried by Lambda) or the mark
        assert len(slack.delivered) == 1
        assert outcomes.count("delivered") == 1
        assert process_event(event, runtime, Deadline(None)) == {"delivered": 0, "duplicate": 1}
        assert len(slack.delivered) == 1


# --- found in review: nothing lost, nothing doubled, even when state writes fail ------------------


@pytest.fixture
def local(pusher: Pusher, tmp_path: Path) -> Iterator[SimpleNamespace]:
    """The pipeline with local git and an SQLite store; Slack at a stand-in that can be scripted."""
    with running() as slack:
        runtime = _local_runtime(SQLiteStore(tmp_path / "state.sqlite3"), pusher.repo.path, slack)
        runtime.settings = Settings(delivery_max_attempts=1)
        yield SimpleNamespace(runtime=runtime, slack=slack)


def post(local: SimpleNamespace, event: dict[str, Any]) -> dict[str, int]:
    return process_event(event, local.runtime, Deadline(None))


def test_commits_of_a_failed_push_are_not_lost_when_a_later_push_counts_past_them(
    local: SimpleNamespace, pusher: Pusher, monkeypatch: pytest.MonkeyPatch
) -> None:
    post(local, pusher.event(ref(pusher.head())))
    first = pusher.commit("first change")
    failed = pusher.event(ref(first))
    local.slack.script = [Reply(500, "oops")]
    monkeypatch.setattr(RefHeads, "restore", _raise_state_error)  # the head can't be put back either
    with pytest.raises(DeliveryExhausted):
        post(local, failed)
    monkeypatch.undo()
    second = pusher.commit("second change")
    assert post(local, pusher.event(ref(second))) == {"delivered": 1}
    last = json.dumps(local.slack.delivered[-1])
    assert "second change" in last and "first change" not in last  # counted from the recorded head
    assert post(local, failed) == {"delivered": 1}  # the failed push's retry collects what it owes
    retried = json.dumps(local.slack.delivered[-1])
    assert "first change" in retried and "second change" not in retried
    third = pusher.commit("third change")
    post(local, pusher.event(ref(third)))  # the head stayed at the second push's: nothing listed again
    assert _listings(local.slack.delivered) == {"first change": 1, "second change": 1, "third change": 1}


def test_a_push_posted_but_not_marked_is_not_raised_so_it_is_not_posted_again(
    local: SimpleNamespace, pusher: Pusher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(DeliveryLedger, "complete", _raise_state_error)
    assert post(local, pusher.event(ref(pusher.head()))) == {"delivered": 1}
    assert len(local.slack.delivered) == 1


def test_a_branch_creation_arriving_after_a_later_push_posts_nothing_and_keeps_the_head(
    local: SimpleNamespace, pusher: Pusher
) -> None:
    pusher.repo.git("checkout", "-q", "-b", "feat")
    created_at = pusher.commit("feat one")
    created = pusher.event(ref(created_at, "feat", created=True))
    then = pusher.commit("feat two")
    assert post(local, pusher.event(ref(then, "feat"))) == {"delivered": 1}
    assert post(local, created) == {"delivered": 0, "late": 1}
    later = pusher.commit("feat three")
    post(local, pusher.event(ref(later, "feat")))
    last = json.dumps(local.slack.delivered[-1])
    assert "feat three" in last and "feat two" not in last  # the head did not move back


def test_a_deletion_arriving_after_the_branch_was_created_again_posts_nothing(
    local: SimpleNamespace, pusher: Pusher
) -> None:
    pusher.repo.git("checkout", "-q", "-b", "feat")
    old = pusher.commit("old feat")
    deleted = pusher.event(ref(old, "feat", deleted=True))
    pusher.repo.git("checkout", "-q", "main")
    pusher.repo.git("branch", "-D", "feat")
    pusher.repo.git("checkout", "-q", "-b", "feat")
    again = pusher.commit("new feat")
    post(local, pusher.event(ref(again, "feat", created=True)))
    posts = len(local.slack.delivered)
    assert post(local, deleted) == {"delivered": 0, "late": 1}
    assert len(local.slack.delivered) == posts


def _raise_state_error(*args: Any, **kwargs: Any) -> Any:
    raise StateError("the state table is throttled (injected)")


# --- issue: a late push must never move a head back or list commits twice ------------------------


def _listings(delivered: list[dict[str, Any]]) -> dict[str, int]:
    """How many messages list each "… change" commit subject."""
    counts: dict[str, int] = {}
    for payload in delivered:
        text = json.dumps(payload)
        for subject in ("first change", "second change", "third change"):
            if subject in text:
                counts[subject] = counts.get(subject, 0) + 1
    return counts


def _held_post(
    local: SimpleNamespace, event: dict[str, Any], status: int = 200
) -> tuple[threading.Thread, threading.Event, list[Any]]:
    """Start ``event`` in another invocation whose post is held at Slack until the event is set,
    then answered ``status``; ``results`` gets the outcome, or the error it raised."""
    arrived, release = threading.Event(), threading.Event()
    local.slack.script = [Reply(status, "ok" if status == 200 else "oops", arrived=arrived, release=release)]
    results: list[Any] = []

    def invoke() -> None:
        try:
            results.append(post(local, event))
        except Exception as error:  # the test asserts on it
            results.append(error)

    thread = threading.Thread(target=invoke)
    thread.start()
    assert arrived.wait(timeout=60), "the held invocation never reached Slack"
    return thread, release, results


def test_a_late_push_while_the_newer_one_is_held_in_its_post_posts_nothing_and_keeps_the_head(
    local: SimpleNamespace, pusher: Pusher
) -> None:
    post(local, pusher.event(ref(pusher.head())))
    first = pusher.commit("first change")
    second = pusher.commit("second change")
    newer, release, results = _held_post(local, pusher.event(ref(second)))
    try:
        assert post(local, pusher.event(ref(first))) == {"delivered": 0, "late": 1}
    finally:
        release.set()
        newer.join(timeout=120)
    assert results == [{"delivered": 1}]
    post(local, pusher.event(ref(pusher.commit("third change"))))
    assert _listings(local.slack.delivered) == {"first change": 1, "second change": 1, "third change": 1}


def test_a_newer_push_while_the_older_one_is_held_counts_from_it_and_owes_nothing_when_it_posts(
    local: SimpleNamespace, pusher: Pusher
) -> None:
    post(local, pusher.event(ref(pusher.head())))
    first = pusher.commit("first change")
    second = pusher.commit("second change")
    older, release, results = _held_post(local, pusher.event(ref(first)))
    try:
        assert post(local, pusher.event(ref(second))) == {"delivered": 1}
    finally:
        release.set()
        older.join(timeout=120)
    assert results == [{"delivered": 1}]
    post(local, pusher.event(ref(pusher.commit("third change"))))
    assert _listings(local.slack.delivered) == {"first change": 1, "second change": 1, "third change": 1}


def test_a_newer_push_while_the_older_one_fails_in_its_post_leaves_the_older_its_commits(
    local: SimpleNamespace, pusher: Pusher
) -> None:
    post(local, pusher.event(ref(pusher.head())))
    first = pusher.commit("first change")
    second = pusher.commit("second change")
    failing = pusher.event(ref(first))
    older, release, results = _held_post(local, failing, status=500)
    try:
        assert post(local, pusher.event(ref(second))) == {"delivered": 1}
    finally:
        release.set()
        older.join(timeout=120)
    assert [type(result).__name__ for result in results] == ["DeliveryExhausted"]
    assert post(local, failing) == {"delivered": 1}  # Lambda's retry: the range it owes, nothing more
    post(local, pusher.event(ref(pusher.commit("third change"))))
    assert _listings(local.slack.delivered) == {"first change": 1, "second change": 1, "third change": 1}


def test_a_push_whose_confirm_write_failed_is_not_listed_again_by_the_next(
    local: SimpleNamespace, pusher: Pusher, monkeypatch: pytest.MonkeyPatch
) -> None:
    post(local, pusher.event(ref(pusher.head())))
    monkeypatch.setattr(RefHeads, "confirm", _raise_state_error)
    assert post(local, pusher.event(ref(pusher.commit("first change")))) == {"delivered": 1}
    monkeypatch.undo()
    post(local, pusher.event(ref(pusher.commit("second change"))))
    post(local, pusher.event(ref(pusher.commit("third change"))))
    assert _listings(local.slack.delivered) == {"first change": 1, "second change": 1, "third change": 1}


# --- issue: one push published by two triggers posts once ----------------------------------------


@pytest.mark.parametrize("order", ["listed trigger first", "watch-all trigger first"])
def test_one_push_published_by_two_triggers_posts_once(
    local: SimpleNamespace, pusher: Pusher, order: str
) -> None:
    """While ``repositories`` switches between a list and ``"*"``, a repository carries both triggers:
    CodeCommit publishes each push once per trigger, under different SNS message ids and trigger names."""
    post(local, pusher.event(ref(pusher.head())))
    tip = pusher.commit("first change")
    listed = pusher.event(ref(tip), message_id="from-the-listed-trigger")
    watch_all = copy.deepcopy(listed)
    watch_all["Records"][0]["Sns"]["MessageId"] = "from-the-watch-all-trigger"
    message = json.loads(watch_all["Records"][0]["Sns"]["Message"])
    message["Records"][0]["eventTriggerName"] = "all-repositories"
    message["Records"][0]["eventId"] = "another-event-id"
    watch_all["Records"][0]["Sns"]["Message"] = json.dumps(message)
    copies = [listed, watch_all] if order == "listed trigger first" else [watch_all, listed]
    assert post(local, copies[0]) == {"delivered": 1}
    assert post(local, copies[1]) == {"delivered": 0, "duplicate": 1}
    assert len(local.slack.delivered) == 2


def test_a_branch_deletion_published_by_two_triggers_posts_once(
    local: SimpleNamespace, pusher: Pusher
) -> None:
    deleted = pusher.event(ref(pusher.head(), "gone", deleted=True), message_id="delete-one")
    second_copy = copy.deepcopy(deleted)
    second_copy["Records"][0]["Sns"]["MessageId"] = "delete-two"
    assert post(local, deleted) == {"delivered": 1}
    assert post(local, second_copy) == {"delivered": 0, "duplicate": 1}
    assert len(local.slack.delivered) == 1
