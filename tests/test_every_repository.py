"""``repositories: "*"`` at scale: the asynchronous custom resource against the CodeCommit stand-in.

Each test drives ``cdk/trigger_manager/all_repositories.py`` as CDK's Provider framework does:
``on_event`` once, then ``is_complete`` until it answers complete, each poll with a fresh Lambda
context. The progress parameter is moto's SSM (in process); CodeCommit is the loopback stand-in
of tests/standins/codecommit.py, which pages ListRepositories (100 names a page).
"""

from __future__ import annotations

import logging
import math
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from cdk.all_repository_triggers import IS_COMPLETE_TIMEOUT
from cdk.trigger_manager import all_repositories, index
from cdk.trigger_manager.all_repositories import BATCH_SIZE, Progress, ProgressStore
from tests.conftest import codecommit_client
from tests.standins.codecommit import CodeCommitStandIn, Fault, running
from tests.test_trigger_manager import OTHERS, TOPIC, Context

OURS = "slack-notifier-every-s"
PROPERTIES = {
    "RepositoryName": "*",
    "TriggerName": OURS,
    "DestinationArn": TOPIC,
    "Branches": [],
    "Events": ["all"],
    "CustomData": "",
}
TRIGGER = {"name": OURS, "destinationArn": TOPIC, "customData": "", "branches": [], "events": ["all"]}
#: A Lambda context with the whole poll's timeout ahead (fixed: no wall clock in the decision).
FRESH = Context(300_000)


@pytest.fixture
def progress_store() -> Iterator[ProgressStore]:
    """The progress parameter as the stack creates it (``{}``), in moto's SSM."""
    with mock_aws():
        client = boto3.client("ssm", region_name="us-east-2")
        client.put_parameter(Name="/notifier/progress", Value="{}", Type="String")
        yield ProgressStore(client, "/notifier/progress")


@dataclass(frozen=True)
class Outcome:
    polls: int
    result: dict[str, Any]
    physical_id: str


