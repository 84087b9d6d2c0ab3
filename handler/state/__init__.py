"""State: the one small key-value interface every kind of remembered fact goes through.

The notifier remembers a few things between invocations, each under its own key prefix in one
store (one DynamoDB table when deployed, ``STATE_TABLE_NAME``)::

    head#<account>:<region>:<repository>#<full ref>   last-seen head of a branch or tag
    delivered#<delivery key>                        a push (or event) claimed or delivered
    pr#...  / draft#...                             pull-request threads and drafts

Three backends implement :class:`StateStore` and are held to the same tests:

* :mod:`handler.state.dynamodb`: the deployed table, with conditional writes;
* :mod:`handler.state.sqlite`: an embedded local store (the preview and ``make demo``);
* :mod:`handler.state.memory`: the invocation-local fallback when no table is configured.

Concurrency is optimistic: every item carries a ``version``; :meth:`StateStore.replace` and
:meth:`StateStore.delete` succeed only if the version is still the one read, and
:meth:`StateStore.put_new` only if no live item exists. An item whose ``expires_at`` has passed
counts as absent everywhere (DynamoDB's TTL deletes it some time later; readers must not wait):
at or after ``expires_at`` the item is gone.

A new item starts at a random version (:func:`first_version`) and every replace adds one. Were
versions to restart at 1, an invocation still holding a copy of an expired item could match the
unrelated item that took its key over (a claim released by its stale owner, a head restored over
someone else's): the classic ABA problem of compare-and-set.

The deployed function uses DynamoDB when ``STATE_TABLE_NAME`` is set and memory otherwise
(:func:`handler.runtime.aws_runtime`); the local preview and the demo use SQLite.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from handler.errors import NotifierError

#: What an item's attributes may hold: flat strings and whole numbers.
AttributeValue = str | int


class StateError(NotifierError):
    """The state store could not be read or written after bounded retries; raised so Lambda retries."""


@dataclass(frozen=True)
class StateItem:
    """One item as read: its key, attributes, version (for compare-and-set) and expiry.

    Attributes:
        key: the item's key (``pk``), including its prefix.
        attributes: its data; flat strings and integers only.
        version: random when the item is created, incremented by every replace; what
            :meth:`StateStore.replace` and :meth:`StateStore.delete` compare.
        expires_at: epoch seconds after which the item counts as absent; None never expires.
    """

    key: str
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)
    version: int = 1
    expires_at: int | None = None


class StateStore(Protocol):
    """A key-value store with conditional writes. Every method may raise :class:`StateError`."""

    def get(self, key: str) -> StateItem | None:
        """The live item under ``key``, or None if there is none or it has expired."""
        ...

    def put_new(
        self, key: str, attributes: Mapping[str, AttributeValue], *, expires_at: int | None
    ) -> StateItem | None:
        """Create the item if no live item has this key; return it, or None if one exists."""
        ...

    def replace(
        self, current: StateItem, attributes: Mapping[str, AttributeValue], *, expires_at: int | None
    ) -> StateItem | None:
        """Overwrite ``current`` if its version is unchanged; return the new item, or None if not."""
        ...

    def delete(self, current: StateItem) -> bool:
        """Delete ``current`` if its version is unchanged; True if deleted (or already gone)."""
        ...


#: Versions stay below 2**53 so that any JSON reader holds them exactly.
_VERSION_LIMIT = 2**53


def first_version() -> int:
    """The version of a newly created item: random, so no stale copy of an earlier item matches it."""
    return secrets.randbelow(_VERSION_LIMIT - 1) + 1


def check_attributes(attributes: Mapping[str, AttributeValue]) -> dict[str, AttributeValue]:
    """A copy of ``attributes``, refusing anything but strings and integers (a bool is not one).

    Raises:
        TypeError: a value of another type; a programming error, not a state failure.
    """
    for name, value in attributes.items():
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise TypeError(f"state attribute {name!r} must be a str or an int, not {type(value).__name__}")
    return dict(attributes)


#: DynamoDB allows 2,048 bytes of partition key; keys are kept well inside that.
MAX_KEY_BYTES = 1024


def bounded_key(key: str) -> str:
    """``key`` itself, or, if longer than :data:`MAX_KEY_BYTES` in UTF-8, its start and a digest.

    Ref names and delivery keys come from outside and git sets no length limit on ref names, so a
    long one must still give a valid, distinct key rather than a request every backend refuses.
    """
    encoded = key.encode("utf-8")
    if len(encoded) <= MAX_KEY_BYTES:
        return key
    digest = hashlib.sha256(encoded).hexdigest()
    start = encoded[: MAX_KEY_BYTES - len(digest) - 8].decode("utf-8", errors="ignore")
    return f"{start}#sha256:{digest}"
