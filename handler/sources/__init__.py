"""Parse: the event sources the notifier reads, each a typed read-only view over its raw shape.

* :mod:`handler.sources.trigger`: CodeCommit repository triggers (pushes), via SNS or directly;
* :mod:`handler.sources.eventbridge`: CodeCommit's EventBridge events (pull requests, comments,
  approvals), delivered to Lambda directly or wrapped in SNS;
* :mod:`handler.sources.gitlab`: GitLab's webhook payloads, in the envelope ``handler.gitlab`` makes.

:func:`is_eventbridge_event` lives here, not in the parser, so ``handler.app`` can dispatch on an
event's shape without importing the pull-request pipeline: push events never pay for it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from handler.errors import UnprocessableEvent

#: Lone surrogates (possible in JSON) can't be encoded, so they'd break links and the payload.
_SURROGATES = re.compile(r"[\ud800-\udfff]")


def text_field(
    mapping: Mapping[str, Any], key: str, where: str, *, required: bool = False, limit: int = 20_000
) -> str:
    """``mapping[key]`` as a string, cut at ``limit``, lone surrogates replaced: "" when absent or
    null, unless ``required``. Every typed view (EventBridge, GitLab, CodePipeline) reads text so.

    Raises:
        UnprocessableEvent: the field is missing (``required``) or not a string.
    """
    value = mapping.get(key)
    if value is None:
        if required:
            raise UnprocessableEvent(f"{where} has no '{key}'")
        return ""
    if not isinstance(value, str):
        raise UnprocessableEvent(f"{where}.{key} should be str, got {type(value).__name__}")
    return _SURROGATES.sub("\ufffd", value[:limit])

EVENTBRIDGE_SOURCE = "aws.codecommit"
#: The ``source`` of the envelope ``handler.gitlab`` hands the notifier (see handler/sources/gitlab.py).
GITLAB_SOURCE = "gitlab"


def is_gitlab_envelope(event: Any) -> bool:
    """True for a GitLab delivery the front door handed over: ``{"source": "gitlab", "payload": {...}}``."""
    return (
        isinstance(event, dict)
        and event.get("source") == GITLAB_SOURCE
        and isinstance(event.get("payload"), dict)
    )


#: The review-reminder schedule's events carry this ``source`` (``handler/sources/schedule.py``).
REMINDER_SOURCE = "codecommit-notifier.reminders"


def is_reminder_event(event: Any) -> bool:
    """True for the schedule's event: an object whose ``source`` is :data:`REMINDER_SOURCE`."""
    return isinstance(event, dict) and event.get("source") == REMINDER_SOURCE


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


#: The sources of pipeline and build events (handler/sources/codepipeline.py parses them).
PIPELINE_SOURCES = frozenset({"aws.codepipeline", "aws.codebuild"})


def is_pipeline_event(event: Any) -> bool:
    """True for a CodePipeline or CodeBuild EventBridge event (the stack's rules target the
    function directly, so the event object itself): ``source`` one of :data:`PIPELINE_SOURCES`
    and a ``detail-type``. Kept here, like :func:`is_eventbridge_event`, so dispatching costs a
    push nothing."""
    return (
        isinstance(event, dict)
        and event.get("source") in PIPELINE_SOURCES
        and isinstance(event.get("detail-type"), str)
    )


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


@dataclass(frozen=True)
class Dropped:
    """A part of an event that was not turned into a notification, and why.

    Attributes:
        where: the part, e.g. ``Records[0].Sns.Message.Records[1]``.
        reason: why it was dropped, in a sentence.
        event_id: its event id, when it could be read (for the outcome log line).
    """

    where: str
    reason: str
    event_id: str = ""


class _Part(Protocol):
    """A typed view over one part of an event: it knows where in the event it came from."""

    where: str


_View = TypeVar("_View", bound=_Part)
_Parsed = TypeVar("_Parsed")


def parse_each(
    items: Iterable[_View | Dropped], parse: Callable[[_View], _Parsed], on_drop: Callable[[Dropped], None]
) -> Iterator[_Parsed]:
    """Parse every usable part of an event; hand each unusable one, with its reason, to ``on_drop``.

    Parts are judged one by one, so one malformed record never stops its neighbours. A part the
    parser refuses (:class:`~handler.errors.UnprocessableEvent`) becomes a :class:`Dropped`.
    """
    for item in items:
        if isinstance(item, Dropped):
            on_drop(item)
            continue
        try:
            yield parse(item)
        except UnprocessableEvent as error:
            on_drop(Dropped(item.where, str(error), _event_id(item)))


def _event_id(item: object) -> str:
    try:
        return str(getattr(item, "event_id", "") or "")
    except UnprocessableEvent:  # the id itself is malformed
        return ""
