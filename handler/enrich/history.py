"""History: which commits a branch push added, and whether it rewrote what was there.

CodeCommit has no log API, so the commits of a push are found by walking parents from the new
head, reading commits in batches, and stopping where the other side's history begins. Where that
is, is asked of the service rather than found by walking unbounded history: a merge base
(GetMergeOptions' ``baseCommitId``) between the new head and the *other tip*, which is

* the branch's previous head, for an update whose previous head the notifier recorded, or
* the repository's default branch, for a branch the push created.

The walk follows every parent. A linear run of commits stops at its merge base with the other
tip: a commit between the two cannot be in the other's history, or it would be a better common
ancestor. At a merge commit, each parent gets its own merge base (one call each, up to a bound),
and a parent that already is in the other's history is not walked at all, so merging ``main``
into a feature branch does not list ``main``'s commits as new.

How an update is classified, from the merge base ``base`` of the new head ``new`` and the
previous head ``old``:

=====================================  =======================================================
``base == old``                        fast forward: list ``old..new``
``base == new``, branch is at ``new``  a rewind: a force push that only dropped commits
``base == new``, branch moved on       a late delivery of an older push: post nothing for it
``base`` elsewhere                     force push: list ``base..new``, count ``base..old`` dropped
no ``base``                            force push onto unrelated history: dropped unknown
=====================================  =======================================================

Every walk is bounded (``HistoryLimits``): past the bound the totals are reported as lower bounds
("at least 50 more commits"), never as exact figures.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime

from handler.enrich.reader import CommitReader
from handler.errors import CommitUnavailable
from handler.model import BranchHistory, Commit, FileChange, HistoryRelation, RefChange

log = logging.getLogger(__name__)

_EPOCH = datetime.fromtimestamp(0, tz=UTC)


@dataclass(frozen=True)
class HistoryLimits:
    """How far a walk may go.

    Attributes:
        listed: commits kept for the message (newest first); the rest are counted.
        read: commits read at most per walk (one API call per commit on a linear history,
            batched where several ids are known at once); past it, counts are lower bounds.
        merge_bases: merge-base calls at most per walk, for the parents of merge commits.
    """

    listed: int = 10
    read: int = 50
    merge_bases: int = 8


class Late:
    """The marker for an update that arrived after a later push to the same branch was reported."""

    def __repr__(self) -> str:
        return "LATE"


LATE = Late()


class CommitCache:
    """Reads each commit, merge base and diff once per push, for enrich and the walk alike."""

    def __init__(self, reader: CommitReader) -> None:
        self.reader = reader
        self._commits: dict[str, Commit | CommitUnavailable] = {}
        self._diffs: dict[tuple[str, str | None], tuple[FileChange, ...]] = {}
        self._merge_bases: dict[tuple[str, str], str | None] = {}
        self._default_branch: tuple[str | None] | None = None

    def commit(self, commit_id: str) -> Commit:
        """One commit; raises :class:`CommitUnavailable` (remembered) for an unreadable id."""
        if commit_id not in self._commits:
            try:
                self._remember(self.reader.get_commit(commit_id), commit_id)
            except CommitUnavailable as unavailable:
                self._commits[commit_id] = unavailable
        cached = self._commits[commit_id]
        if isinstance(cached, CommitUnavailable):
            raise cached
        return cached

    def commits(self, commit_ids: list[str]) -> dict[str, Commit]:
        """Several commits: one call for all that are not cached yet (GetCommit for a single one)."""
        missing = [commit_id for commit_id in dict.fromkeys(commit_ids) if commit_id not in self._commits]
        if len(missing) == 1:
            with suppress(CommitUnavailable):
                self.commit(missing[0])
        elif missing:
            found = self.reader.get_commits(missing)
            for commit_id in missing:
                commit = found.get(commit_id)
                if commit is None:
                    self._commits[commit_id] = CommitUnavailable(commit_id, "not returned by BatchGetCommits")
                else:
                    self._remember(commit, commit_id)
        return {
            commit_id: cached
            for commit_id in commit_ids
            if isinstance(cached := self._commits.get(commit_id), Commit)
        }

    def _remember(self, commit: Commit, asked_id: str) -> None:
        self._commits[asked_id] = commit
        self._commits[commit.commit_id] = commit

    def differences(self, commit_id: str, parent_id: str | None) -> tuple[FileChange, ...]:
        """Changes of ``commit_id`` against ``parent_id``, every page."""
        key = (commit_id, parent_id)
        if key not in self._diffs:
            self._diffs[key] = self.reader.get_differences(commit_id, parent_id)
        return self._diffs[key]

    def merge_base(self, first: str, second: str) -> str | None:
        """The merge base of two specifiers; raises :class:`CommitUnavailable` if it can't be had."""
        key = (first, second)
        if key not in self._merge_bases:
            self._merge_bases[key] = self.reader.merge_base(first, second)
        return self._merge_bases[key]

    def default_branch(self) -> str | None:
        """The repository's default branch, read once per push."""
        if self._default_branch is None:
            self._default_branch = (self.reader.default_branch(),)
        return self._default_branch[0]


