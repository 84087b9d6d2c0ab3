"""Enrich: read what each reference of a push points at, and what the push added to each branch.

What is read for each kind of reference:

* a branch created or updated: the tip commit; when history is on (``HistoryOptions``), the
  commits the push added (:mod:`handler.enrich.history`), since the head recorded before it for
  an update or since the default branch for a new branch, and what the push changed as a whole
  (one diff: previous head → new head, or merge base → new head); otherwise the tip's change
  against its first parent (what a merge brought in; against nothing for a root commit);
* a tag created or updated: the commit it names. An annotated tag's trigger id is the tag
  object's, which GetCommit can't read: that object id (never the tag's name, which may have been
  moved since) is then peeled to its commit (CodeCommit's GetFolder takes a commit specifier and
  answers with the commit id);
* a deleted branch or tag: the commit it last named, if it can still be read (a deleted annotated
  tag's object peeled the same way), and no file list.

A commit that cannot be read (unknown id, a branch deleted with its commits) is recorded with the
reason instead of failing the push: the message still says who pushed what. Anything else the
reader raises (throttling after retries, access denied) propagates, so the event is retried and
kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from handler.enrich.history import LATE, CommitCache, HistoryLimits, new_branch_history, update_history
from handler.enrich.reader import CommitReader
from handler.errors import CommitUnavailable, DiffTruncated
from handler.model import (
    TAG_OBJECT_UNREADABLE,
    BranchHistory,
    Commit,
    Notification,
    ParentDiff,
    Push,
    RefAction,
    RefChange,
    RefKind,
    RefReport,
)
from handler.sources.trigger import is_lookup_safe_commit_id


@dataclass(frozen=True)
class HistoryOptions:
    """Whole-push history for this push: the heads recorded before it, and how far to walk.

    Attributes:
        previous_heads: full ref name → the head recorded for it before this push. A branch
            update whose ref is absent is seen for the first time: its tip alone is shown.
        limits: how many commits to list and read.
    """

    previous_heads: Mapping[str, str] = field(default_factory=dict)
    limits: HistoryLimits = field(default_factory=HistoryLimits)


def enrich(
    push: Push, reader: CommitReader, *, max_refs: int, history: HistoryOptions | None = None
) -> Notification:
    """Build the :class:`Notification` for a push, reading at most ``max_refs`` references.

    Without ``history`` no commit list is read (the tip commit of each reference is shown). With
    it, a branch update that turns out to be a late delivery of an older push (the branch has
    moved past it, see :mod:`handler.enrich.history`) is left out of the notification and listed in
    ``Notification.late``; a push whose every reference is late has nothing left to post.
    """
    cache = CommitCache(reader)
    detailed, omitted = push.ref_changes[:max_refs], push.ref_changes[max_refs:]
    reports, late = [], []
    for ref_change in detailed:
        late_delete = history is not None and _deleted_branch_since_recreated(ref_change, cache)
        report = None if late_delete else _with_tag_annotation(_report(ref_change, cache, history), cache)
        if report is None:
            late.append(ref_change)
        else:
            reports.append(report)
    if late:
        push = dataclasses.replace(
            push, ref_changes=tuple(ref for ref in push.ref_changes if ref not in late)
        )
    return Notification(push=push, reports=tuple(reports), omitted=omitted, late=tuple(late))


def _report(ref_change: RefChange, cache: CommitCache, history: HistoryOptions | None) -> RefReport | None:
    commit_id = ref_change.commit_id
    if commit_id is None:
        return RefReport(ref_change, None, "the trigger gave no commit id")
    if not is_lookup_safe_commit_id(commit_id):
        return RefReport(ref_change, None, "the trigger's commit id is not a hexadecimal id")
    try:
        commit = cache.commit(commit_id)
    except CommitUnavailable as unavailable:
        return _unreadable_tip(ref_change, cache, unavailable)
    if ref_change.action is RefAction.DELETED or ref_change.kind is not RefKind.BRANCH:
        return RefReport(ref_change, commit, None)
    branch_history: BranchHistory | None = None
    if history is not None:
        found = _branch_history(ref_change, commit, cache, history)
        if found is LATE:
            return None
        branch_history = found if isinstance(found, BranchHistory) else None
    whole_push_read = branch_history is not None and (
        branch_history.combined_changes is not None or branch_history.combined_error is not None
    )
    diffs = () if whole_push_read else _parent_diffs(commit, cache)  # the push's diff says it all
    return RefReport(ref_change, commit, None, diffs, history=branch_history)


def _with_tag_annotation(report: RefReport | None, cache: CommitCache) -> RefReport | None:
    """A created or moved tag whose trigger id is a tag object: its message and tagger, where the
    reader can read them (not CodeCommit: see :meth:`CommitReader.tag_annotation`)."""
    if report is None or report.commit is None:
        return report
    ref_change = report.ref_change
    if (
        ref_change.kind is not RefKind.TAG
        or ref_change.action is RefAction.DELETED
        or not ref_change.commit_id
    ):
        return report
    if ref_change.commit_id == report.commit.commit_id:
        return report  # a lightweight tag: the trigger's id is the commit's
    annotation = cache.reader.tag_annotation(ref_change.commit_id)
    return dataclasses.replace(report, tag=annotation) if annotation is not None else report


def _unreadable_tip(ref_change: RefChange, cache: CommitCache, unavailable: CommitUnavailable) -> RefReport:
    """An id GetCommit can't read. For a tag it may be an annotated tag's object: peel that object.

    The object the trigger carries is the one pushed; the tag's name may point elsewhere by now
    (re-tagged with ``git tag -f``, deleted and created again), so the name is never resolved. A
    tag object that can no longer be peeled is said to be so (:data:`TAG_OBJECT_UNREADABLE`).
    """
    if ref_change.kind is not RefKind.TAG or ref_change.commit_id is None:
        return RefReport(ref_change, None, unavailable.reason)
    peeled_id = cache.reader.resolve_commit(ref_change.commit_id)
    if peeled_id is not None and peeled_id != ref_change.commit_id:
        try:
            commit = cache.commit(peeled_id)
        except CommitUnavailable:
            pass
        else:
            return RefReport(ref_change, commit, None, tag_object_id=ref_change.commit_id)
    return RefReport(ref_change, None, TAG_OBJECT_UNREADABLE)


def _deleted_branch_since_recreated(ref_change: RefChange, cache: CommitCache) -> bool:
    """A branch deletion that arrives after the branch was created again (and moved): SNS does not
    keep order, and posting "deleted" for a branch that exists would be untrue."""
    if ref_change.action is not RefAction.DELETED or ref_change.kind is not RefKind.BRANCH:
        return False
    now = cache.reader.branch_head(ref_change.short_name)
    return now is not None and now != ref_change.commit_id


def _branch_history(
    ref_change: RefChange, commit: Commit, cache: CommitCache, history: HistoryOptions
) -> BranchHistory | object | None:
    previous_id = history.previous_heads.get(ref_change.full_name)
    if ref_change.action is RefAction.CREATED:
        # A head already recorded for a branch being created means its creation arrived after a
        # later push to it (or after its deletion's event was lost): judge it like an update first.
        if previous_id is not None and previous_id != commit.commit_id:
            if update_history(cache, ref_change, commit, previous_id, limits=history.limits) is LATE:
                return LATE
        elif previous_id is not None:
            return LATE
        return new_branch_history(cache, ref_change, commit, limits=history.limits)
    if previous_id is None:
        return None
    return update_history(cache, ref_change, commit, previous_id, limits=history.limits)


def _parent_diffs(commit: Commit, cache: CommitCache) -> tuple[ParentDiff, ...]:
    """The tip's change against its first parent (against nothing for a root commit).

    For a merge that is what it brought into the branch; its other parents' diffs (what the branch
    gained meanwhile) are not read: they were noise, and a call each.
    """
    parents: tuple[str | None, ...] = commit.parent_ids[:1] or (None,)
    diffs = []
    for parent_id in parents:
        try:
            diffs.append(ParentDiff(parent_id, cache.differences(commit.commit_id, parent_id)))
        except DiffTruncated as truncated:  # the time ran out part way: show what was read, say so
            diffs.append(ParentDiff(parent_id, truncated.changes, error=truncated.reason))
        except CommitUnavailable as unavailable:
            diffs.append(ParentDiff(parent_id, (), error=unavailable.reason))
    return tuple(diffs)
