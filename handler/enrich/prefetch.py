"""Read each branch tip, and what its push changed, while the pipeline claims the push and reads its head.

A branch update's reads form three chains: the claim (DynamoDB); the recorded head (DynamoDB),
then the merge base of the tip with that head (GetMergeOptions), then what the push changed (one
GetDifferences, previous head → tip); and the tip commit (GetCommit). Enrich used to run them one
after the other. :class:`ReadAhead` runs the second chain on a thread of its own, beside the
claim: the pipeline reads the heads, then asks :meth:`TipPrefetch.merge_base_ahead` for each
branch it updates, which also reads the push's changes once the claim is won
(:meth:`TipPrefetch.read_changes`). :class:`TipPrefetch` runs the third on one worker thread: the
tips as soon as the push is parsed, beside the claim. ``python -m bench.levers`` measures it
(variant ``no-prefetch``; README, Performance); on AWS, where each call waits longer, it saves more.

It reads nothing enrich would not read for the same push (an update shows what it changed since
the head it counts from, found from the merge base with that head), with two exceptions: a
redelivered message (or one whose claim another invocation holds) reads its tips (one GetCommit
each), and one merge base per branch whose recorded head is not its own, before the claim says
so; and a late delivery (its branch already moved past it) whose merge base is not its tip reads
the changes it then does not show. A first sight of a branch and a new branch read their
changes in enrich (what they show is measured from a point only enrich finds). Results and errors
are handed to enrich unchanged: a :class:`~handler.errors.CommitUnavailable` or a deadline
reached in the worker surfaces where enrich asks for that commit, exactly as if enrich had made
the call itself. The worker's calls go through the same deadline-bounded reader, and
:meth:`TipPrefetch.close` stops it before its next call and waits for it, so nothing is left
running when the push is done.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any, Generic, TypeVar

from handler.enrich.reader import CommitReader
from handler.model import Commit, FileChange, RefAction, RefChange, RefKind, TagAnnotation
from handler.sources.trigger import is_lookup_safe_commit_id


class PrefetchClosed(RuntimeError):
    """A read asked of a :class:`TipPrefetch` after it was closed (a bug in the caller)."""


def _closed() -> Any:
    raise PrefetchClosed("the tip prefetch was closed before this read")


class _Result:
    """One read the worker makes: settled (value or error) once :attr:`ready` is set."""

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None

    def settle(self, read: Callable[[], Any]) -> Any:
        """Run ``read`` and keep what it gave; always mark the result ready, whatever happens."""
        try:
            self.value = read()
        except BaseException as error:  # handed to the thread that asks for it
            self.error = error
        finally:
            self.ready.set()
        return self.value

    def get(self) -> Any:
        """Wait for the value; raise the read's error, as if the caller had made the call."""
        self.ready.wait()
        if self.error is not None:
            raise self.error
        return self.value


T = TypeVar("T")


class ReadAhead(Generic[T]):
    """One read started on a thread of its own, for a caller that wants its answer shortly.

    :meth:`get` waits for the answer, or raises the read's error; leaving the ``with`` block waits
    for the thread. ``ReadAhead(None)`` reads nothing and answers None.
    """

    def __init__(self, read: Callable[[], T] | None) -> None:
        self._result = _Result()
        self._thread: threading.Thread | None = None
        if read is None:
            self._result.settle(lambda: None)
        else:
            self._thread = threading.Thread(
                target=self._result.settle, args=(read,), name="read-ahead", daemon=True
            )
            self._thread.start()

    def __enter__(self) -> ReadAhead[T]:
        return self

    def __exit__(self, *_: object) -> None:
        if self._thread is not None:
            self._thread.join()

    def get(self) -> T:
        answer: T = self._result.get()
        return answer


def history_tip(ref: RefChange) -> str | None:
    """The tip enrich reads with its changes (and, for an update, a merge base): that of a
    created or updated branch, with a commit id it can look up; None for tags and deletions."""
    if ref.kind is not RefKind.BRANCH or ref.action is RefAction.DELETED or not ref.commit_id:
        return None
    return ref.commit_id if is_lookup_safe_commit_id(ref.commit_id) else None


def tips_to_prefetch(ref_changes: Iterable[RefChange]) -> list[str]:
    """The tip commits enrich will read with their changes: those of created and updated branches."""
    tips: list[str] = []
    for ref in ref_changes:
        tip = history_tip(ref)
        if tip is not None and tip not in tips:
            tips.append(tip)
    return tips