@dataclass(frozen=True)
class Walk:
    """Commits found by :func:`walk`: newest first, and whether the walk reached its end."""

    commits: tuple[Commit, ...]
    exact: bool


def walk(
    cache: CommitCache, head: Commit, *, stop: str | None, other: str | None, limits: HistoryLimits
) -> Walk:
    """The commits reachable from ``head`` but not from ``other``, ``head`` included, newest first.

    Args:
        cache: where commits and merge bases are read.
        head: the commit to start from (already read).
        stop: the merge base of ``head`` and ``other``, where the first line ends (exclusive);
            None walks to the root (bounded), for unrelated histories.
        other: the specifier whose history is excluded (a commit id or a branch name); merge
            commits' parents are measured against it. None: nothing is excluded.
        limits: the read and merge-base bounds.
    """
    return _Walker(cache, other, limits).run(head, stop)


class _Walker:
    """One bounded walk; see :func:`walk`."""

    def __init__(self, cache: CommitCache, other: str | None, limits: HistoryLimits) -> None:
        self._cache = cache
        self._other = other
        self._limits = limits
        self._merge_bases_left = limits.merge_bases
        self._pending: list[tuple[str, str | None]] = []
        self.exact = True

    def run(self, head: Commit, stop: str | None) -> Walk:
        found: dict[str, Commit] = {head.commit_id: head}
        self._follow(head, stop)
        while self._pending:
            batch = {commit_id: line_stop for commit_id, line_stop in self._pending if commit_id not in found}
            self._pending = []
            room = self._limits.read - len(found)
            if len(batch) > room:
                batch = dict(list(batch.items())[: max(room, 0)])
                self.exact = False
            if not batch:
                break
            commits = self._cache.commits(list(batch))
            for commit_id, line_stop in batch.items():
                commit = commits.get(commit_id)
                if commit is None:
                    self.exact = False  # an unreadable parent: what lies behind it is not counted
                    continue
                found[commit_id] = commit
                self._follow(commit, line_stop)
        if self._pending:
            self.exact = False
        return Walk(newest_first(found), self.exact)

    def _follow(self, commit: Commit, line_stop: str | None) -> None:
        """Queue the parents of ``commit`` that lead to commits the other side doesn't have."""
        if len(commit.parent_ids) <= 1:
            self._pending.extend((parent, line_stop) for parent in commit.parent_ids if parent != line_stop)
            return
        for parent in commit.parent_ids:
            if parent in (self._other, line_stop):
                continue  # the other side's tip, or where this line ends: nothing new behind it
            parent_stop = self._parent_stop(parent, line_stop)
            if parent_stop != parent:
                self._pending.append((parent, parent_stop))

    def _parent_stop(self, parent: str, line_stop: str | None) -> str | None:
        """Where a merge parent's line ends: its own merge base with the other side.

        Equal to ``parent`` when the parent already is in the other side's history.
        """
        if self._other is None:
            return line_stop
        if self._merge_bases_left <= 0:
            self.exact = False  # out of merge-base calls: this parent's line may overcount
            return line_stop
        self._merge_bases_left -= 1
        try:
            return self._cache.merge_base(parent, self._other)
        except CommitUnavailable:
            self.exact = False
            return line_stop


