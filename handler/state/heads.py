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
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from handler.model import Repository
from handler.state import AttributeValue, StateItem, StateStore, bounded_key
from handler.state.ledger import DELIVERED_KEEP_SECONDS

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

    def counted_from(self, delivery_key: str, *, now: float) -> str | None:
        """The head a push with ``delivery_key`` should count its commits from.

        Normally the recorded head. The one before it when this record was written by the same push
        (a retry whose earlier attempt moved the head and died), or by another push that has not
        been delivered yet (its post failed, or is still under way): counting from its head could
        lose its commits for good if it never posts, so they are listed again instead. A rare
        duplicate listing is preferred to a lost commit. A record older than a delivery mark's
        lifetime counts as delivered (its push can no longer be retried).
        """
        if delivery_key and self.set_by == delivery_key:
            return self.previous_id
        unconfirmed = not self.delivered and now - self.set_at < DELIVERED_KEEP_SECONDS
        return self.previous_id if unconfirmed else self.commit_id


def head_key(repository: Repository, full_ref: str) -> str:
    """The state key of a reference's head; account and region keep same-named repositories apart.

    A key over :data:`~handler.state.MAX_KEY_BYTES` ends in a digest of the whole (:func:`bounded_key`).
    """
    return bounded_key(f"{PREFIX}{repository.account}:{repository.region}:{repository.name}#{full_ref}")


def _record(item: StateItem) -> HeadRecord:
    previous = item.attributes.get("previous_id")
    set_at = item.attributes.get("set_at", 0)
    return HeadRecord(
        commit_id=str(item.attributes["commit_id"]),
        previous_id=str(previous) if previous is not None else None,
        set_by=str(item.attributes.get("set_by", "")),
        item=item,
        set_at=set_at if isinstance(set_at, int) else 0,
        delivered=item.attributes.get("delivered", 1) == 1,
    )


def _attributes(
    commit_id: str, previous_id: str | None, set_by: str, *, set_at: int, delivered: bool
) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {
        "commit_id": commit_id,
        "set_by": set_by,
        "set_at": set_at,
        "delivered": 1 if delivered else 0,
    }
    if previous_id is not None:
        attributes["previous_id"] = previous_id
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
    ) -> HeadRecord | None:
        """Record ``commit_id`` as the head if the record is still ``current``.

        Args:
            current: the record as read (None: there was none, so create one).
            commit_id: the new head.
            previous_id: the head the push moved from (normally ``current.commit_id``).
            set_by: the push's delivery key.

        Returns:
            The new record, or None if another writer changed the record since ``current``.
        """
        attributes = _attributes(
            commit_id, previous_id, set_by, set_at=math.floor(self._clock()), delivered=False
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
        )
        return self._store.replace(record_after_swap.item, attributes, expires_at=self._expiry()) is not None

    def confirm(self, record_after_swap: HeadRecord) -> bool:
        """Mark a swapped head as delivered, once its push was posted, if it is still the record.

        Until then a later push counts from the head before it (see :meth:`HeadRecord.counted_from`).

        Returns:
            True if marked; False if another push has moved the head since (nothing to mark).
        """
        record = record_after_swap
        attributes = _attributes(
            record.commit_id, record.previous_id, record.set_by, set_at=record.set_at, delivered=True
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
