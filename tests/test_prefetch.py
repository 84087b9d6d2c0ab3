"""The tip read beside the recorded head (handler/enrich/prefetch.py), through the real pipeline.

A local git repository stands behind the reader, the state is in memory and Slack is the loopback
stand-in. Each test compares the pipeline with the prefetch against the same pipeline with it
replaced by the plain reader, or proves the two reads really overlap: the head read and the tip
read each wait for the other to have started, which only two threads can satisfy.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import handler.pipelines.push
from bench.sequential import NoPrefetch, ReadWhenAsked
from handler.app import process_event
from handler.deadline import Deadline
from handler.deliver import senders, webhook
from handler.deliver.destinations import Destination, DestinationMap, DestinationType
from handler.deliver.webhook_url import DestinationSecrets
from handler.demo import ScriptedGitRepo, trigger_event
from handler.enrich.gitreader import LocalGitReader
from handler.enrich.prefetch import TipPrefetch, tips_to_prefetch
from handler.errors import CommitUnavailable, RepositoryReadError
from handler.model import Commit, FileChange, RefAction, RefChange, RefKind
from handler.runtime import Runtime
from handler.settings import Settings
from handler.sources.trigger import parse_event
from handler.state import StateItem
from handler.state.heads import RefHeads
from handler.state.ledger import DeliveryLedger
from handler.state.memory import MemoryStore
from tests.standins.slack import SlackStandIn, running

ARN = "arn:aws:codecommit:us-east-2:111122223333:prefetch-repo"
PUSHER = "arn:aws:iam::111122223333:user/alice"
#: a guard against hanging forever when the overlap is broken; never reached when it works
OVERLAP_GUARD_SECONDS = 30
_ids = itertools.count(1)


class RecordingReader(LocalGitReader):
    """A local git reader that records every read (and on which thread), and can fail on cue."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.calls: list[tuple[str, tuple[Any, ...], str]] = []
        self.fail: dict[str, Exception] = {}
        self.before_get_commit: Callable[[], None] = lambda: None
        self.before_merge_base: Callable[[], None] = lambda: None

    def _record(self, name: str, *args: Any) -> None:
        self.calls.append((name, args, threading.current_thread().name))
        if name in self.fail:
            raise self.fail[name]

    def get_commit(self, commit_id: str) -> Commit:
        self.before_get_commit()
        self._record("get_commit", commit_id)
        return super().get_commit(commit_id)

    def get_differences(self, commit_id: str, parent_id: str | None) -> tuple[FileChange, ...]:
        self._record("get_differences", commit_id, parent_id)
        return super().get_differences(commit_id, parent_id)

    def merge_base(self, first: str, second: str) -> str | None:
        self.before_merge_base()
        self._record("merge_base", first, second)
        return super().merge_base(first, second)

    def counted(self) -> Counter[tuple[str, tuple[Any, ...]]]:
        return Counter((name, args) for name, args, _ in self.calls)


class GatedHeadStore(MemoryStore):
    """A memory store whose branch-head reads and delivery claims can run a hook first."""

    def __init__(self) -> None:
        super().__init__()
        self.before_head_read: Callable[[], None] = lambda: None
        self.before_claim: Callable[[], None] = lambda: None

    def get(self, key: str) -> StateItem | None:
        if key.startswith("head#"):
            self.before_head_read()
        return super().get(key)

    def put_new(self, key: str, attributes: Any, *, expires_at: int | None) -> StateItem | None:
        if key.startswith("delivered#"):
            self.before_claim()
        return super().put_new(key, attributes, expires_at=expires_at)


@pytest.fixture
def repo(tmp_path: Path) -> ScriptedGitRepo:
    path = tmp_path / "prefetch-repo"
    path.mkdir()
    repo = ScriptedGitRepo(path)
    repo.git("init", "-q", "-b", "main")
    return repo


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with running() as stand_in:
        yield stand_in


