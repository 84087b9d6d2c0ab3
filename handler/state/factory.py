"""Which :class:`~handler.state.StateStore` a run uses, from ``STATE_TABLE_NAME``.

This reads its one variable itself, so that the state backend can be chosen without going
through :mod:`handler.settings`:

* ``STATE_TABLE_NAME`` set: the DynamoDB table (the deployed stack sets it), in ``AWS_REGION``
  (or ``AWS_DEFAULT_REGION``; Lambda sets the former);
* unset, local runs (the preview, ``make demo``): :class:`~handler.state.sqlite.SQLiteStore` in
  the current directory;
* unset, in Lambda: :class:`~handler.state.memory.MemoryStore`, which lasts as long as the
  container.

Backends are imported only when chosen, so a run without a table never imports botocore's session.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from handler.state import StateStore

if TYPE_CHECKING:
    from botocore.config import Config

TABLE_VARIABLE = "STATE_TABLE_NAME"


def store_from_environment(
    environ: Mapping[str, str], *, local: bool, config: Config | None = None
) -> StateStore:
    """The state store this run should use.

    Args:
        environ: the environment (``os.environ``).
        local: True for the preview and the demo, False in Lambda.
        config: botocore client settings for the DynamoDB client (retries, timeouts); None
            uses :func:`handler.state.dynamodb.state_client_config`.
    """
    table_name = environ.get(TABLE_VARIABLE, "").strip()
    if table_name:
        from handler.state.dynamodb import dynamodb_store

        region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or None
        return dynamodb_store(table_name, region, config)
    if local:
        from handler.state.sqlite import SQLiteStore

        return SQLiteStore()
    from handler.state.memory import MemoryStore

    return MemoryStore()
