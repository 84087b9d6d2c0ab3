"""The invocation's deadline: how long every stage that waits on the network may still take.

Reading CodeCommit, writing state and posting to Slack all bound their attempts by it, so an
invocation fails cleanly (and Lambda retries the event) instead of being killed mid-request.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Deadline"]


class Deadline:
    """Seconds left in this invocation, less a margin kept for logging and raising cleanly."""

    def __init__(self, remaining_ms: Callable[[], float] | None, margin_seconds: float = 2.0) -> None:
        self._remaining_ms = remaining_ms
        self._margin = margin_seconds

    def seconds_left(self) -> float:
        """Infinite when there is no Lambda context (local runs)."""
        if self._remaining_ms is None:
            return float("inf")
        return self._remaining_ms() / 1000.0 - self._margin