def newest_first(found: dict[str, Commit]) -> tuple[Commit, ...]:
    """``found`` (in the order the walk met them, from the tip) listed newest first.

    Every commit comes before its parents, as in ``git log --date-order``: a rebase or a script
    stamps many commits with the same second, and only the parent links say which is newer. Among
    commits that do not descend from one another, the later date comes first, then the one met
    first from the tip. ``found`` is keyed by the id each commit was asked for, which a reader may
    answer under another (full) id; parents are matched against both.
    """
    met = {key: index for index, key in enumerate(found)}
    key_of = {commit.commit_id: key for key, commit in found.items()} | {key: key for key in found}
    children_left = dict.fromkeys(found, 0)
    for commit in found.values():
        for parent in commit.parent_ids:
            if parent in key_of:
                children_left[key_of[parent]] += 1

    def newest(key: str) -> tuple[float, int]:
        commit = found[key]
        date = commit.committer.date or commit.author.date or _EPOCH
        return (-date.timestamp(), met[key])

    ready = [key for key in found if children_left[key] == 0]
    listed: list[str] = []
    while ready:
        ready.sort(key=newest)
        key = ready.pop(0)
        listed.append(key)
        for parent in found[key].parent_ids:
            if parent in key_of:
                children_left[key_of[parent]] -= 1
                if children_left[key_of[parent]] == 0:
                    ready.append(key_of[parent])
    if len(listed) < len(found):  # parent links that loop (only a broken reader could give them)
        shown = set(listed)
        listed.extend(sorted((key for key in found if key not in shown), key=newest))
    return tuple(found[key] for key in listed)


def update_history(
    cache: CommitCache, ref_change: RefChange, head: Commit, previous_id: str, *, limits: HistoryLimits
) -> BranchHistory | Late | None:
    """Classify a branch update against the head recorded before it (see the module docstring).

    Returns:
        the history to show; :data:`LATE` for a late delivery (post nothing for this branch);
        None when the previous head can no longer be compared (the tip alone is shown).
    """
    if previous_id == head.commit_id:
        return LATE
    try:
        base = cache.merge_base(head.commit_id, previous_id)
    except CommitUnavailable as unavailable:
        log.info("cannot compare %s with its previous head: %s", ref_change.full_name, unavailable.reason)
        return None
    if base == previous_id:
        added = walk(cache, head, stop=previous_id, other=previous_id, limits=limits)
        return _history(
            HistoryRelation.FAST_FORWARD,
            added,
            limits,
            previous_id=previous_id,
            base_id=base,
            **_combined(cache, head.commit_id, previous_id),
        )
    if base == head.commit_id:
        return _rewind_or_late(cache, ref_change, head, previous_id, limits=limits)
    if base is None:
        added = walk(cache, head, stop=None, other=None, limits=limits)
        return _history(
            HistoryRelation.FORCED,
            added,
            limits,
            previous_id=previous_id,
            dropped_exact=False,
            **_combined(cache, head.commit_id, previous_id),
        )
    added = walk(cache, head, stop=base, other=previous_id, limits=limits)
    dropped = _dropped(cache, previous_id, stop=base, other=head.commit_id, limits=limits)
    return _history(
        HistoryRelation.FORCED,
        added,
        limits,
        previous_id=previous_id,
        base_id=base,
        dropped=dropped.count if dropped else None,
        dropped_exact=dropped.exact if dropped else False,
        dropped_commits=dropped.commits[: limits.listed] if dropped else (),
        **_combined(cache, head.commit_id, previous_id),
    )