def commit(repo: ScriptedGitRepo, message: str, name: str = "file.txt") -> str:
    repo.write(name, message + "\n")
    return repo.commit(message)


def push_event(*refs: tuple[str, str]) -> dict[str, Any]:
    references = [{"commit": commit_id, "ref": f"refs/heads/{branch}"} for commit_id, branch in refs]
    number = next(_ids)  # a push of its own: its own message and its own time
    event_time = f"2026-11-20T{number // 3600 % 24:02d}:{number // 60 % 60:02d}:{number % 60:02d}.000+0000"
    event = trigger_event(references, pusher_arn=PUSHER, repository_arn=ARN, event_time=event_time)
    event["Records"][0]["Sns"]["MessageId"] = f"prefetch-{number}"
    return event


def runtime_for(reader: RecordingReader, store: MemoryStore, slack: SlackStandIn) -> Runtime:
    return Runtime(
        settings=Settings(),
        reader_for=lambda repository: reader,
        secrets=DestinationSecrets(url=slack.url, secret_arn=None, secrets_client=lambda region: None),
        state=store,
    )


def deliver(runtime: Runtime, event: dict[str, Any]) -> dict[str, int]:
    return process_event(event, runtime, Deadline(lambda: 60_000))


def with_head_recorded(
    repo: ScriptedGitRepo, slack: SlackStandIn
) -> tuple[RecordingReader, GatedHeadStore, Runtime, str]:
    """A runtime (recording reader, gated store) that has delivered a first push to main, so its
    head is recorded: the reader, the store, the runtime and that first commit."""
    first = commit(repo, "first")
    reader, store = RecordingReader(repo.path), GatedHeadStore()
    runtime = runtime_for(reader, store, slack)
    deliver(runtime, push_event((first, "main")))
    return reader, store, runtime, first


def no_prefetch_threads() -> bool:
    return not any(thread.name in ("tip-prefetch", "read-ahead") for thread in threading.enumerate())


def test_the_head_read_and_the_tip_read_overlap(
    repo: ScriptedGitRepo, slack: SlackStandIn, tmp_path: Path
) -> None:
    reader, store, runtime, _first = with_head_recorded(repo, slack)
    tip = commit(repo, "second")

    head_read_started, tip_read_started = threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def head_read_waits_for_the_tip_read() -> None:
        head_read_started.set()
        seen["tip read began while the head was being read"] = tip_read_started.wait(OVERLAP_GUARD_SECONDS)

    def tip_read_waits_for_the_head_read() -> None:
        tip_read_started.set()
        seen["head read began while the tip was being read"] = head_read_started.wait(OVERLAP_GUARD_SECONDS)

    store.before_head_read = head_read_waits_for_the_tip_read
    reader.before_get_commit = tip_read_waits_for_the_head_read
    reader.calls.clear()
    assert deliver(runtime, push_event((tip, "main"))) == {"delivered": 1}
    assert seen == {
        "tip read began while the head was being read": True,
        "head read began while the tip was being read": True,
    }
    threads = {name: thread for name, _, thread in reader.calls}
    assert threads["get_commit"] == threads["get_differences"] == "tip-prefetch"
    assert threads["merge_base"] == "read-ahead"
    assert "1 new commit" in str(slack.delivered[-1])
    assert no_prefetch_threads()


def test_the_merge_base_is_asked_beside_the_claim(repo: ScriptedGitRepo, slack: SlackStandIn) -> None:
    reader, store, runtime, first = with_head_recorded(repo, slack)
    tip = commit(repo, "second")
    merge_base_asked = threading.Event()
    seen: dict[str, bool] = {}

    def claim_waits_for_the_merge_base() -> None:
        seen["merge base asked while the claim was being written"] = merge_base_asked.wait(
            OVERLAP_GUARD_SECONDS
        )

    store.before_claim = claim_waits_for_the_merge_base
    reader.before_merge_base = merge_base_asked.set
    reader.calls.clear()
    assert deliver(runtime, push_event((tip, "main"))) == {"delivered": 1}
    assert seen == {"merge base asked while the claim was being written": True}
    assert reader.counted()[("merge_base", (tip, first))] == 1  # asked once, its answer used
    assert "1 new commit" in str(slack.delivered[-1])
    assert no_prefetch_threads()


