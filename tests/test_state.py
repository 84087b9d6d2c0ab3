"""The state store contract, held by every backend: memory, SQLite, and DynamoDB (moto).

Each test below takes ``store`` and runs three times, once per backend, with the same clock the
test moves by hand. The DynamoDB backend runs under moto against a table created the way the
stack creates it (partition key ``pk``, on-demand, TTL on ``expires_at``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from moto import mock_aws

from handler.model import Repository
from handler.state import MAX_KEY_BYTES, StateError, StateItem, StateStore
from handler.state.dynamodb import DynamoDBStore
from handler.state.heads import HEAD_TTL_SECONDS, CountPlan, Owed, RefHeads, head_key
from handler.state.ledger import (
    DELIVERED_KEEP_SECONDS,
    PREFIX,
    DeliveryInProgress,
    DeliveryLedger,
    delivery,
)
from handler.state.memory import MemoryStore
from handler.state.sqlite import SQLiteStore

TABLE = "notifier-state"
REGION = "us-east-2"
START = 1_800_000_000.0
REPOSITORY = Repository(name="payments", region=REGION, account="123456789012")
MAIN = "refs/heads/main"


class Clock:
    """Epoch seconds that only move when a test says so."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def create_state_table(client: Any) -> None:
    """The table as cdk/state_table.py declares it."""
    client.create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True},
    )
    client.update_time_to_live(
        TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
    client.update_continuous_backups(
        TableName=TABLE, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def dynamodb_client() -> Iterator[Any]:
    with mock_aws():
        client = botocore.session.get_session().create_client("dynamodb", region_name=REGION)
        create_state_table(client)
        yield client


@pytest.fixture(params=["memory", "sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, clock: Clock, tmp_path: Path) -> StateStore:
    if request.param == "memory":
        return MemoryStore(clock=clock)
    if request.param == "sqlite":
        return SQLiteStore(tmp_path / "state.sqlite3", clock=clock)
    return DynamoDBStore(request.getfixturevalue("dynamodb_client"), TABLE, clock=clock)


# The store itself


def test_an_absent_key_reads_as_none(store: StateStore) -> None:
    assert store.get("head#nothing") is None


def test_put_new_creates_once_and_get_returns_what_was_written(store: StateStore) -> None:
    created = store.put_new("k", {"commit_id": "abc", "count": 3}, expires_at=None)
    assert created is not None
    assert store.get("k") == created
    assert created.attributes == {"commit_id": "abc", "count": 3}
    assert store.put_new("k", {"commit_id": "other"}, expires_at=None) is None
    assert store.get("k") == created


def test_attributes_are_strings_and_integers_only(store: StateStore) -> None:
    with pytest.raises(TypeError, match="'flag'"):
        store.put_new("k", {"flag": True}, expires_at=None)
    assert store.get("k") is None


def test_an_expired_item_is_absent_and_its_key_can_be_taken(store: StateStore, clock: Clock) -> None:
    old = store.put_new("k", {"n": 1}, expires_at=int(START) + 10)
    assert old is not None
    clock.advance(9)
    assert store.get("k") == old
    clock.advance(1)  # at expires_at the item is gone
    assert store.get("k") is None
    assert store.replace(old, {"n": 2}, expires_at=None) is None
    new = store.put_new("k", {"n": 3}, expires_at=None)
    assert new is not None
    assert store.get("k") == new


def test_replace_is_compare_and_set(store: StateStore) -> None:
    first = store.put_new("k", {"n": 1}, expires_at=None)
    assert first is not None
    second = store.replace(first, {"n": 2}, expires_at=int(START) + 60)
    assert second is not None
    assert second.version == first.version + 1
    assert store.get("k") == second
    assert store.replace(first, {"n": 3}, expires_at=None) is None  # stale: someone replaced it
    assert store.get("k") == second
    assert store.replace(StateItem("missing", {}, 1), {"n": 1}, expires_at=None) is None
    assert store.get("missing") is None


def test_delete_is_compare_and_set_and_a_missing_item_counts_as_deleted(store: StateStore) -> None:
    first = store.put_new("k", {"n": 1}, expires_at=None)
    assert first is not None
    second = store.replace(first, {"n": 2}, expires_at=None)
    assert second is not None
    assert store.delete(first) is False
    assert store.get("k") == second
    assert store.delete(second) is True
    assert store.get("k") is None
    assert store.delete(second) is True


def test_a_recreated_key_never_matches_a_stale_copy(store: StateStore, clock: Clock) -> None:
    """Versions start at random, so the owner of an expired item cannot touch its successor."""
    stale = store.put_new("k", {"owner": "a"}, expires_at=int(START) + 5)
    assert stale is not None
    clock.advance(5)
    successor = store.put_new("k", {"owner": "b"}, expires_at=None)
    assert successor is not None
    assert successor.version != stale.version
    assert store.delete(stale) is False
    assert store.replace(stale, {"owner": "a"}, expires_at=None) is None
    assert store.get("k") == successor


def test_concurrent_put_new_has_exactly_one_winner(store: StateStore) -> None:
    """Our two stores' own atomicity. DynamoDB's conditional put is the service's guarantee, and
    moto's in-process stand-in does not keep it across threads (two winners seen under load), so
    that case would test moto, not us: the DynamoDB store is held to one winner sequentially in
    test_put_new_creates_once_and_get_returns_what_was_written."""
    if isinstance(store, DynamoDBStore):
        pytest.skip("moto's in-process DynamoDB is not atomic across threads; the service is")
    contenders = 8
    barrier = threading.Barrier(contenders)
    results: list[StateItem | None] = []
    lock = threading.Lock()

    def contend(index: int) -> None:
        barrier.wait()
        result = store.put_new("contested", {"winner": index}, expires_at=None)
        with lock:
            results.append(result)

    threads = [threading.Thread(target=contend, args=(index,)) for index in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [result for result in results if result is not None]
    assert len(results) == contenders
    assert len(winners) == 1
    assert store.get("contested") == winners[0]


# Delivery marks


def test_a_claimed_and_completed_delivery_is_not_delivered_again(store: StateStore, clock: Clock) -> None:
    ledger = DeliveryLedger(store, clock=clock)
    claim = ledger.claim("msg-1#refs/heads/main", hold_seconds=60)
    assert claim is not None
    assert store.get(PREFIX + "msg-1#refs/heads/main") is not None
    assert ledger.complete(claim) is True
    mark = store.get(PREFIX + "msg-1#refs/heads/main")
    assert mark is not None
    assert mark.attributes["state"] == "DELIVERED"
    assert mark.expires_at == int(START) + DELIVERED_KEEP_SECONDS
    clock.advance(120)  # long past the claim's hold: the DELIVERED mark is what answers
    assert ledger.claim("msg-1#refs/heads/main", hold_seconds=60) is None
    clock.advance(DELIVERED_KEEP_SECONDS)
    assert ledger.claim("msg-1#refs/heads/main", hold_seconds=60) is not None


def test_a_live_claim_by_another_invocation_is_transient(store: StateStore, clock: Clock) -> None:
    ledger = DeliveryLedger(store, clock=clock)
    assert ledger.claim("msg-2", hold_seconds=60) is not None
    clock.advance(59)
    with pytest.raises(DeliveryInProgress, match="msg-2") as raised:
        ledger.claim("msg-2", hold_seconds=60)
    assert raised.value.expires_at == int(START) + 60


def test_an_expired_claim_is_taken_over_and_its_owner_cannot_complete_it(
    store: StateStore, clock: Clock
) -> None:
    ledger = DeliveryLedger(store, clock=clock)
    abandoned = ledger.claim("msg-3", hold_seconds=30)
    assert abandoned is not None
    clock.advance(30)
    takeover = ledger.claim("msg-3", hold_seconds=30)
    assert takeover is not None
    assert ledger.complete(abandoned) is False  # the key is someone else's now
    ledger.release(abandoned)  # and releasing a lost claim leaves the new one alone
    assert store.get(PREFIX + "msg-3") == takeover.item
    assert ledger.complete(takeover) is True


def test_an_expired_claim_nobody_took_over_can_still_be_completed(store: StateStore, clock: Clock) -> None:
    ledger = DeliveryLedger(store, clock=clock)
    claim = ledger.claim("msg-4", hold_seconds=30)
    assert claim is not None
    clock.advance(45)
    assert ledger.complete(claim) is True
    assert ledger.claim("msg-4", hold_seconds=30) is None


def test_a_released_claim_lets_the_retry_deliver(store: StateStore) -> None:
    ledger = DeliveryLedger(store)
    claim = ledger.claim("msg-5", hold_seconds=60)
    assert claim is not None
    ledger.release(claim)
    assert store.get(PREFIX + "msg-5") is None
    assert ledger.claim("msg-5", hold_seconds=60) is not None


# Last-seen heads


def test_heads_are_keyed_by_account_region_repository_and_full_ref() -> None:
    assert head_key(REPOSITORY, MAIN) == "head#123456789012:us-east-2:payments#refs/heads/main"


def test_a_ref_name_of_any_length_gets_a_distinct_key_every_backend_takes(store: StateStore) -> None:
    heads = RefHeads(store)
    long_refs = [f"refs/heads/{'é' * 5000}{suffix}" for suffix in ("a", "b")]
    keys = [head_key(REPOSITORY, ref) for ref in long_refs]
    assert keys[0] != keys[1]
    assert all(len(key.encode()) <= MAX_KEY_BYTES and key.startswith("head#123456789012:") for key in keys)
    for index, ref in enumerate(long_refs):
        heads.swap(REPOSITORY, ref, current=None, commit_id=f"c{index}", previous_id=None, set_by="p")
    assert [record.commit_id for ref in long_refs if (record := heads.read(REPOSITORY, ref))] == ["c0", "c1"]
    ledger = DeliveryLedger(store)
    assert ledger.claim("x" * 5000, hold_seconds=60) is not None


def test_a_head_is_created_moved_and_read_back(store: StateStore, clock: Clock) -> None:
    heads = RefHeads(store, clock=clock)
    assert heads.read(REPOSITORY, MAIN) is None
    first = heads.swap(REPOSITORY, MAIN, current=None, commit_id="c1", previous_id=None, set_by="push-1")
    assert first is not None
    assert (first.commit_id, first.previous_id, first.set_by) == ("c1", None, "push-1")
    assert first.item.expires_at == int(START) + HEAD_TTL_SECONDS
    second = heads.swap(REPOSITORY, MAIN, current=first, commit_id="c2", previous_id="c1", set_by="push-2")
    assert second is not None
    assert heads.read(REPOSITORY, MAIN) == second
    assert heads.read(REPOSITORY, "refs/heads/other") is None


def test_a_head_swap_loses_to_a_concurrent_one(store: StateStore) -> None:
    heads = RefHeads(store)
    assert heads.swap(REPOSITORY, MAIN, current=None, commit_id="c1", previous_id=None, set_by="a")
    assert heads.swap(REPOSITORY, MAIN, current=None, commit_id="c9", previous_id=None, set_by="b") is None
    seen = heads.read(REPOSITORY, MAIN)
    assert seen is not None
    assert heads.swap(REPOSITORY, MAIN, current=seen, commit_id="c2", previous_id="c1", set_by="a")
    assert heads.swap(REPOSITORY, MAIN, current=seen, commit_id="c3", previous_id="c1", set_by="b") is None
    now = heads.read(REPOSITORY, MAIN)
    assert now is not None
    assert (now.commit_id, now.set_by) == ("c2", "a")


def test_a_failed_delivery_restores_the_head_it_moved(store: StateStore) -> None:
    heads = RefHeads(store)
    before = heads.swap(REPOSITORY, MAIN, current=None, commit_id="c1", previous_id=None, set_by="push-1")
    assert before is not None
    after = heads.swap(REPOSITORY, MAIN, current=before, commit_id="c2", previous_id="c1", set_by="push-2")
    assert after is not None
    assert heads.restore(after, before) is True
    restored = heads.read(REPOSITORY, MAIN)
    assert restored is not None
    assert (restored.commit_id, restored.previous_id, restored.set_by) == ("c1", None, "push-1")


def test_a_later_push_counts_from_the_recorded_head_and_carries_what_an_unconfirmed_one_owes(
    store: StateStore, clock: Clock
) -> None:
    heads = RefHeads(store, clock=clock)
    first = heads.swap(REPOSITORY, MAIN, current=None, commit_id="c1", previous_id=None, set_by="push-1")
    assert first is not None and heads.confirm(first)
    second = heads.swap(
        REPOSITORY,
        MAIN,
        current=heads.read(REPOSITORY, MAIN),
        commit_id="c2",
        previous_id="c1",
        set_by="push-2",
    )
    assert second is not None and not second.delivered
    now = clock()
    # push-2 has not posted (yet, or ever): push-3 counts from c2 and carries what push-2 owes
    assert second.count_plan("push-3", now=now) == CountPlan("c2", carries=Owed("push-2", "c1", "c2"))
    assert second.count_plan("push-2", now=now) == CountPlan("c1")  # push-2's own retry
    owed = Owed("push-2", "c1", "c2")
    third = heads.swap(
        REPOSITORY, MAIN, current=second, commit_id="c3", previous_id="c2", set_by="push-3", owed=owed
    )
    assert third is not None and heads.read(REPOSITORY, MAIN) == third
    # push-2's retry finds its range owed to it; anyone else counts from c3
    assert third.count_plan("push-2", now=now) == CountPlan("c1", collects=Owed("push-2", "c1", "c2"))
    # a second unconfirmed push in a row would need a second debt: retried later instead
    with pytest.raises(DeliveryInProgress):
        third.count_plan("push-4", now=now)
    assert heads.settle(third)
    unowed = heads.read(REPOSITORY, MAIN)
    assert unowed is not None and heads.confirm(unowed)
    settled = heads.read(REPOSITORY, MAIN)
    assert (
        settled is not None
        and settled.owed is None
        and settled.count_plan("push-4", now=now) == CountPlan("c3")
    )
    # a record older than any retry of its push counts as delivered
    assert second.count_plan("push-3", now=now + 7 * 60 * 60) == CountPlan("c2")


def test_restoring_a_first_sighting_forgets_the_head(store: StateStore) -> None:
    heads = RefHeads(store)
    after = heads.swap(REPOSITORY, MAIN, current=None, commit_id="c1", previous_id=None, set_by="push-1")
    assert after is not None
    assert heads.restore(after, None) is True
    assert heads.read(REPOSITORY, MAIN) is None


def test_a_restore_never_undoes_a_later_push(store: StateStore) -> None:
    heads = RefHeads(store)
    before = heads.swap(REPOSITORY, MAIN, current=None, commit_id="c1", previous_id=None, set_by="push-1")
    assert before is not None
    mine = heads.swap(REPOSITORY, MAIN, current=before, commit_id="c2", previous_id="c1", set_by="push-2")
    assert mine is not None
    later = heads.swap(REPOSITORY, MAIN, current=mine, commit_id="c3", previous_id="c2", set_by="push-3")
    assert later is not None
    assert heads.restore(mine, before) is False
    assert heads.restore(mine, None) is False
    assert heads.read(REPOSITORY, MAIN) == later


def test_clearing_a_deleted_branch_forgets_its_head(store: StateStore) -> None:
    heads = RefHeads(store)
    assert heads.swap(REPOSITORY, MAIN, current=None, commit_id="c1", previous_id=None, set_by="p")
    assert heads.clear(REPOSITORY, MAIN) is True
    assert heads.read(REPOSITORY, MAIN) is None
    assert heads.clear(REPOSITORY, MAIN) is True


# SQLite across processes


def _claim_in_another_process(path: str, key: str, results: Any) -> None:
    ledger = DeliveryLedger(SQLiteStore(path))
    try:
        results.put("claimed" if ledger.claim(key, hold_seconds=600) else "delivered")
    except DeliveryInProgress:
        results.put("in progress")


def test_sqlite_claims_from_several_processes_have_one_winner(tmp_path: Path) -> None:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    path = str(tmp_path / "shared.sqlite3")
    SQLiteStore(path)  # create the table before the race
    processes = [
        context.Process(target=_claim_in_another_process, args=(path, "push", results)) for _ in range(4)
    ]
    for process in processes:
        process.start()
    outcomes = sorted(results.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(timeout=120)
    assert outcomes == ["claimed", "in progress", "in progress", "in progress"]


def test_sqlite_default_file_is_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = SQLiteStore()
    assert store.put_new("k", {"n": 1}, expires_at=None) is not None
    assert (tmp_path / ".codecommit-notifier-state.sqlite3").is_file()
    assert SQLiteStore().get("k") is not None  # a second run remembers


def test_delivery_posts_once_releases_after_a_failure_and_never_raises_a_lost_mark(
    store: StateStore, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = DeliveryLedger(store, clock=clock)
    with pytest.raises(RuntimeError), delivery(ledger, "m", seconds_left=60) as fresh:
        assert fresh
        raise RuntimeError("the post failed")
    with delivery(ledger, "m", seconds_left=60) as fresh:  # released: the retry delivers
        assert fresh
    with delivery(ledger, "m", seconds_left=60) as fresh:  # marked: a redelivery posts nothing
        assert not fresh

    def lost(*args: object, **kwargs: object) -> bool:
        raise StateError("throttled (injected)")

    monkeypatch.setattr(DeliveryLedger, "complete", lost)
    with delivery(ledger, "n", seconds_left=60) as fresh:  # posted, mark not written: no raise
        assert fresh
    with delivery(None, "", seconds_left=60) as fresh:  # nothing to guard
        assert fresh
