"""Last-seen heads of branches and tags: what a whole-push summary counts its commits from.

A trigger message carries only each reference's new commit. To list every commit a push added,
the function remembers the head it last saw of each reference, under
``head#<account>:<region>:<repository>#<full ref>``, and moves it with compare-and-set:

1. :meth:`RefHeads.read` the record (None: a reference seen for the first time);
2. :meth:`RefHeads.swap` it to the pushed commit, naming the push's delivery key in ``set_by``.
   None back means another invocation moved it first: re-read and decide again;
3. deliver; if delivery fails, :meth:`RefHeads.restore` the record as it was before, so the
   retry counts from the same head.

A retry of a push whose swap did stand (say delivery failed and the restore failed too) finds
``set_by`` equal to its own delivery key: the swap was its own, and ``previous_id`` is the head to
count from. :meth:`RefHeads.clear` forgets a deleted branch or tag.

Which head a push counts from (:meth:`HeadRecord.count_plan`) follows one rule: the recorded head,
confirmed or not. A tip that equals it or is its ancestor is never a fast-forward and never moves
the head back (a late delivery posts nothing; a rewind is a force push); only a tip that descends
from the recorded head is counted, from it. So no commit is listed twice.

Nor is one lost: when a push counts past a head another push recorded but has not confirmed (its
post is under way, or failed), the new record carries that range as *owed* (``owed_by``, the other
push's delivery key; ``owed_from`` → ``owed_to``, the range it was to list). If the other push's post
then fails, its retry finds the range owed to it, lists exactly that range, leaves the newer head
where it is, and clears the debt. If it posted, the debt is never collected and expires with the
record's delivery window. Only one debt fits a record: a push that would have to carry a second one
(two unconfirmed pushes in a row) raises :class:`~handler.state.ledger.DeliveryInProgress`, and
Lambda retries it once the others have finished.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from handler.model import Repository
from handler.state import AttributeValue, StateItem, StateStore, bounded_key
from handler.state.ledger import DELIVERED_KEEP_SECONDS, DeliveryInProgress

PREFIX = "head#"

#: How long a head is remembered after its last push. Each push renews it; a reference idle for
#: longer is reported like a new one (tip commit only) on its next push. 400 days outlasts a
#: yearly release branch by a month, and keeps heads of deleted repositories and forgotten
#: branches from piling up forever.
HEAD_TTL_SECONDS = 400 * 24 * 60 * 60

#: Attempts :meth:`RefHeads.clear` makes against concurrent writers before leaving the head to expire.
_CLEAR_ATTEMPTS = 3


@dataclass(frozen=True)
class HeadRecord:
    """A reference's recorded head.

    Attributes:
        commit_id: the head last seen.
        previous_id: the head before it, if one was known; what a retry of ``set_by`` counts from.
        set_by: the delivery key of the push that recorded ``commit_id``.
        item: the stored item, for compare-and-set.
    """

    commit_id: str
    previous_id: str | None
    set_by: str
    item: StateItem
    set_at: int = 0
    delivered: bool = True
    owed: Owed | None = None

    def unconfirmed(self, *, now: float) -> bool:
        """Whether the push that wrote this head may still fail to post it (and be retried).

        A record older than a delivery mark's lifetime counts as delivered: its push can no longer
        be retried."""
        return not self.delivered and now - self.set_at < DELIVERED_KEEP_SECONDS

    def count_plan(self, delivery_key: str, *, now: float) -> CountPlan:
        """How a push with ``delivery_key`` counts its commits against this record (module docstring).

        Raises:
            DeliveryInProgress: counting past this head would need a second debt on the record.
        """
        if delivery_key and self.set_by == delivery_key:  # our own earlier attempt moved it and died
            return CountPlan(self.previous_id)
        owed = self.owed if self.owed is not None and now - self.set_at < DELIVERED_KEEP_SECONDS else None
        if owed is not None and delivery_key and owed.owed_by == delivery_key:
            return CountPlan(owed.owed_from, collects=owed)
        if not self.unconfirmed(now=now):
            return CountPlan(self.commit_id)
        if owed is not None:
            raise DeliveryInProgress(f"{self.set_by} (and {owed.owed_by})", None)
        return CountPlan(self.commit_id, carries=Owed(self.set_by, self.previous_id, self.commit_id))


@dataclass(frozen=True)
class Owed:
    """A range of commits another push recorded but had not confirmed when a later push counted past
    it: the later record carries it, so the earlier push's retry can still list it.

    Attributes:
        owed_by: the delivery key of the push that owes the range.
        owed_from: where its range starts (its recorded previous head; None: it was a first sighting).
        owed_to: its tip, where the range ends.
    """

    owed_by: str
    owed_from: str | None
    owed_to: str


@dataclass(frozen=True)
class CountPlan:
    """What :meth:`HeadRecord.count_plan` decided.

    Attributes:
        count_from: the head to count from (None: show the tip alone).
        carries: the debt the new record must carry (counting past an unconfirmed head).
        collects: the debt this push collects: list its range, leave the head, clear the debt.
    """

    count_from: str | None
    carries: Owed | None = None
    collects: Owed | None = None


def head_key(repository: Repository, full_ref: str) -> str:
    """The state key of a reference's head; account and region keep same-named repositories apart.

    A key over :data:`~handler.state.MAX_KEY_BYTES` ends in a digest of the whole (:func:`bounded_key`).
    """
    return bounded_key(f"{PREFIX}{repository.account}:{repository.region}:{repository.name}#{full_ref}")


def _record(item: StateItem) -> HeadRecord:
    previous = item.attributes.get("previous_id")
    set_at = item.attributes.get("set_at", 0)
    owed_by, owed_to, owed_from = (item.attributes.get(name) for name in ("owed_by", "owed_to", "owed_from"))
    return HeadRecord(
        commit_id=str(item.attributes["commit_id"]),
        previous_id=str(previous) if previous is not None else None,
        set_by=str(item.attributes.get("set_by", "")),
        item=item,
        set_at=set_at if isinstance(set_at, int) else 0,
        delivered=item.attributes.get("delivered", 1) == 1,
        owed=(
            Owed(str(owed_by), str(owed_from) if owed_from is not None else None, str(owed_to))
            if owed_by and owed_to
            else None
        ),
    )


def _attributes(
    commit_id: str,
    previous_id: str | None,
    set_by: str,
    *,
    set_at: int,
    delivered: bool,
    owed: Owed | None = None,
) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {
        "commit_id": commit_id,
        "set_by": set_by,
        "set_at": set_at,
        "delivered": 1 if delivered else 0,
    }
    if previous_id is not None:
        attributes["previous_id"] = previous_id
    if owed is not None:
        attributes["owed_by"] = owed.owed_by
        attributes["owed_to"] = owed.owed_to
        if owed.owed_from is not None:
            attributes["owed_from"] = owed.owed_from
    return attributes


class RefHeads:
    """Last-seen heads in any :class:`~handler.state.StateStore`.

    Args:
        store: where the heads live.
        clock: epoch seconds, for expiry times; the same clock as the store's.
    """

    def __init__(self, store: StateStore, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    def _expiry(self) -> int:
        return math.ceil(self._clock()) + HEAD_TTL_SECONDS

    def read(self, repository: Repository, full_ref: str) -> HeadRecord | None:
        """The recorded head of ``full_ref``, or None if none is known."""
        item = self._store.get(head_key(repository, full_ref))
        return _record(item) if item is not None else None

    def swap(
        self,
        repository: Repository,
        full_ref: str,
        *,
        current: HeadRecord | None,
        commit_id: str,
        previous_id: str | None,
        set_by: str,
        owed: Owed | None = None,
    ) -> HeadRecord | None:
        """Record ``commit_id`` as the head if the record is still ``current``.

        Args:
            current: the record as read (None: there was none, so create one).
            commit_id: the new head.
            previous_id: the head the push moved from (normally ``current.commit_id``).
            set_by: the push's delivery key.
            owed: the range an unconfirmed push counted past still owes (:class:`Owed`).

        Returns:
            The new record, or None if another writer changed the record since ``current``.
        """
        attributes = _attributes(
            commit_id, previous_id, set_by, set_at=math.floor(self._clock()), delivered=False, owed=owed
        )
        if current is None:
            item = self._store.put_new(head_key(repository, full_ref), attributes, expires_at=self._expiry())
        else:
            item = self._store.replace(current.item, attributes, expires_at=self._expiry())
        return _record(item) if item is not None else None

    def restore(self, record_after_swap: HeadRecord, before: HeadRecord | None) -> bool:
        """Undo a swap after a failed delivery, if the record is still the one the swap wrote.

        Args:
            record_after_swap: what :meth:`swap` returned.
            before: the record the swap replaced (its ``current``); None deletes the record.

        Returns:
            True if undone; False if another push has moved the head since, which stands.
        """
        if before is None:
            return self._store.delete(record_after_swap.item)
        attributes = _attributes(
            before.commit_id,
            before.previous_id,
            before.set_by,
            set_at=before.set_at,
            delivered=before.delivered,
            owed=before.owed,
        )
        return self._store.replace(record_after_swap.item, attributes, expires_at=self._expiry()) is not None

    def settle(self, record: HeadRecord) -> bool:
        """Clear the debt a push collected (it listed the owed range), if the record is unchanged.

        Returns:
            True if cleared; False if the record moved on meanwhile (its debt went with it, or stands).
        """
        attributes = _attributes(
            record.commit_id,
            record.previous_id,
            record.set_by,
            set_at=record.set_at,
            delivered=record.delivered,
        )
        return self._store.replace(record.item, attributes, expires_at=self._expiry()) is not None

    def confirm(self, record_after_swap: HeadRecord) -> bool:
        """Mark a swapped head as delivered, once its push was posted, if it is still the record.

        Until then a later push counts from the head before it (see :meth:`HeadRecord.counted_from`).

        Returns:
            True if marked; False if another push has moved the head since (nothing to mark).
        """
        record = record_after_swap
        attributes = _attributes(
            record.commit_id,
            record.previous_id,
            record.set_by,
            set_at=record.set_at,
            delivered=True,
            owed=record.owed,
        )
        return self._store.replace(record.item, attributes, expires_at=self._expiry()) is not None

    def clear(self, repository: Repository, full_ref: str) -> bool:
        """Forget the head of a deleted branch or tag.

        Returns:
            True if no head is recorded any more; False if concurrent writers kept moving it, in
            which case it stays until they stop (or it expires).
        """
        for _ in range(_CLEAR_ATTEMPTS):
            record = self.read(repository, full_ref)
            if record is None or self._store.delete(record.item):
                return True
        return False
