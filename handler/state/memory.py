"""An in-memory :class:`~handler.state.StateStore`: one per process, lost when the process ends.

It is what the Lambda uses when no ``STATE_TABLE_NAME`` is configured: a retry that lands in the
same warm container still finds the marks of what was delivered, but nothing is shared between
containers, so it is a best effort, not a guarantee (the README says so).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from handler.state import AttributeValue, StateItem, check_attributes, first_version


class MemoryStore:
    """A dict behind a lock, with the same conditional semantics as the table."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._items: dict[str, StateItem] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def _live(self, key: str) -> StateItem | None:
        item = self._items.get(key)
        if item is not None and item.expires_at is not None and item.expires_at <= self._clock():
            del self._items[key]
            return None
        return item

    def get(self, key: str) -> StateItem | None:
        with self._lock:
            return self._live(key)

    def put_new(
        self, key: str, attributes: Mapping[str, AttributeValue], *, expires_at: int | None
    ) -> StateItem | None:
        with self._lock:
            if self._live(key) is not None:
                return None
            item = StateItem(key, check_attributes(attributes), first_version(), expires_at)
            self._items[key] = item
            return item

    def replace(
        self, current: StateItem, attributes: Mapping[str, AttributeValue], *, expires_at: int | None
    ) -> StateItem | None:
        with self._lock:
            stored = self._live(current.key)
            if stored is None or stored.version != current.version:
                return None
            item = StateItem(current.key, check_attributes(attributes), current.version + 1, expires_at)
            self._items[current.key] = item
            return item

    def delete(self, current: StateItem) -> bool:
        with self._lock:
            stored = self._live(current.key)
            if stored is None:
                return True
            if stored.version != current.version:
                return False
            del self._items[current.key]
            return True