def test_a_head_moved_after_the_read_ahead_is_counted_from_by_the_next_round(
    repo: ScriptedGitRepo, slack: SlackStandIn
) -> None:
    """Another push moves the branch after its head was read ahead: the first round uses the merge
    base asked ahead (with the head it read), its compare-and-set fails, and the next round asks
    for the new pair itself; the message counts from the head the other push wrote."""
    reader, store, runtime, base = with_head_recorded(repo, slack)
    middle = commit(repo, "middle")
    tip = commit(repo, "tip")
    (push,) = list(parse_event(push_event((tip, "main"))))
    heads = RefHeads(store)
    ref = "refs/heads/main"

    merge_base_asked = threading.Event()

    def another_push_moves_the_head() -> None:  # after the read-ahead asked its merge base
        store.before_claim = lambda: None
        assert merge_base_asked.wait(OVERLAP_GUARD_SECONDS)
        before = heads.read(push.repository, ref)
        moved = heads.swap(
            push.repository, ref, current=before, commit_id=middle, previous_id=base, set_by="another"
        )
        assert moved is not None
        heads.confirm(moved)

    store.before_claim = another_push_moves_the_head
    reader.before_merge_base = merge_base_asked.set
    reader.calls.clear()
    assert deliver(runtime, push_event((tip, "main"))) == {"delivered": 1}
    reads = reader.counted()
    assert reads[("merge_base", (tip, base))] == reads[("merge_base", (tip, middle))] == 1
    message = str(slack.delivered[-1])
    assert "1 new commit" in message and "tip" in message and "middle" not in message


