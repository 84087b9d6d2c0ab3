"""Exactly-once delivery marks: post a push's message once, however often its event arrives.

SNS delivers at least once and Lambda retries a failed invocation, so one push can reach the
function several times. Before posting, the function *claims* the push's delivery key in the
state store (``delivered#<key>``); after Slack took the message, it *completes* the claim; after
a failure, it *releases* it so that the retry posts. An item moves through::

    (absent) ──claim──► IN_PROGRESS ──complete──► DELIVERED ──(keep_seconds pass)──► (absent)
                             │  └──release──► (absent)
                             └──(hold_seconds pass: the invocation died)──► (absent)

* :meth:`DeliveryLedger.claim` returns None for a key already DELIVERED: a redelivery, post
  nothing. It raises :class:`DeliveryInProgress` while another invocation's claim is live; that
  is transient (Lambda retries the event later, by when the other invocation has finished or its
  claim has expired). An expired claim is taken over: its owner ran out of time without
  completing or releasing it.
* A claim is held for ``hold_seconds``, the claiming invocation's remaining time, so it can never
  outlive the invocation that holds it.
* A DELIVERED mark is kept for :data:`DELIVERED_KEEP_SECONDS` by default, the longest time after
  which the same event may still arrive.

The one gap no store can close: if Slack took the message and the invocation died before
:meth:`DeliveryLedger.complete` was written, the retry posts again. At-least-once delivery is
what remains in that case, never silence.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

from handler.errors import NotifierError
from handler.state import AttributeValue, StateItem, StateStore, bounded_key

PREFIX = "delivered#"
log = logging.getLogger(__name__)

#: How long a claim is held when the invocation has no deadline (local runs).
LOCAL_CLAIM_SECONDS = 15 * 60
#: Added to the invocation's remaining time, so a claim outlives the invocation that holds it
#: only by moments (an invocation killed at its timeout leaves a claim that soon expires).
CLAIM_MARGIN_SECONDS = 5

#: How long a DELIVERED mark is kept. Lambda retries an asynchronous event for at most its
#: maximum event age (6 hours, the stack's ``MAX_EVENT_AGE``, also Lambda's own ceiling), and the
#: last retry may start just before that and then run for up to a function timeout (at most 15
#: minutes). A duplicate SNS delivery arrives well within that window. After it, only a manual
#: redrive sends the event again, and that is meant to post.
DELIVERED_KEEP_SECONDS = 6 * 60 * 60 + 15 * 60


class DeliveryState(StrEnum):
    """The ``state`` attribute of a delivery mark."""

    IN_PROGRESS = "IN_PROGRESS"
    DELIVERED = "DELIVERED"


class DeliveryInProgress(NotifierError):
    """Another invocation is delivering this message right now; raised so Lambda retries later."""

    def __init__(self, key: str, expires_at: int | None) -> None:
        super().__init__(
            f"delivery {key!r} is claimed by another invocation until {expires_at}; "
            "Lambda retries this event, by when that delivery has finished or its claim has expired"
        )
        self.key = key
        self.expires_at = expires_at


@dataclass(frozen=True)
class Claim:
    """A live IN_PROGRESS mark this invocation wrote; pass it to complete or release."""

    key: str
    item: StateItem


class DeliveryLedger:
    """Delivery marks in any :class:`~handler.state.StateStore`.

    Args:
        store: where the marks live.
        clock: epoch seconds, for expiry times; the same clock as the store's.
    """

    def __init__(self, store: StateStore, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    def _expiry(self, seconds: float) -> int:
        return math.ceil(self._clock() + seconds)

    def claim(self, key: str, *, hold_seconds: float) -> Claim | None:
        """Claim ``key`` for delivery, unless it was delivered already.

        Args:
            key: the delivery key (e.g. the SNS message id and the reference).
            hold_seconds: how long the claim lasts: the invocation's remaining time.

        Returns:
            A :class:`Claim` to complete or release, or None if ``key`` was already delivered.

        Raises:
            DeliveryInProgress: another invocation holds a live claim on ``key``.
            StateError: the store failed.
        """
        item_key = bounded_key(PREFIX + key)
        attributes: dict[str, AttributeValue] = {
            "state": DeliveryState.IN_PROGRESS.value,
            "claimed_at": math.floor(self._clock()),
        }
        created = self._store.put_new(item_key, attributes, expires_at=self._expiry(hold_seconds))
        if created is not None:
            return Claim(key, created)
        existing = self._store.get(item_key)
        if existing is not None and existing.attributes.get("state") == DeliveryState.DELIVERED:
            return None
        # A live claim, or one that expired between the write and the read: either way, someone
        # else was here a moment ago. Retrying the event later is the safe answer.
        raise DeliveryInProgress(key, existing.expires_at if existing else None)

    def complete(self, claim: Claim, *, keep_seconds: float = DELIVERED_KEEP_SECONDS) -> bool:
        """Mark the claimed key DELIVERED for ``keep_seconds``.

        Returns:
            True if marked. False if the claim was lost: it expired and another invocation took
            the key over, which may then post a second time. The caller logs that.
        """
        attributes: dict[str, AttributeValue] = {
            "state": DeliveryState.DELIVERED.value,
            "delivered_at": math.floor(self._clock()),
        }
        expires_at = self._expiry(keep_seconds)
        if self._store.replace(claim.item, attributes, expires_at=expires_at) is not None:
            return True
        # Our claim expired; if nobody took the key over, the mark can still be written.
        return self._store.put_new(claim.item.key, attributes, expires_at=expires_at) is not None

    def release(self, claim: Claim) -> None:
        """Remove an IN_PROGRESS claim after a failed delivery, so that the retry delivers."""
        self._store.delete(claim.item)


@contextmanager
def delivery(ledger: DeliveryLedger | None, key: str, *, seconds_left: float) -> Iterator[bool]:
    """Deliver one message at most once: the one mechanism every pipeline posts through.

    Yields False when ``key`` was delivered before (post nothing), True otherwise. If the body
    raises, the claim is released (a failure to release is logged, never masks the error) so
    Lambda's retry delivers; if it returns, the key is marked delivered, and a failure to write
    the mark is logged, never raised: the post happened, and raising would post it again.
    Without a ledger or a key (a hand-made event) there is nothing to guard: it yields True.

    Raises:
        DeliveryInProgress: another invocation holds a live claim on ``key``.
        StateError: the claim itself could not be written.
    """
    if ledger is None or not key:
        yield True
        return
    claim = ledger.claim(key, hold_seconds=min(seconds_left, LOCAL_CLAIM_SECONDS) + CLAIM_MARGIN_SECONDS)
    if claim is None:
        yield False
        return
    try:
        yield True
    except BaseException:
        try:
            ledger.release(claim)
        except NotifierError as error:
            log.warning("could not release the delivery claim on %s: %s", key, error)
        raise
    try:
        if not ledger.complete(claim):
            log.warning("%s: the delivery claim expired before it was marked delivered", key)
    except NotifierError as error:
        log.warning("%s was posted but could not be marked delivered: %s", key, error)
