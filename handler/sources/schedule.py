"""The review-reminder event: what the stack's EventBridge Scheduler schedule sends the notifier.

The schedule (``cdk/reminders.py``) invokes the function asynchronously with this JSON as its
input; the ``<aws.scheduler.…>`` placeholders are filled in by EventBridge Scheduler::

    {
      "source": "codecommit-notifier.reminders",
      "version": 1,
      "account": "123456789012",
      "region": "eu-west-1",
      "partition": "aws",
      "scheduled_time": "<aws.scheduler.scheduled-time>",
      "execution_id": "<aws.scheduler.execution-id>"
    }

:func:`~handler.sources.is_reminder_event` lives in :mod:`handler.sources`, light to import, so the
entry can dispatch on the shape without loading the reminders pipeline. A hand-made event of the
same shape (``aws lambda invoke``) sends the digest too; the once-a-day marks keep it from
repeating a reminder.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from handler.errors import UnprocessableEvent

REMINDER_VERSION = 1
#: Field patterns, compiled on first use (the entry imports this module for :func:`is_reminder_event`,
#: so a push's cold start pays for nothing else here).
_ACCOUNT = r"[0-9]{12}"
_REGION = r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}"
_PARTITION = r"aws(-[a-z]+)*"


class ReminderEvent:
    """A read-only view of the schedule's event; each property raises :class:`UnprocessableEvent`
    (the event is then logged and dropped) when its field is there but unusable."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw_event = raw
        if raw.get("version", REMINDER_VERSION) != REMINDER_VERSION:
            raise UnprocessableEvent(
                f"reminder event version {str(raw.get('version'))[:20]!r} is not {REMINDER_VERSION}; "
                "redeploy the stack so the schedule and the function agree"
            )

    def _field(self, name: str, pattern: str) -> str:
        value = self.raw_event.get(name)
        if value is None or value == "":
            return ""
        if not isinstance(value, str) or not re.fullmatch(pattern, value):
            raise UnprocessableEvent(f"reminder event: {name} {str(value)[:40]!r} is not valid")
        return value

    @property
    def account(self) -> str:
        """The stack's account ("" when not given): part of the once-a-day keys."""
        return self._field("account", _ACCOUNT)

    @property
    def region(self) -> str:
        """The stack's region, where the watched repositories are ("" when not given: the function's)."""
        return self._field("region", _REGION)

    @property
    def partition(self) -> str:
        """``aws``, ``aws-cn``, ``aws-us-gov``: for console links (default ``aws``)."""
        return self._field("partition", _PARTITION) or "aws"

    @property
    def scheduled_time(self) -> datetime | None:
        """When the schedule fired (``2026-12-07T09:00:00Z``), None for a hand-made event."""
        value = self.raw_event.get("scheduled_time")
        if not isinstance(value, str):
            return None
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None

    @property
    def execution_id(self) -> str:
        """The schedule's id for this run, for logs."""
        value = self.raw_event.get("execution_id")
        return value[:100] if isinstance(value, str) else ""