def test_requests_is_imported_while_the_read_ahead_reads(
    repo: ScriptedGitRepo, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    _reader, store, runtime, _first = with_head_recorded(repo, slack)
    tip = commit(repo, "second")
    readied, importers = threading.Event(), []

    def import_requests() -> Any:
        importers.append(threading.current_thread().name)
        readied.set()
        return webhook.import_requests()

    monkeypatch.setattr(senders, "import_requests", import_requests)
    seen: dict[str, bool] = {}

    def head_read_waits_for_requests() -> None:
        readied_in_time = readied.wait(OVERLAP_GUARD_SECONDS)
        seen.setdefault("requests imported while the head was being read", readied_in_time)

    store.before_head_read = head_read_waits_for_requests
    assert deliver(runtime, push_event((tip, "main"))) == {"delivered": 1}
    assert seen == {"requests imported while the head was being read": True}
    assert importers == ["MainThread"]
    assert "1 new commit" in str(slack.delivered[-1])


def only(destination: Destination) -> DestinationMap:
    return DestinationMap({destination.name: destination})


SECRET = "arn:aws:secretsmanager:us-east-1:111122223333:secret:s"


@pytest.mark.parametrize(
    ("url", "secret_arn", "declared", "imports"),
    [
        ("https://hooks.slack.com/services/T0/B0/x", None, DestinationMap(), True),
        (None, SECRET, DestinationMap(), True),
        (None, None, only(Destination("mm", DestinationType.MATTERMOST_WEBHOOK)), True),
        (None, None, only(Destination("app", DestinationType.SLACK_APP, "C0123456789")), False),
    ],
    ids=["default URL", "default secret", "a Mattermost webhook", "a Slack app only"],
)
def test_requests_is_readied_only_where_a_webhook_may_be_posted_to(
    url: str | None,
    secret_arn: str | None,
    declared: DestinationMap,
    imports: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    importers: list[str] = []
    monkeypatch.setattr(senders, "import_requests", lambda: importers.append("called"))

    def no_secret_is_read(region: str | None) -> Any:
        raise AssertionError("readying the webhook client read the secret")

    secrets = DestinationSecrets(url=url, secret_arn=secret_arn, secrets_client=no_secret_is_read)
    senders.Senders(Settings(destinations=declared), secrets).ready_webhook_client()
    assert importers == (["called"] if imports else [])


def test_no_merge_base_is_asked_ahead_for_a_tip_that_cannot_be_read(
    repo: ScriptedGitRepo, slack: SlackStandIn
) -> None:
    reader, store, runtime, _base = with_head_recorded(repo, slack)
    tip = commit(repo, "second")
    head_read = threading.Event()
    store.before_head_read = head_read.set

    def tip_read_fails_after_the_head_is_read() -> None:  # so the read-ahead must wait for it
        assert head_read.wait(OVERLAP_GUARD_SECONDS)
        threading.Event().wait(0.2)
        reader.fail["get_commit"] = CommitUnavailable(tip, "no such commit in the repository")

    reader.before_get_commit = tip_read_fails_after_the_head_is_read
    reader.calls.clear()
    assert deliver(runtime, push_event((tip, "main"))) == {"delivered": 1}
    assert [name for name, _, _ in reader.calls] == ["get_commit"]
    assert "no such commit in the repository" in str(slack.delivered[-1])


def test_no_merge_base_is_asked_ahead_for_a_late_delivery_or_a_tag(
    repo: ScriptedGitRepo, slack: SlackStandIn
) -> None:
    """A message whose tip is already the recorded head (a later push was reported first) asks
    nothing; a tag moved to a branch's tip in the same push asks only the branch's merge base."""
    base = commit(repo, "base")
    reader = RecordingReader(repo.path)
    runtime = runtime_for(reader, MemoryStore(), slack)
    deliver(runtime, with_tag(push_event((base, "main")), base))
    tip = commit(repo, "second")
    deliver(runtime, push_event((tip, "main")))
    reader.calls.clear()
    assert deliver(runtime, push_event((tip, "main"))) == {"delivered": 0, "late": 1}
    assert not [args for name, args, _ in reader.calls if name == "merge_base"]

    third = commit(repo, "third")
    reader.calls.clear()
    assert deliver(runtime, with_tag(push_event((third, "main")), third)) == {"delivered": 1}
    assert [args for name, args, _ in reader.calls if name == "merge_base"] == [(third, tip)]


def with_tag(event: dict[str, Any], commit_id: str, tag: str = "v1") -> dict[str, Any]:
    """``event`` with a tag ``tag`` at ``commit_id`` pushed beside its branches."""
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    message["Records"][0]["codecommit"]["references"].append({"commit": commit_id, "ref": f"refs/tags/{tag}"})
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    return event


@pytest.mark.parametrize(
    "scenario", ["linear push of 3", "merge", "new branch", "two branches", "force push"]
)
def test_the_same_message_and_the_same_reads_as_without_the_prefetch(
    scenario: str, repo: ScriptedGitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = commit(repo, "base")
    setups: dict[str, Callable[[], list[tuple[str, str]]]] = {
        "linear push of 3": lambda: [(linear(repo, 3), "main")],
        "merge": lambda: merge(repo),
        "new branch": lambda: new_branch(repo),
        "two branches": lambda: [*new_branch(repo), (commit(repo, "on main"), "main")],
        "force push": lambda: force(repo, base),
    }
    refs = setups[scenario]()
    with_prefetch, without = with_and_without_prefetch(repo, monkeypatch, (base, "main"), refs)
    assert with_prefetch == without
    assert no_prefetch_threads()


def with_and_without_prefetch(
    repo: ScriptedGitRepo,
    monkeypatch: pytest.MonkeyPatch,
    first: tuple[str, str],
    refs: list[tuple[str, str]],
    fail: dict[str, Exception] | None = None,
) -> list[tuple[dict[str, int], dict[str, Any], Counter[tuple[str, tuple[Any, ...]]]]]:
    """Deliver ``first``, then ``refs`` (with ``fail`` in force), with the prefetch and then without:
    each time the outcome, the message posted and the reads made for ``refs``."""
    results = []
    first_event, event = push_event(first), push_event(*refs)  # the same two pushes, each run
    for prefetch in (True, False):
        if not prefetch:
            monkeypatch.setattr(handler.pipelines.push, "TipPrefetch", NoPrefetch)
        with running() as slack:
            reader = RecordingReader(repo.path)
            runtime = runtime_for(reader, MemoryStore(), slack)
            deliver(runtime, first_event)
            reader.calls.clear()
            reader.fail.update(fail or {})
            outcome = deliver(runtime, event)
            results.append((outcome, slack.delivered[-1], reader.counted()))
    return results


def linear(repo: ScriptedGitRepo, count: int) -> str:
    return [commit(repo, f"linear {index}") for index in range(count)][-1]


def merge(repo: ScriptedGitRepo) -> list[tuple[str, str]]:
    repo.git("checkout", "-q", "-b", "topic")
    commit(repo, "on topic", "topic.txt")
    repo.git("checkout", "-q", "main")
    commit(repo, "on main", "main.txt")
    repo.git("merge", "-q", "--no-ff", "-m", "merge topic", "topic")
    return [(repo.git("rev-parse", "HEAD"), "main")]


def new_branch(repo: ScriptedGitRepo) -> list[tuple[str, str]]:
    repo.git("checkout", "-q", "-b", "feature/x")
    tip = commit(repo, "on feature", "feature.txt")
    repo.git("checkout", "-q", "main")
    return [(tip, "feature/x")]


def force(repo: ScriptedGitRepo, base: str) -> list[tuple[str, str]]:
    commit(repo, "to be dropped")
    repo.git("reset", "-q", "--hard", base)
    return [(commit(repo, "rewritten", "other.txt"), "main")]


def test_an_unreadable_tip_is_said_as_without_the_prefetch(
    repo: ScriptedGitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = commit(repo, "base")
    tip = commit(repo, "second")
    gone = CommitUnavailable(tip, "no such commit in the repository")
    unreadable: dict[str, Exception] = {"get_commit": gone}
    with_prefetch, without = with_and_without_prefetch(
        repo, monkeypatch, (base, "main"), [(tip, "main")], unreadable
    )
    assert with_prefetch == without
    assert with_prefetch[0] == {"delivered": 1}
    assert "no such commit in the repository" in str(with_prefetch[1])


def test_a_failed_read_in_the_worker_raises_in_the_pipeline_and_puts_the_head_back(
    repo: ScriptedGitRepo, slack: SlackStandIn
) -> None:
    base = commit(repo, "base")
    tip = commit(repo, "second")
    reader, store = RecordingReader(repo.path), MemoryStore()
    runtime = runtime_for(reader, store, slack)
    deliver(runtime, push_event((base, "main")))
    reader.fail["get_differences"] = RepositoryReadError("GetDifferences kept failing: ThrottlingException")
    with pytest.raises(RepositoryReadError, match="ThrottlingException"):
        deliver(runtime, push_event((tip, "main")))
    assert len(slack.delivered) == 1  # only the first push
    assert no_prefetch_threads()
    del reader.fail["get_differences"]
    retry = push_event((tip, "main"))
    assert deliver(runtime, retry) == {"delivered": 1}
    assert "1 new commit" in str(slack.delivered[-1])  # counted from the head that was put back


@pytest.mark.parametrize("read_ahead", [True, False])
def test_a_head_read_ahead_while_another_attempt_gives_up_is_read_again(
    read_ahead: bool, repo: ScriptedGitRepo, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SNS delivered the message twice. Attempt A has claimed it and moved the head; attempt B reads
    that head ahead of its claim; then A's post fails, A puts the head back and releases its claim,
    and B wins the claim. B must not trust the head it read before: the next push counts from B's."""
    if not read_ahead:
        monkeypatch.setattr(handler.pipelines.push, "ReadAhead", ReadWhenAsked)
    _reader, store, runtime, base = with_head_recorded(repo, slack)
    tip = commit(repo, "second")
    event = push_event((tip, "main"))
    (push,) = list(parse_event(event))
    key, ref = push.delivery_key, push.ref_changes[0]
    heads, ledger = RefHeads(store), DeliveryLedger(store)
    claim_a = ledger.claim(key, hold_seconds=60)
    before = heads.read(push.repository, ref.full_name)
    after = heads.swap(
        push.repository, ref.full_name, current=before, commit_id=tip, previous_id=base, set_by=key
    )
    assert claim_a is not None and after is not None
    head_read = threading.Event()
    store.before_head_read = head_read.set

    def attempt_a_gives_up() -> None:  # just before B's claim
        if read_ahead:
            assert head_read.wait(OVERLAP_GUARD_SECONDS)
        store.before_claim = lambda: None
        heads.restore(after, before)
        ledger.release(claim_a)

    store.before_claim = attempt_a_gives_up
    assert deliver(runtime, event) == {"delivered": 1}  # attempt B
    recorded = heads.read(push.repository, ref.full_name)
    assert recorded is not None and recorded.commit_id == tip
    third = commit(repo, "third")
    assert deliver(runtime, push_event((third, "main"))) == {"delivered": 1}
    assert "1 new commit" in str(slack.delivered[-1])


def test_a_redelivered_message_reads_its_tip_once_and_nothing_more(
    repo: ScriptedGitRepo, slack: SlackStandIn
) -> None:
    base = commit(repo, "base")
    tip = commit(repo, "second")
    reader = RecordingReader(repo.path)
    runtime = runtime_for(reader, MemoryStore(), slack)
    deliver(runtime, push_event((base, "main")))
    event = push_event((tip, "main"))
    assert deliver(runtime, event) == {"delivered": 1}
    reader.calls.clear()
    assert deliver(runtime, event) == {"delivered": 0, "duplicate": 1}
    assert reader.counted() == Counter({("get_commit", (tip,)): 1})
    assert len(slack.delivered) == 2
    assert no_prefetch_threads()


def test_only_created_and_updated_branches_with_usable_ids_are_prefetched() -> None:
    def ref(kind: RefKind, action: RefAction, commit_id: str | None, name: str = "main") -> RefChange:
        return RefChange(f"refs/x/{name}", kind, name, action, commit_id)

    tip = "a" * 40
    assert tips_to_prefetch(
        [
            ref(RefKind.BRANCH, RefAction.UPDATED, tip),
            ref(RefKind.BRANCH, RefAction.CREATED, tip, "again"),  # the same tip once
            ref(RefKind.BRANCH, RefAction.CREATED, "b" * 40, "new"),
            ref(RefKind.BRANCH, RefAction.DELETED, "c" * 40, "gone"),
            ref(RefKind.TAG, RefAction.CREATED, "d" * 40, "v1"),
            ref(RefKind.BRANCH, RefAction.UPDATED, None, "no-id"),
            ref(RefKind.BRANCH, RefAction.UPDATED, "--output=/tmp/x", "hostile"),
        ]
    ) == [tip, "b" * 40]


def test_a_reader_with_nothing_to_prefetch_starts_no_thread(repo: ScriptedGitRepo) -> None:
    reader = RecordingReader(repo.path)
    with TipPrefetch(reader, []) as prefetching:
        assert no_prefetch_threads()
        assert prefetching.default_branch() == reader.default_branch()
    assert reader.calls == []
