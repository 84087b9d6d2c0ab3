"""Enrich: read each pushed commit and its per-parent changes through a :class:`CommitReader`.

What is read for each kind of reference:

* a branch created or updated: the tip commit, and its changes against every parent (one list
  per parent for a merge; against nothing for a root commit);
* a tag created or updated: the commit it names (no file list: a tag adds no changes);
* a deleted branch or tag: the commit it last named, if it can still be read, and no file list.

A commit that cannot be read (unknown id, an annotated tag's object id, a branch deleted with its
commits) is recorded with the reason instead of failing the push: the message still says who
pushed what. Anything else the reader raises (throttling after retries, access denied) propagates,
so the event is retried and kept.
"""

from __future__ import annotations

from handler.errors import CommitUnavailable
from handler.events import is_lookup_safe_commit_id
from handler.model import (
    Commit,
    FileChange,
    Notification,
    ParentDiff,
    Push,
    RefAction,
    RefChange,
    RefKind,
    RefReport,
)
from handler.reader import CommitReader


def enrich(push: Push, reader: CommitReader, *, max_refs: int) -> Notification:
    """Build the :class:`Notification` for a push, reading at most ``max_refs`` references."""
    cache = _ReadCache(reader)
    detailed, omitted = push.ref_changes[:max_refs], push.ref_changes[max_refs:]
    reports = tuple(_report(ref_change, cache) for ref_change in detailed)
    return Notification(push=push, reports=reports, omitted=omitted)


def _report(ref_change: RefChange, cache: _ReadCache) -> RefReport:
    commit_id = ref_change.commit_id
    if commit_id is None:
        return RefReport(ref_change, None, "the trigger gave no commit id")
    if not is_lookup_safe_commit_id(commit_id):
        return RefReport(ref_change, None, "the trigger's commit id is not a hexadecimal id")
    try:
        commit = cache.commit(commit_id)
    except CommitUnavailable as unavailable:
        return RefReport(ref_change, None, unavailable.reason)
    wants_files = ref_change.action is not RefAction.DELETED and ref_change.kind is not RefKind.TAG
    diffs = _parent_diffs(commit, cache) if wants_files else ()
    return RefReport(ref_change, commit, None, diffs)


def _parent_diffs(commit: Commit, cache: _ReadCache) -> tuple[ParentDiff, ...]:
    parents: tuple[str | None, ...] = commit.parent_ids or (None,)
    diffs = []
    for parent_id in parents:
        try:
            diffs.append(ParentDiff(parent_id, cache.differences(commit.commit_id, parent_id)))
        except CommitUnavailable as unavailable:
            diffs.append(ParentDiff(parent_id, (), error=unavailable.reason))
    return tuple(diffs)


class _ReadCache:
    """Reads each commit and each (commit, parent) pair once per push.

    A branch and a tag created on the same commit in one push cost one GetCommit, not two.
    """

    def __init__(self, reader: CommitReader) -> None:
        self._reader = reader
        self._commits: dict[str, Commit | CommitUnavailable] = {}
        self._diffs: dict[tuple[str, str | None], tuple[FileChange, ...]] = {}

    def commit(self, commit_id: str) -> Commit:
        if commit_id not in self._commits:
            try:
                self._commits[commit_id] = self._reader.get_commit(commit_id)
            except CommitUnavailable as unavailable:
                self._commits[commit_id] = unavailable
        cached = self._commits[commit_id]
        if isinstance(cached, CommitUnavailable):
            raise cached
        return cached

    def differences(self, commit_id: str, parent_id: str | None) -> tuple[FileChange, ...]:
        key = (commit_id, parent_id)
        if key not in self._diffs:
            self._diffs[key] = self._reader.get_differences(commit_id, parent_id)
        return self._diffs[key]