def _combined(cache: CommitCache, head_id: str, since_id: str) -> dict[str, object]:
    """What the push changed as a whole: one diff between the previous head and the new one.

    For a push of one commit onto the previous head this is that commit's own diff (the same
    call); for more, it replaces the tip's diff, so a whole push costs no more calls than its tip.
    """
    try:
        return {"combined_changes": cache.differences(head_id, since_id)}
    except CommitUnavailable as unavailable:
        return {"combined_error": unavailable.reason}


def _rewind_or_late(
    cache: CommitCache, ref_change: RefChange, head: Commit, previous_id: str, *, limits: HistoryLimits
) -> BranchHistory | Late:
    """The new head is an ancestor of the recorded one: where the branch points now decides.

    At the new head: someone reset the branch back, a force push that only dropped commits. Moved
    on (or gone): this is an older push delivered late, whose commits were already listed.
    """
    if cache.reader.branch_head(ref_change.short_name) != head.commit_id:
        return LATE
    dropped = _dropped(cache, previous_id, stop=head.commit_id, other=head.commit_id, limits=limits)
    return BranchHistory(
        relation=HistoryRelation.FORCED,
        commits=(),
        total=0,
        previous_id=previous_id,
        base_id=head.commit_id,
        dropped=dropped.count if dropped else None,
        dropped_exact=dropped.exact if dropped else False,
        dropped_commits=dropped.commits[: limits.listed] if dropped else (),
    )


def new_branch_history(
    cache: CommitCache, ref_change: RefChange, head: Commit, *, limits: HistoryLimits
) -> BranchHistory | None:
    """What a newly created branch brings: its commits that are not on the default branch.

    Returns None when the default branch cannot be compared (the tip alone is shown).
    """
    try:
        default_branch = cache.default_branch()
    except CommitUnavailable as unavailable:
        log.info("cannot find the default branch: %s", unavailable.reason)
        return None
    if default_branch is None or default_branch == ref_change.short_name:
        added = walk(cache, head, stop=None, other=None, limits=limits)
        return _history(HistoryRelation.DEFAULT_BRANCH, added, limits, base_ref=default_branch)
    try:
        base = cache.merge_base(head.commit_id, default_branch)
    except CommitUnavailable as unavailable:
        log.info("cannot compare %s with %s: %s", ref_change.full_name, default_branch, unavailable.reason)
        return None
    if base is None:
        added = walk(cache, head, stop=None, other=None, limits=limits)
        return _history(HistoryRelation.UNRELATED, added, limits, base_ref=default_branch)
    if base == head.commit_id:
        return BranchHistory(
            HistoryRelation.BRANCHED, (), 0, base_id=base, base_ref=default_branch, combined_changes=()
        )
    added = walk(cache, head, stop=base, other=default_branch, limits=limits)
    combined: tuple[FileChange, ...] | None = None
    combined_error = None
    try:
        combined = cache.differences(head.commit_id, base)
    except CommitUnavailable as unavailable:
        combined_error = unavailable.reason
    return _history(
        HistoryRelation.BRANCHED,
        added,
        limits,
        base_id=base,
        base_ref=default_branch,
        combined_changes=combined,
        combined_error=combined_error,
    )


@dataclass(frozen=True)
class _Count:
    count: int
    exact: bool
    commits: tuple[Commit, ...] = ()


def _dropped(
    cache: CommitCache, previous_id: str, *, stop: str, other: str, limits: HistoryLimits
) -> _Count | None:
    """How many commits of the previous head's history are gone from the branch."""
    try:
        previous = cache.commit(previous_id)
    except CommitUnavailable:
        return None
    gone = walk(cache, previous, stop=stop, other=other, limits=limits)
    return _Count(len(gone.commits), gone.exact, gone.commits)


def _history(
    relation: HistoryRelation,
    added: Walk,
    limits: HistoryLimits,
    **fields: object,
) -> BranchHistory:
    return BranchHistory(
        relation=relation,
        commits=added.commits[: limits.listed],
        total=len(added.commits),
        total_exact=added.exact,
        **fields,  # type: ignore[arg-type]
    )
