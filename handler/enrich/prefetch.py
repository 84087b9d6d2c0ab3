"""Read each branch tip, and its changes, while the pipeline reads the branch's recorded head.

A branch update's reads form two independent chains: the recorded head (DynamoDB), then the merge
base with it (GetMergeOptions); and the tip commit (GetCommit), then its changes against each
parent (GetDifferences). Enrich runs them one after the other. :class:`TipPrefetch` runs the second
chain on one worker thread, started once the push is claimed, so the two overlap: about 25 ms less
before the post in ``python -m bench.levers`` (variant ``no-prefetch``), more on AWS, where each
call waits longer.

It reads nothing enrich would not read for the same push (a created or updated branch always shows
its tip and the tip's changes against each parent), with one exception: a late delivery (its branch
already moved past it) shows nothing, so the tip's changes it read are wasted, one GetDifferences
page per 100 files per parent. Results and errors are handed to enrich unchanged: a
:class:`~handler.errors.CommitUnavailable` or a deadline reached in the worker surfaces where enrich
asks for that commit, exactly as if enrich had made the call itself. The worker's calls go through
the same deadline-bounded reader, and :meth:`TipPrefetch.close` waits for them, so nothing is left
running when the push is done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any

from handler.enrich.reader import CommitReader
from handler.model import Commit, FileChange, RefAction, RefChange, RefKind
from handler.sources.trigger import is_lookup_safe_commit_id


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


def tips_to_prefetch(ref_changes: Iterable[RefChange]) -> list[str]:
    """The tip commits enrich will read with their changes: those of created and updated branches."""
    tips: list[str] = []
    for ref in ref_changes:
        if ref.kind is not RefKind.BRANCH or ref.action is RefAction.DELETED or not ref.commit_id:
            continue
        if is_lookup_safe_commit_id(ref.commit_id) and ref.commit_id not in tips:
            tips.append(ref.commit_id)
    return tips


class TipPrefetch:
    """A :class:`~handler.enrich.reader.CommitReader` that has already started reading some tips.

    ``get_commit`` and ``get_differences`` for a prefetched tip wait for the worker's answer; every
    other read goes straight to the wrapped reader. Use it as a context manager (or call
    :meth:`close`): leaving waits for the worker.
    """

    def __init__(self, reader: CommitReader, tips: Sequence[str]) -> None:
        self._reader = reader
        self._commits = {tip: _Result() for tip in tips}
        #: per tip, set once the tip's parents are known (and its diff results below exist)
        self._parents_known = {tip: threading.Event() for tip in tips}
        self._diffs: dict[tuple[str, str | None], _Result] = {}
        self._worker = threading.Thread(target=self._read_tips, name="tip-prefetch", daemon=True)
        if tips:
            self._worker.start()

    def __enter__(self) -> TipPrefetch:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Wait for the worker (its calls are bounded by the invocation's deadline)."""
        if self._worker.is_alive():
            self._worker.join()

    def _read_tips(self) -> None:
        for tip, commit_read in self._commits.items():
            try:
                commit = commit_read.settle(partial(self._reader.get_commit, tip))
                parents = [] if commit is None else list(commit.parent_ids or (None,))
                for parent in parents:
                    self._diffs[(tip, parent)] = _Result()
            finally:
                self._parents_known[tip].set()
            for parent in parents:
                self._diffs[(tip, parent)].settle(partial(self._reader.get_differences, tip, parent))

    def get_commit(self, commit_id: str) -> Commit:
        read = self._commits.get(commit_id)
        if read is None:
            return self._reader.get_commit(commit_id)
        commit: Commit = read.get()
        return commit

    def get_differences(self, commit_id: str, parent_id: str | None) -> tuple[FileChange, ...]:
        parents_known = self._parents_known.get(commit_id)
        if parents_known is not None:
            parents_known.wait()
            read = self._diffs.get((commit_id, parent_id))
            if read is not None:
                changes: tuple[FileChange, ...] = read.get()
                return changes
        return self._reader.get_differences(commit_id, parent_id)

    def get_commits(self, commit_ids: Sequence[str]) -> dict[str, Commit]:
        return self._reader.get_commits(commit_ids)

    def merge_base(self, first: str, second: str) -> str | None:
        return self._reader.merge_base(first, second)

    def branch_head(self, branch: str) -> str | None:
        return self._reader.branch_head(branch)

    def default_branch(self) -> str | None:
        return self._reader.default_branch()

    def resolve_commit(self, specifier: str) -> str | None:
        return self._reader.resolve_commit(specifier)
