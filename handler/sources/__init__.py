"""Parse: the event sources the notifier reads, each a typed read-only view over its raw shape.

* :mod:`handler.sources.trigger`: CodeCommit repository triggers (pushes), via SNS or directly;
* :mod:`handler.sources.eventbridge`: CodeCommit's EventBridge events (pull requests, comments,
  approvals), delivered to Lambda directly or wrapped in SNS.

:func:`is_eventbridge_event` lives here, not in the parser, so ``handler.app`` can dispatch on an
event's shape without importing the pull-request pipeline: push events never pay for it.
"""

from __future__ import annotations

import json
from typing import Any

EVENTBRIDGE_SOURCE = "aws.codecommit"


def is_eventbridge_event(event: Any) -> bool:
    """True for a CodeCommit EventBridge event, delivered directly or as an SNS record's message.

    Trigger messages (``Records`` of ``aws:codecommit`` records) are never EventBridge events.
    """
    if not isinstance(event, dict):
        return False
    if "detail-type" in event or "detail" in event:
        return event.get("source") == EVENTBRIDGE_SOURCE
    records = event.get("Records")
    if not isinstance(records, list):
        return False
    return any(sns_eventbridge_message(record) is not None for record in records)


def sns_eventbridge_message(record: Any) -> dict[str, Any] | None:
    """The EventBridge event inside an SNS record, or None if the record holds something else."""
    if not isinstance(record, dict) or not isinstance(record.get("Sns"), dict):
        return None
    message = record["Sns"].get("Message")
    if not isinstance(message, str) or EVENTBRIDGE_SOURCE not in message:
        return None
    try:
        decoded = json.loads(message)
    except (ValueError, RecursionError):
        return None
    if isinstance(decoded, dict) and decoded.get("source") == EVENTBRIDGE_SOURCE and "detail" in decoded:
        return decoded
    return None