def run_provider(
    request_type: str,
    client: Any,
    store: ProgressStore,
    *,
    properties: dict[str, Any] | None = None,
    physical_id: str | None = None,
    context: Callable[[int], Any] = lambda poll: FRESH,
    between_polls: Callable[[int], None] = lambda poll: None,
    max_polls: int = 100,
) -> Outcome:
    """What the Provider framework does with one CloudFormation request: on_event, then poll."""
    event: dict[str, Any] = {
        "RequestType": request_type,
        "RequestId": str(uuid.uuid4()),
        "StackId": "arn:aws:cloudformation:us-east-2:111122223333:stack/s/1",
        "LogicalResourceId": "EveryResource",
        "ResourceType": "Custom::CodeCommitEveryRepositoryTrigger",
        "ResponseURL": "...",
        "ResourceProperties": dict(properties or PROPERTIES),
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    event.update(all_repositories.on_event(event, FRESH))
    for poll in range(1, max_polls + 1):
        result = all_repositories.is_complete(event, context(poll), client=client, store=store)
        if result["IsComplete"]:
            return Outcome(poll, result, event["PhysicalResourceId"])
        assert "Data" not in result, "the framework refuses Data while not complete"
        between_polls(poll)
    raise AssertionError(f"not complete after {max_polls} polls")


def populate(stand_in: CodeCommitStandIn, names: list[str]) -> None:
    """Every third repository already has two other teams' triggers; the rest have none."""
    for number, name in enumerate(names):
        stand_in.triggers[name] = [dict(t) for t in OTHERS] if number % 3 == 0 else []


def theirs(stand_in: CodeCommitStandIn, name: str) -> list[dict[str, Any]]:
    return [t for t in stand_in.triggers[name] if t["name"] != OURS]


class VanishingClient:
    """The stand-in's client; ``vanish`` repositories are deleted just after the next listing."""

    def __init__(self, client: Any, stand_in: CodeCommitStandIn) -> None:
        self._client = client
        self._stand_in = stand_in
        self.vanish: list[str] = []

    def list_repositories(self, **kwargs: Any) -> Any:
        page = self._client.list_repositories(**kwargs)
        if "nextToken" not in page:  # the listing is complete: now they go
            for name in self.vanish:
                self._stand_in.repositories.pop(name, None)
            self.vanish = []
        return page

    def get_repository_triggers(self, **kwargs: Any) -> Any:
        return self._client.get_repository_triggers(**kwargs)

    def put_repository_triggers(self, **kwargs: Any) -> Any:
        return self._client.put_repository_triggers(**kwargs)


def test_a_thousand_repositories_are_done_by_repeated_polls(
    tmp_path: Path, progress_store: ProgressStore, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 17 item 6: 1,000 repositories, in batches of BATCH_SIZE, each with ours exactly once."""
    caplog.set_level(logging.INFO)
    names = [f"service-{number:04d}" for number in range(1000)]
    random.Random(17).shuffle(names)  # the listing is not in name order; the cursor must not care
    with running(dict.fromkeys(names, tmp_path)) as stand_in:
        populate(stand_in, names)
        client = VanishingClient(codecommit_client(stand_in.url), stand_in)
        started = time.monotonic()
        created = run_provider("Create", client, progress_store)
        create_seconds = time.monotonic() - started

        assert created.polls == math.ceil(1000 / BATCH_SIZE)
        assert created.physical_id == f"*/{OURS}"
        assert created.result["Data"] == {"Refused": "none"}
        for number, name in enumerate(names):
            assert theirs(stand_in, name) == (OTHERS if number % 3 == 0 else []), name
            assert [t for t in stand_in.triggers[name] if t["name"] == OURS] == [TRIGGER], name
        assert stand_in.calls["PutRepositoryTriggers"] == 1000  # each once: nothing doubled
        progress = [r.getMessage() for r in caplog.records if "repositories (" in r.getMessage()]
        assert progress == [
            f"Create: trigger {OURS} placed on {done:,} of 1,000 repositories "
            f"({done} written, 0 gone, 0 refused)"
            for done in range(BATCH_SIZE, 1001, BATCH_SIZE)
        ]

        # Run again (an Update that changed nothing, or a retried request): nothing is rewritten.
        again = run_provider("Update", client, progress_store, physical_id=created.physical_id)
        assert again.physical_id == created.physical_id
        assert stand_in.calls["PutRepositoryTriggers"] == 1000

        # Delete (a rollback, or the stack's deletion): three repositories vanish after the first
        # listing; every other one loses ours and keeps theirs.
        gone = sorted(names)[1:4]  # in the first poll's batch
        client.vanish = list(gone)
        caplog.clear()
        started = time.monotonic()
        deleted = run_provider("Delete", client, progress_store, physical_id=created.physical_id)
        delete_seconds = time.monotonic() - started
        assert deleted.polls == math.ceil(1000 / BATCH_SIZE)
        assert deleted.result["Data"] == {"Refused": "none"}
        for number, name in enumerate(names):
            assert stand_in.triggers[name] == (OTHERS if number % 3 == 0 else []) or name in gone, name
        for name in gone:
            assert f"repository {name} was deleted after it was listed; skipped" in caplog.text
        assert [r.getMessage() for r in caplog.records if "repositories (" in r.getMessage()] == [
            f"Delete: trigger {OURS} removed from {done:,} of {listed:,} repositories "
            f"({done - 3 if listed == 1000 else done} written, 3 gone, 0 refused)"
            for done, listed in [(200, 1000), (397, 997), (597, 997), (797, 997), (997, 997)]
        ]
    print(
        f"\n1,000 repositories: create {created.polls} polls in {create_seconds:.1f} s, "
        f"delete {deleted.polls} polls in {delete_seconds:.1f} s"
    )


def test_a_transient_failure_ends_the_poll_and_the_next_one_goes_on(
    tmp_path: Path, progress_store: ProgressStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    names = [f"repo-{number:03d}" for number in range(BATCH_SIZE + 50)]
    with running(dict.fromkeys(names, tmp_path)) as stand_in:
        populate(stand_in, names)
        stand_in.inject(Fault(operation="PutRepositoryTriggers", code="ThrottlingException", count=1))
        client = codecommit_client(stand_in.url, max_attempts=1)
        outcome = run_provider("Create", client, progress_store)
        assert outcome.polls == math.ceil(len(names) / BATCH_SIZE) + 1  # the throttled poll stopped at once
        assert "ThrottlingException; the next poll tries it again" in caplog.text
        for name in names:
            assert [t["name"] for t in stand_in.triggers[name]].count(OURS) == 1, name
        assert stand_in.calls["PutRepositoryTriggers"] == len(names) + 1  # the refused call, then each once


def test_a_repository_that_refuses_is_named_and_the_others_are_done(
    tmp_path: Path, progress_store: ProgressStore, caplog: pytest.LogCaptureFixture
) -> None:
    """A full repository (10 triggers) does not fail the request (the waiter could only say "timed
    out", an hour later); it is logged and named in Data.Refused, the stack's output."""
    caplog.set_level(logging.INFO)
    names = [f"repo-{number:02d}" for number in range(30)]
    full = [dict(OTHERS[0], name=f"team-{n}") for n in range(10)]
    with running(dict.fromkeys(names, tmp_path)) as stand_in:
        populate(stand_in, names)
        stand_in.triggers["repo-07"] = [dict(t) for t in full]
        client = codecommit_client(stand_in.url)
        created = run_provider("Create", client, progress_store)
        assert created.result["Data"] == {
            "Refused": "1: repo-07 (MaximumRepositoryTriggersExceededException)"
        }
        assert stand_in.triggers["repo-07"] == full
        assert all(OURS in [t["name"] for t in stand_in.triggers[n]] for n in names if n != "repo-07")
        assert "could not be put on 1 of 30 repositories: repo-07" in caplog.text

        # Delete always completes: one repository refusing the write is logged with what to do.
        stand_in.inject(Fault(operation="PutRepositoryTriggers", code="AccessDeniedException", count=1))
        deleted = run_provider("Delete", client, progress_store, physical_id=created.physical_id)
        assert deleted.result["Data"]["Refused"] == "1: repo-00 (AccessDeniedException)"
        assert "remove it by hand: aws codecommit get-repository-triggers --repository-name repo-00" in (
            caplog.text
        )
        assert all(OURS not in [t["name"] for t in stand_in.triggers[n]] for n in names if n != "repo-00")


def test_a_poll_with_too_little_time_left_writes_nothing_and_the_next_goes_on(
    tmp_path: Path, progress_store: ProgressStore
) -> None:
    names = ["alpha", "beta", "gamma"]
    short = Context(int((all_repositories.RESERVED_SECONDS - 1) * 1000))
    with running(dict.fromkeys(names, tmp_path)) as stand_in:
        populate(stand_in, names)
        outcome = run_provider(
            "Create",
            codecommit_client(stand_in.url),
            progress_store,
            context=lambda poll: short if poll == 1 else FRESH,
        )
        assert outcome.polls == 2
        assert stand_in.calls["GetRepositoryTriggers"] == 3  # none in the first poll
        assert all([t["name"] for t in stand_in.triggers[n]].count(OURS) == 1 for n in names)


def test_progress_belongs_to_one_request(progress_store: ProgressStore) -> None:
    """A new request (a Delete after a Create, a retried deployment) starts from the first repository."""
    earlier = Progress(request="earlier", after="zzz", changed=5, failed=("x (E)",), failed_count=1)
    progress_store.save(earlier)
    assert progress_store.load("earlier") == earlier
    assert progress_store.load("now") == Progress(request="now")
    assert Progress.for_request("not json", "now") == Progress(request="now")
    assert Progress.for_request("{}", "now") == Progress(request="now")


def test_only_the_first_refusals_are_named_and_all_are_counted() -> None:
    progress = Progress(request="r")
    for number in range(all_repositories.MAX_NAMED_FAILURES + 5):
        progress = progress.with_failure(f"repo-{number}", "E")
    assert len(progress.failed) == all_repositories.MAX_NAMED_FAILURES
    assert progress.failed_count == all_repositories.MAX_NAMED_FAILURES + 5
    assert all_repositories.refused_summary(progress).endswith(" and 5 more")
    assert len(progress.to_json()) < 4096  # what an SSM standard parameter holds


@pytest.mark.parametrize(
    ("request_type", "physical_id", "properties", "expected"),
    [
        ("Create", None, PROPERTIES, f"*/{OURS}"),
        ("Update", f"*/{OURS}", PROPERTIES, f"*/{OURS}"),
        (
            "Update",
            f"*/{OURS}",
            {**PROPERTIES, "TriggerName": "renamed"},
            "*/renamed",
        ),  # then CFN deletes the old
        ("Delete", "*/old-name", PROPERTIES, "*/old-name"),
    ],
)
def test_on_event_names_the_resource(
    request_type: str, physical_id: str | None, properties: dict[str, Any], expected: str
) -> None:
    event: dict[str, Any] = {"RequestType": request_type, "ResourceProperties": properties}
    if physical_id:
        event["PhysicalResourceId"] = physical_id
    assert all_repositories.on_event(event, FRESH) == {"PhysicalResourceId": expected}


def test_on_event_refuses_a_single_repository() -> None:
    with pytest.raises(ValueError, match=r'every repository \("\*"\)'):
        all_repositories.on_event(
            {"RequestType": "Create", "ResourceProperties": {**PROPERTIES, "RepositoryName": "one"}}, FRESH
        )


def test_a_poll_stops_starting_repositories_while_it_can_still_finish_one_and_save() -> None:
    """The worst case of one repository (two CodeCommit calls) and the progress write (one SSM call),
    each at the client's bound, fits in the time a poll keeps back, which fits in its timeout."""
    config = index._default_client().meta.config
    attempts = config.retries["total_max_attempts"]
    worst_call = attempts * (config.connect_timeout + config.read_timeout) + sum(
        min(20, 2**n) for n in range(attempts - 1)
    )
    assert 3 * worst_call < all_repositories.RESERVED_SECONDS
    assert IS_COMPLETE_TIMEOUT.to_seconds() / 2 > all_repositories.RESERVED_SECONDS