class TipPrefetch:
    """A :class:`~handler.enrich.reader.CommitReader` that has already started reading some tips.

    The worker reads the tips at once. :meth:`merge_base_ahead` asks for a tip's merge base with
    its recorded head; the worker then reads what the push changed, once :meth:`read_changes` is
    called (the push is claimed: a redelivered message reads no diff). ``get_commit`` and
    ``get_differences`` for what was read ahead wait for that answer; every other read goes
    straight to the wrapped reader. Use it as a context manager (or call :meth:`close`): leaving
    stops the worker before any read it has not started, and waits for it.
    """

    def __init__(self, reader: CommitReader, tips: Sequence[str]) -> None:
        self._reader = reader
        self._commits = {tip: _Result() for tip in tips}
        #: what pushes changed, read ahead, by (tip, recorded head)
        self._diffs: dict[tuple[str, str | None], _Result] = {}
        #: merge bases asked ahead (:meth:`merge_base_ahead`), by (tip, recorded head)
        self._merge_bases: dict[tuple[str, str], _Result] = {}
        #: (tip, recorded head) pairs whose changes the worker reads once the push is claimed; None ends
        self._changes_to_read: queue.SimpleQueue[tuple[str, str] | None] = queue.SimpleQueue()
        self._go = threading.Event()
        self._closed = False
        self._worker = threading.Thread(target=self._read_tips, name="tip-prefetch", daemon=True)
        if tips:
            self._worker.start()

    def __enter__(self) -> TipPrefetch:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def read_changes(self) -> None:
        """Let the reads ahead go on to the pushes' changes (the push is claimed)."""
        self._go.set()

    def close(self) -> None:
        """Stop the worker before its next read and wait for it (each call is bounded by the
        invocation's deadline); any read it did not make answers :class:`PrefetchClosed`."""
        self._closed = True
        self._go.set()
        self._changes_to_read.put(None)
        if self._worker.is_alive():
            self._worker.join()

    def _read_tips(self) -> None:
        try:
            for tip, commit_read in self._commits.items():
                if self._closed:
                    break
                commit_read.settle(partial(self._reader.get_commit, tip))
            self._go.wait()
            while (pair := self._changes_to_read.get()) is not None and not self._closed:
                self._diffs[pair].settle(partial(self._reader.get_differences, *pair))
        finally:  # whatever happened, no reader may be left waiting
            for result in [*self._commits.values(), *self._diffs.values()]:
                if not result.ready.is_set():
                    result.settle(_closed)

    def get_commit(self, commit_id: str) -> Commit:
        read = self._commits.get(commit_id)
        if read is None:
            return self._reader.get_commit(commit_id)
        commit: Commit = read.get()
        return commit

    def get_differences(self, commit_id: str, parent_id: str | None) -> tuple[FileChange, ...]:
        read = self._diffs.get((commit_id, parent_id))
        if read is not None:
            changes: tuple[FileChange, ...] = read.get()
            return changes
        return self._reader.get_differences(commit_id, parent_id)

    def get_commits(self, commit_ids: Sequence[str]) -> dict[str, Commit]:
        return self._reader.get_commits(commit_ids)

    def merge_base_ahead(self, tip: str, head: str) -> None:
        """Ask now, on the calling thread, for the merge base of a prefetched ``tip`` and the
        branch ``head`` recorded before it, and keep the answer (or the error) for the first
        :meth:`merge_base` asked for that pair; and, read by the worker once the push is claimed,
        beside the merge base, what the push changed (previous head → tip), which a rewind leaves
        unused (enrich shows no changes there). Nothing for a tip this prefetch does not read, for
        one that could not be read (enrich then never asks: it shows the tip's error), nor for a
        head that is the tip itself (a late delivery: enrich asks nothing). The answer is kept
        under the id the tip read gave, which is the one enrich asks with."""
        tip_read = self._commits.get(tip)
        if tip_read is None:
            return
        tip_read.ready.wait()  # the worker settles every result, even when it stops early
        if tip_read.error is not None:
            return
        tip_id = tip_read.value.commit_id
        if head == tip_id or (tip_id, head) in self._merge_bases:
            return
        self._merge_bases[(tip_id, head)] = result = _Result()
        # What the push changed is queued first, so the worker reads it (once the push is claimed)
        # while this thread asks for the merge base, instead of after it: the two answers don't
        # depend on each other. For a rewind (the merge base is the tip) it goes unused.
        self._diffs[(tip_id, head)] = _Result()
        self._changes_to_read.put((tip_id, head))
        result.settle(partial(self._reader.merge_base, tip_id, head))

    def merge_base(self, first: str, second: str) -> str | None:
        asked = self._merge_bases.pop((first, second), None)
        if asked is not None:
            base: str | None = asked.get()
            return base
        return self._reader.merge_base(first, second)

    def branch_head(self, branch: str) -> str | None:
        return self._reader.branch_head(branch)

    def default_branch(self) -> str | None:
        return self._reader.default_branch()

    def resolve_commit(self, specifier: str) -> str | None:
        return self._reader.resolve_commit(specifier)

    def tag_annotation(self, object_id: str) -> TagAnnotation | None:
        return self._reader.tag_annotation(object_id)
