"""The notifier's Lambda entry, ``handler.app.lambda_handler``, and the dispatch on the event's shape.

Each event path is a module of its own in ``handler/pipelines/``, a peer of the others, reading top
to bottom parse → claim → enrich → decide → render → deliver → mark::

    SNS trigger message (a push)                      → handler.pipelines.push
    EventBridge aws.codecommit (direct or in SNS)     → handler.pipelines.pull_request
    {"source": "gitlab", ...} (from handler.gitlab)    → handler.pipelines.gitlab
    EventBridge aws.codepipeline / aws.codebuild      → handler.pipelines.pipeline_run
    the review-reminder schedule's event              → handler.pipelines.reminders

:data:`EVENT_PATHS` is that table, tried in order; the push path is the default, because a
repository trigger's SNS event carries no source field to match on (its parser drops what is not
a trigger, with the reason). Only the push path is imported with this module: every other path is
imported when its first event arrives, so a push's cold start never pays for the others.

``python -m handler``, ``make demo`` and the tests call :func:`process_event` with a runtime over a
local git repository; the Lambda calls it with :func:`handler.runtime.aws_runtime`'s.
"""

from __future__ import annotations

import gc
import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from handler.deadline import Deadline
from handler.logs import configure_logging, log_outcome
from handler.pipelines.push import process_push_event
from handler.runtime import Runtime, aws_runtime
from handler.settings import Settings
from handler.sources import is_eventbridge_event, is_gitlab_envelope, is_pipeline_event, is_reminder_event

#: What a path's entry does: process one event, return how many of its parts had each outcome.
ProcessEvent = Callable[[Any, Runtime, Deadline], dict[str, int]]


@dataclass(frozen=True)
class EventPath:
    """One event path: which events it takes, and where its pipeline lives.

    Attributes:
        name: the path's name, as the logs and metrics say it.
        matches: whether an event (already JSON-decoded) is this path's.
        module: the pipeline module, imported on the path's first event.
        function: the pipeline's entry in that module (a :data:`ProcessEvent`).
    """

    name: str
    matches: Callable[[Any], bool]
    module: str
    function: str
    #: Where its events come from, as the metrics and outcome lines say it.
    source: str = "codecommit"

    def load(self) -> ProcessEvent:
        """The pipeline's entry (importing its module the first time)."""
        entry: ProcessEvent = getattr(importlib.import_module(self.module), self.function)
        return entry


#: The event paths, tried in order; the last one (pushes) takes whatever the others did not.
EVENT_PATHS: tuple[EventPath, ...] = (
    EventPath(
        "reminders",
        is_reminder_event,
        "handler.pipelines.reminders",
        "process_reminder_event",
        source="schedule",
    ),
    EventPath(
        "pull_request", is_eventbridge_event, "handler.pipelines.pull_request", "process_pull_request_event"
    ),
    EventPath("gitlab", is_gitlab_envelope, "handler.pipelines.gitlab", "process_gitlab_event"),
    EventPath(
        "pipeline_run",
        is_pipeline_event,
        "handler.pipelines.pipeline_run",
        "process_pipeline_event",
        source="codepipeline",
    ),
    EventPath("push", lambda event: True, "handler.pipelines.push", "process_push_event"),
)


def event_path(event: Any) -> EventPath:
    """The path an event takes (the first whose ``matches`` says yes)."""
    return next(path for path in EVENT_PATHS if path.matches(event))


def process_event(event: Any, runtime: Runtime, deadline: Deadline) -> dict[str, int]:
    """Run the event through its path's pipeline; return how many parts had each outcome.

    Raises:
        Exception: what the pipeline raised (after it tried every part), so Lambda retries.
    """
    runtime.start_invocation(deadline)
    path = event_path(event)
    runtime.metrics.event(path.source, path.name)
    process = process_push_event if path.name == "push" else path.load()
    return process(event, runtime, deadline)


_lambda_runtime: Runtime | None = None


def lambda_handler(event: Any, context: Any) -> dict[str, int]:
    """Entry point for the notifier function (handler string ``handler.app.lambda_handler``)."""
    global _lambda_runtime  # noqa: PLW0603 (one runtime per warm container: cached clients and secret)
    runtime = _lambda_runtime
    try:
        if runtime is None:
            runtime = _lambda_runtime = _cold_start()
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        return process_event(event, runtime, Deadline(remaining))
    finally:
        if runtime is not None:
            runtime.metrics.flush()
        _resume_collection()  # after the first invocation, whatever became of it


def _cold_start() -> Runtime:
    """The container's runtime, built once; a setting that can't be used is said in an outcome line
    (the same keys as every other) before it is raised, so Lambda retries once it is fixed."""
    configure_logging(os.environ)
    try:
        settings = Settings.from_environ(os.environ)
    except Exception as error:
        log_outcome(outcome="raised", reason=str(error), error_class=type(error).__name__)
        raise
    runtime = aws_runtime(settings)
    runtime.metrics.cold_start("notifier")
    return runtime


def _resume_collection() -> None:
    """After the first invocation: resume the garbage collector the cold start held off
    (``handler/__init__.py``), after freezing what exists, which lives as long as the container."""
    import handler

    if handler.cold_start_collection_paused:
        handler.cold_start_collection_paused = False
        gc.freeze()
        gc.enable()
