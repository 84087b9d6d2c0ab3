"""An embedded :class:`~handler.state.StateStore` in one SQLite file, for local runs.

The local preview (``python -m handler``) and ``make demo`` keep their state here, by default in
``.codecommit-notifier-state.sqlite3`` in the current directory: that is how the preview remembers
the last head it saw of each branch and can show a whole push the second time round. Delete the
file to forget everything.

Each operation opens its own connection and runs in one ``BEGIN IMMEDIATE`` transaction, which
takes SQLite's write lock before reading. A check and the write that depends on it are therefore
atomic across threads and processes alike; a writer that finds the lock taken waits up to
``timeout`` seconds for it.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from handler.state import AttributeValue, StateError, StateItem, check_attributes, first_version

DEFAULT_PATH = Path(".codecommit-notifier-state.sqlite3")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (
    pk TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    expires_at INTEGER,
    data TEXT NOT NULL
)
"""


class SQLiteStore:
    """A :class:`~handler.state.StateStore` over one SQLite file, safe for threads and processes.

    Args:
        path: the database file; created (with its table) on first use.
        clock: epoch seconds; tests pass their own to move time.
        timeout: seconds a writer waits for another's lock before :class:`StateError`.
    """

    def __init__(
        self,
        path: Path | str = DEFAULT_PATH,
        *,
        clock: Callable[[], float] = time.time,
        timeout: float = 30.0,
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self._timeout = timeout
        with self._transaction() as connection:
            connection.execute(_SCHEMA)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One connection, one immediate transaction: committed on success, rolled back on error."""
        try:
            connection = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
        except sqlite3.Error as error:
            raise StateError(f"cannot open the local state file {self.path}: {error}") from error
        try:
            connection.execute("BEGIN IMMEDIATE")
            yield connection
            connection.execute("COMMIT")
        except sqlite3.Error as error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise StateError(
                f"the local state file {self.path} could not be used: {error}. "
                "Check that it is writable, or delete it to start afresh."
            ) from error
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        finally:
            connection.close()

    def _live(self, connection: sqlite3.Connection, key: str) -> StateItem | None:
        row = connection.execute(
            "SELECT version, expires_at, data FROM state WHERE pk = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        version, expires_at, data = row
        if expires_at is not None and expires_at <= self._clock():
            return None
        return StateItem(key, json.loads(data), version, expires_at)

    def _store(self, connection: sqlite3.Connection, item: StateItem) -> None:
        connection.execute(
            "INSERT OR REPLACE INTO state (pk, version, expires_at, data) VALUES (?, ?, ?, ?)",
            (item.key, item.version, item.expires_at, json.dumps(dict(item.attributes), sort_keys=True)),
        )

    def get(self, key: str) -> StateItem | None:
        with self._transaction() as connection:
            return self._live(connection, key)

    def put_new(
        self, key: str, attributes: Mapping[str, AttributeValue], *, expires_at: int | None
    ) -> StateItem | None:
        item = StateItem(key, check_attributes(attributes), first_version(), expires_at)
        with self._transaction() as connection:
            if self._live(connection, key) is not None:
                return None
            self._store(connection, item)
        return item

    def replace(
        self, current: StateItem, attributes: Mapping[str, AttributeValue], *, expires_at: int | None
    ) -> StateItem | None:
        item = StateItem(current.key, check_attributes(attributes), current.version + 1, expires_at)
        with self._transaction() as connection:
            stored = self._live(connection, current.key)
            if stored is None or stored.version != current.version:
                return None
            self._store(connection, item)
        return item

    def delete(self, current: StateItem) -> bool:
        with self._transaction() as connection:
            stored = self._live(connection, current.key)
            if stored is not None and stored.version != current.version:
                return False
            connection.execute("DELETE FROM state WHERE pk = ?", (current.key,))
        return True
